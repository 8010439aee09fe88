/**
 * The GraphQL API (graphql-yoga) over the indexer's database: queries with batched loading,
 * subscriptions over Server-Sent Events, GraphiQL at /graphql for people, depth/alias/cost limits,
 * coded errors, and a per-block response cache (the data only changes when the indexer commits a
 * block, so identical queries between two blocks share one execution).
 *
 * The same server serves the live dashboard (GET / and /dashboard, api/dashboard.ts).
 *
 * Changes reach subscribers and invalidate the cache through a watcher on the sync checkpoint
 * (polled every `pollMs`, or pushed at once when the indexer runs in the same process); it reads
 * the rows written since the last checkpoint it saw (their `updatedBlock`/`block` columns).
 */
import http from "node:http";
import { GraphQLError } from "graphql";
import { createPubSub, createSchema, createYoga, type Plugin, type PubSub } from "graphql-yoga";
import type { Db } from "../indexer/db/index.ts";
import type { Logger } from "../indexer/log.ts";
import { createLogger } from "../indexer/log.ts";
import type { Indexer } from "../indexer/sync.ts";
import { DEFAULT_LIMITS, limitRules, type Limits } from "./limits.ts";
import { createLoaders } from "./loaders.ts";
import { serveDashboard } from "./dashboard.ts";
import { createResolvers, type ApiContext, type Topics } from "./resolvers.ts";
import { typeDefs } from "./typeDefs.ts";

export function buildSchema(pubsub: PubSub<Topics> = createPubSub<Topics>()) {
  return createSchema<ApiContext>({ typeDefs, resolvers: createResolvers(pubsub) as never });
}

/** Adds a code to validation errors that have none (unknown fields, wrong argument types...). */
const codedValidation: Plugin = {
  onValidate: () => ({ result, setResult }) => {
    if (result.length === 0) return;
    setResult(
      result.map((e) =>
        e.extensions?.code ? e : new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, originalError: e.originalError, extensions: { ...e.extensions, code: "GRAPHQL_VALIDATION_FAILED" } }),
      ),
    );
  },
};

/**
 * Adds BAD_USER_INPUT to request errors that have none: variables that do not coerce to their type
 * (a string for a Float, a missing non-null variable…) fail before any resolver runs, without a path.
 */
const codedVariables: Plugin = {
  onExecute: () => ({
    onExecuteDone: ({ result, setResult }) => {
      if (!result || Symbol.asyncIterator in result || !result.errors?.length || result.data !== undefined) return;
      setResult({
        ...result,
        errors: result.errors.map((e) =>
          e.extensions?.code || e.path ? e : new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, originalError: e.originalError, extensions: { ...e.extensions, code: "BAD_USER_INPUT" } }),
        ),
      });
    },
  }),
};

function limitsPlugin(limits: Limits): Plugin {
  const rules = limitRules(limits);
  return {
    onValidate: ({ addValidationRule }) => {
      for (const r of rules) addValidationRule(r);
    },
  };
}

/**
 * Caches successful query responses, byte for byte, until the next indexed block: the key is the
 * request body (query, variables, operation name), so a hit skips parsing, validation and execution.
 * Only POST application/json queries that executed without errors are cached; limits and errors are
 * therefore always checked on the first execution of a body.
 */
class ResponseCache {
  #map = new Map<string, Buffer>();
  #bytes = 0;
  hits = 0;
  readonly maxBytes: number;
  constructor(maxBytes = 64 * 2 ** 20) {
    this.maxBytes = maxBytes;
  }
  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }
  get(key: string): Buffer | undefined {
    const v = this.#map.get(key);
    if (v) this.hits++;
    return v;
  }
  set(key: string, value: Buffer): void {
    if (this.#bytes + value.length > this.maxBytes) this.clear();
    this.#map.set(key, value);
    this.#bytes += value.length + key.length;
  }
}

export interface ApiOptions {
  db: Db;
  port?: number;
  host?: string;
  log?: Logger;
  /** An in-process indexer: changes are pushed at once instead of polled. */
  indexer?: Indexer;
  pollMs?: number;
  limits?: Partial<Limits>;
  /** Cache query results per indexed block (default true). */
  cache?: boolean;
}

export interface Api {
  /** The GraphQL endpoint (GraphiQL for browsers). */
  url: string;
  /** The live dashboard. */
  dashboardUrl: string;
  port: number;
  server: http.Server;
  cache: ResponseCache;
  close(): Promise<void>;
}

export async function startApi(opts: ApiOptions): Promise<Api> {
  const { db } = opts;
  const log = opts.log ?? createLogger({ svc: "api" });
  const pubsub = createPubSub<Topics>();
  const cache = new ResponseCache();
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const yoga = createYoga<{}, ApiContext>({
    schema: buildSchema(pubsub),
    context: () => ({ db, loaders: createLoaders(db), onWrite: () => cache.clear() }),
    graphqlEndpoint: "/graphql",
    graphiql: { title: "Training market API", defaultQuery: "{ _meta { chainId block } networkStats { jobsTotal tokensEscrowed } jobs(first: 5) { items { id status poster } totalCount } }" },
    landingPage: false,
    logging: false,
    plugins: [limitsPlugin(limits), codedValidation, codedVariables],
  });

  // ---- change watcher: subscriptions and cache invalidation
  let last: { block: bigint; hash: string } | undefined;
  const cp0 = await db.prisma.syncCheckpoint.findFirst();
  if (cp0) last = { block: cp0.blockNumber, hash: cp0.blockHash };
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      const cp = await db.prisma.syncCheckpoint.findFirst();
      if (!cp || (last && cp.blockNumber === last.block && cp.blockHash === last.hash)) return;
      cache.clear();
      const from = last?.block ?? -1n;
      last = { block: cp.blockNumber, hash: cp.blockHash };
      if (cp.blockNumber <= from) return; // rolled back by a reorg: nothing new to announce
      const range = { gt: from, lte: cp.blockNumber };
      const [jobs, rounds, commits] = await Promise.all([
        db.prisma.job.findMany({ where: { updatedBlock: range }, orderBy: { id: "asc" } }),
        db.prisma.round.findMany({ where: { status: "Finalized", closedBlock: range }, orderBy: [{ closedBlock: "asc" }, { jobId: "asc" }] }),
        db.prisma.commitment.findMany({ where: { block: range }, orderBy: [{ block: "asc" }, { logIndex: "asc" }] }),
      ]);
      for (const j of jobs) pubsub.publish("job", j);
      for (const r of rounds) pubsub.publish("roundFinalized", r);
      for (const c of commits) pubsub.publish("commitment", c);
    } catch (err) {
      log.warn("change watcher failed", { error: (err as Error).message });
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(() => void check(), opts.pollMs ?? 250);
  timer.unref();
  const onBlocks = () => void check();
  opts.indexer?.on("blocks", onBlocks);
  opts.indexer?.on("reorg", onBlocks);

  const useCache = opts.cache !== false;
  let generation = 0; // bumped with every cache clear, so a response computed before a new block is not stored after it
  const clearCache = cache.clear.bind(cache);
  cache.clear = () => {
    generation++;
    clearCache();
  };
  const server = http.createServer(async (req, res) => {
    if (serveDashboard(req, res)) return;
    const accept = req.headers.accept ?? "";
    if (!useCache || req.method !== "POST" || !req.url?.startsWith("/graphql") || accept.includes("text/event-stream")) {
      return yoga(req, res);
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const hit = cache.get(body);
    if (hit) {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": hit.length });
      return res.end(hit);
    }
    const gen = generation;
    const headersIn = { ...(req.headers as Record<string, string>), "content-type": req.headers["content-type"] ?? "application/json" };
    const response = await yoga.fetch(`http://localhost${req.url}`, { method: "POST", headers: headersIn, body });
    const out = Buffer.from(await response.arrayBuffer());
    const headers: Record<string, string> = {};
    for (const [k, v] of response.headers as unknown as Iterable<[string, string]>) headers[k.toLowerCase()] = v;
    headers["content-type"] ??= response.headers.get("content-type") ?? "application/json; charset=utf-8";
    headers["content-length"] = String(out.length);
    res.writeHead(response.status, headers);
    res.end(out);
    if (response.status === 200 && gen === generation && /json/.test(headers["content-type"] ?? "")) {
      try {
        const parsed = JSON.parse(out.toString()) as { errors?: unknown; data?: unknown };
        const isQuery = !/\b(mutation|subscription)\b/.test((JSON.parse(body) as { query?: string }).query ?? "");
        if (!parsed.errors && parsed.data && isQuery) cache.set(body, out);
      } catch (err) {
        if (process.env.API_DEBUG) console.error("cache store failed", err);
      }
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? Number(process.env.API_PORT ?? 4000), opts.host ?? process.env.API_HOST ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const url = `http://${opts.host ?? process.env.API_HOST ?? "127.0.0.1"}:${port}/graphql`;
  log.info("graphql api listening", { url, graphiql: url, dashboard: url.replace(/\/graphql$/, "/") });
  return {
    url,
    dashboardUrl: url.replace(/\/graphql$/, "/"),
    port,
    server,
    cache,
    close: async () => {
      clearInterval(timer);
      opts.indexer?.off("blocks", onBlocks);
      opts.indexer?.off("reorg", onBlocks);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
