/**
 * The GraphQL API (graphql-yoga) over the indexer's database: queries with batched loading,
 * subscriptions over Server-Sent Events and over WebSocket (graphql-ws protocol, same path),
 * GraphiQL at /graphql for people (assets served from this process, no CDN), depth/alias/cost
 * limits, coded errors (unexpected ones logged with a request id), and a per-block response cache
 * (the data only changes when the indexer commits a block, so identical queries between two blocks
 * share one execution).
 *
 * Replicas: with `redisUrl` (REDIS_URL) subscription events travel through Redis (graphql-yoga's
 * Redis event target), so every replica's subscribers see every event; each block's events are
 * published by one replica only (a Redis SET NX per block hash), or never by a replica started with
 * `publish: false` (API_PUBLISH=0).
 *
 * The same server serves the live dashboard (GET / and /dashboard, api/dashboard.ts).
 *
 * Changes reach subscribers and invalidate the cache through a watcher on the sync checkpoint
 * (polled every `pollMs`, or pushed at once when the indexer runs in the same process); it reads
 * the rows written since the last checkpoint it saw (their `updatedBlock`/`block` columns).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import http from "node:http";
import { GraphQLError, isEnumType, type GraphQLSchema } from "graphql";
import { createPubSub, createSchema, createYoga, type Plugin, type PubSub } from "graphql-yoga";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import type { TypedEventTarget } from "@graphql-yoga/typed-event-target";
import { Redis } from "ioredis";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import type { Db } from "../indexer/db/index.ts";
import type { Logger } from "../indexer/log.ts";
import { createLogger } from "../indexer/log.ts";
import type { Indexer } from "../indexer/sync.ts";
import { DEFAULT_LIMITS, limitRules, type Limits } from "./limits.ts";
import { serveDashboard } from "./dashboard.ts";
import { createContext, createResolvers, type ApiContext, type Topics } from "./resolvers.ts";
import { typeDefs } from "./typeDefs.ts";
import { serveSql } from "./sql-http.ts";
import { fastRequest, QueryPlans } from "./fast-path.ts";
import { closeReaders, pgConnectionsFromEnv } from "./sql.ts";

export function buildSchema(pubsub: PubSub<Topics> = createPubSub<Topics>(), log?: Logger): GraphQLSchema {
  const schema = createSchema<ApiContext>({ typeDefs, resolvers: createResolvers(pubsub) as never });
  // an enum value the schema's doc comment does not list yet (a newer contract) is served as its text, and logged
  for (const t of Object.values(schema.getTypeMap())) {
    if (!isEnumType(t) || t.name.startsWith("__")) continue;
    const strict = t.serialize.bind(t);
    t.serialize = (v: unknown) => {
      try {
        return strict(v);
      } catch {
        log?.warn("value missing from a GraphQL enum; add it to the column's doc comment in prisma/schema.prisma", { enum: t.name, value: String(v) });
        return String(v);
      }
    };
  }
  return schema;
}

/** Puts every Redis channel under `prefix`, so deployments (and test runs) can share one Redis. */
function prefixed<E extends CustomEvent>(target: TypedEventTarget<E>, prefix: string): TypedEventTarget<E> {
  return {
    addEventListener: (type: string, listener: unknown) => target.addEventListener(prefix + type, listener as never),
    removeEventListener: (type: string, listener: unknown) => target.removeEventListener(prefix + type, listener as never),
    dispatchEvent: (event: E) => target.dispatchEvent(new CustomEvent(prefix + event.type, { detail: event.detail }) as E),
  } as TypedEventTarget<E>;
}

const JSON_TYPE = "application/json; charset=utf-8";
/** The largest GraphQL request body kept (queries are a few KiB; this bounds what one request can make the server buffer). */
const MAX_BODY = 2 ** 20;

/**
 * The headers of a JSON answer written without graphql-yoga (cache hits, the fast path), CORS
 * included as yoga's default CORS sends them: a request with an Origin gets it back, with
 * credentials allowed (browser dApps on other origins read the answer).
 */
function jsonHeaders(req: http.IncomingMessage, length: number): http.OutgoingHttpHeaders {
  const origin = req.headers.origin;
  const h: http.OutgoingHttpHeaders = { "content-type": JSON_TYPE, "content-length": length };
  if (origin) Object.assign(h, { "access-control-allow-origin": origin, "access-control-allow-credentials": "true", vary: "Origin" });
  return h;
}

/** Whether a client takes the answer as application/json (what the fast path sends; yoga answers other Accept headers). */
const plainJson = (accept: string) => accept === "" || accept === "*/*" || (accept.includes("application/json") && !accept.includes("application/graphql-response+json"));

/** The request id of the HTTP request or WebSocket message being served. */
const requestIds = new AsyncLocalStorage<string>();

/** Keeps coded errors; replaces unexpected ones by a coded message with a request id, and logs them. */
function maskError(log: Logger) {
  return (error: unknown, message: string): Error => {
    const e = error as GraphQLError;
    const orig = (e as { originalError?: Error }).originalError;
    if (e instanceof GraphQLError && (e.extensions?.code || !orig || orig instanceof GraphQLError)) {
      if (orig instanceof GraphQLError && !e.extensions?.code) return new GraphQLError(orig.message, { nodes: e.nodes, path: e.path, extensions: orig.extensions });
      return e;
    }
    const requestId = requestIds.getStore() ?? randomUUID();
    const cause = orig ?? (error as Error);
    log.error("unexpected error", { requestId, path: e.path?.join("."), error: cause?.message ?? String(cause), stack: cause?.stack });
    return new GraphQLError(`${message} It was logged with request id ${requestId}.`, { nodes: e.nodes, path: e.path, extensions: { code: "INTERNAL_SERVER_ERROR", requestId } });
  };
}

/** JSON that keeps bigints (rows carry them) across Redis. */
const serializer = {
  stringify: (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? { $bigint: x.toString() } : x)),
  parse: (s: string) => JSON.parse(s, (_k, x) => (x && typeof x === "object" && typeof x.$bigint === "string" && Object.keys(x).length === 1 ? BigInt(x.$bigint) : x)),
};

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
  /** Redis for subscription fan-out across replicas (default REDIS_URL; none: in-process only). */
  redisUrl?: string;
  /** Prefix of the Redis channels and keys (default REDIS_PREFIX or "diloco-api:"): one per deployment sharing a Redis. */
  redisPrefix?: string;
  /** Publish the events of new blocks (default true; API_PUBLISH=0 turns it off): a replica that only relays Redis. */
  publish?: boolean;
  /** Answer successful JSON queries with compiled queries (default true; API_FAST_PATH=0 turns it off): api/fast-path.ts. */
  fastPath?: boolean;
  /** PostgreSQL URL of a read-only role for POST /sql (default SQL_DATABASE_URL; none: /sql is off). */
  sqlUrl?: string;
}

export interface Api {
  /** The GraphQL endpoint (GraphiQL for browsers). */
  url: string;
  /** The live dashboard. */
  dashboardUrl: string;
  port: number;
  server: http.Server;
  cache: ResponseCache;
  /** The fast path's compiled queries (api/fast-path.ts). */
  plans: QueryPlans;
  close(): Promise<void>;
}

export async function startApi(opts: ApiOptions): Promise<Api> {
  const { db } = opts;
  pgConnectionsFromEnv(); // a bad setting fails the start, not every request
  const log = opts.log ?? createLogger({ svc: "api" });
  const redisUrl = opts.redisUrl ?? process.env.REDIS_URL;
  const publish = opts.publish ?? process.env.API_PUBLISH !== "0";
  let redis: { pub: Redis; sub: Redis } | undefined;
  if (redisUrl) {
    redis = { pub: new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 }), sub: new Redis(redisUrl, { lazyConnect: true }) };
    await Promise.all([redis.pub.connect(), redis.sub.connect()]);
  }
  const prefix = opts.redisPrefix ?? process.env.REDIS_PREFIX ?? "diloco-api:";
  const pubsub = redis ? createPubSub<Topics>({ eventTarget: prefixed(createRedisEventTarget({ publishClient: redis.pub, subscribeClient: redis.sub, serializer }), prefix) }) : createPubSub<Topics>();
  const cache = new ResponseCache();
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const schema = buildSchema(pubsub, log);
  const fastPath = opts.fastPath ?? process.env.API_FAST_PATH !== "0";
  const plans = new QueryPlans(schema, limitRules(limits));
  const yoga = createYoga<{}, ApiContext>({
    schema,
    context: () => createContext(db, () => cache.clear()),
    graphqlEndpoint: "/graphql",
    graphiql: { title: "Training market API", subscriptionsProtocol: "WS", defaultQuery: "{\n  _meta { chainId block }\n  networkStats { jobsTotal tokensEscrowed }\n  jobs(first: 5, orderBy: createdAt, orderDirection: desc) { items { id status poster rewardPerRound } totalCount pageInfo { hasNextPage endCursor } }\n}\n" },
    renderGraphiQL,
    landingPage: false,
    logging: false,
    maskedErrors: { maskError: maskError(log) },
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
      if (!publish) return;
      // one replica publishes each block's events (the others relay them from Redis)
      if (redis && (await redis.pub.set(`${prefix}published:${cp.chainId}:${cp.blockHash}`, "1", "EX", 3600, "NX")) !== "OK") return;
      pubsub.publish("changed", { block: cp.blockNumber.toString() });
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
  const sql = opts.sqlUrl ?? process.env.SQL_DATABASE_URL;
  const sqlHandler = sql ? await serveSql(sql, log) : undefined;
  const server = http.createServer((req, res) => {
    const id = (typeof req.headers["x-request-id"] === "string" && /^[\w.:-]{1,100}$/.test(req.headers["x-request-id"]) ? req.headers["x-request-id"] : undefined) ?? randomUUID();
    res.setHeader("x-request-id", id);
    requestIds.run(id, () => void handle(req, res).catch((err: Error) => {
      log.error("request failed", { requestId: id, error: err.message, stack: err.stack });
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ message: `Unexpected error. It was logged with request id ${id}.`, extensions: { code: "INTERNAL_SERVER_ERROR", requestId: id } }] }));
    }));
  });
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (serveDashboard(req, res)) return;
    if (req.url?.split("?")[0] === "/sql") {
      if (sqlHandler) return sqlHandler(req, res);
      res.writeHead(404, { "content-type": "application/json" });
      return res.end(JSON.stringify({ error: "SQL over HTTP is off: start the API with SQL_DATABASE_URL (a read-only PostgreSQL role, see docs/indexer.md)" }));
    }
    const accept = req.headers.accept ?? "";
    const contentType = req.headers["content-type"] ?? "application/json";
    if (req.method !== "POST" || req.url?.split("?")[0] !== "/graphql" || accept.includes("text/event-stream") || accept.includes("multipart/") || !contentType.startsWith("application/json")) {
      return yoga(req, res);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    // past the limit the rest is read and dropped (the client gets its answer; Node's requestTimeout bounds a body that never ends)
    for await (const c of req) if ((size += (c as Buffer).length) <= MAX_BODY) chunks.push(c as Buffer);
    if (size > MAX_BODY) {
      const msg = JSON.stringify({ errors: [{ message: `request body over ${MAX_BODY / 2 ** 20} MiB: send a smaller query and variables`, extensions: { code: "BAD_REQUEST" } }] });
      res.writeHead(413, jsonHeaders(req, Buffer.byteLength(msg)));
      return res.end(msg);
    }
    const body = Buffer.concat(chunks).toString();
    const json = plainJson(accept);
    const cacheable = useCache && json;
    if (cacheable) {
      const hit = cache.get(body);
      if (hit) {
        res.writeHead(200, jsonHeaders(req, hit.length));
        return res.end(hit);
      }
    }
    const gen = generation;
    // the fast path: a compiled query answers successful plain JSON queries (api/fast-path.ts)
    const fr = fastPath && json ? fastRequest(body) : undefined;
    const plan = fr && plans.get(fr.query, fr.operationName);
    if (plan) {
      let out: Buffer | undefined;
      try {
        const result = await plan.run(createContext(db, () => cache.clear()), fr.variables);
        if (!result.errors) out = Buffer.from(JSON.stringify(result));
      } catch {
        // (as for an error in the result: yoga runs the query again and reports what went wrong)
      }
      if (out) {
        plans.answered++;
        res.writeHead(200, jsonHeaders(req, out.length));
        res.end(out);
        if (cacheable && gen === generation) cache.set(body, out);
        return;
      }
      // an error: graphql-yoga runs the query again and answers with its coded, masked and logged errors
    }
    const headersIn = { ...(req.headers as Record<string, string>), "content-type": contentType };
    const response = await yoga.fetch(`http://localhost${req.url}`, { method: "POST", headers: headersIn, body });
    const out = Buffer.from(await response.arrayBuffer());
    const headers: Record<string, string> = {};
    for (const [k, v] of response.headers as unknown as Iterable<[string, string]>) headers[k.toLowerCase()] = v;
    headers["content-type"] ??= response.headers.get("content-type") ?? JSON_TYPE;
    headers["content-length"] = String(out.length);
    res.writeHead(response.status, headers);
    res.end(out);
    if (cacheable && response.status === 200 && gen === generation && /json/.test(headers["content-type"] ?? "")) {
      try {
        const parsed = JSON.parse(out.toString()) as { errors?: unknown; data?: unknown };
        const isQuery = !/\b(mutation|subscription)\b/.test((JSON.parse(body) as { query?: string }).query ?? "");
        if (!parsed.errors && parsed.data && isQuery) cache.set(body, out);
      } catch (err) {
        if (process.env.API_DEBUG) console.error("cache store failed", err);
      }
    }
  };
  // graphql-ws (the protocol of Apollo Client and urql) on the same path, through yoga's envelop
  const wss = new WebSocketServer({ server, path: "/graphql" });
  const wsServer = useServer<Record<string, unknown>>(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params });
        let document;
        try {
          document = parse(params.query);
        } catch (e) {
          return [new GraphQLError((e as Error).message, { extensions: { code: "GRAPHQL_PARSE_FAILED" } })];
        }
        const errors = validate(schema, document);
        if (errors.length) return errors.map((e: GraphQLError) => (e.extensions?.code ? e : new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })));
        return { schema, operationName: params.operationName, document, variableValues: params.variables, contextValue: await contextFactory(), rootValue: { execute, subscribe } };
      },
    },
    wss,
  );
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? Number(process.env.API_PORT ?? 4000), opts.host ?? process.env.API_HOST ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const url = `http://${opts.host ?? process.env.API_HOST ?? "127.0.0.1"}:${port}/graphql`;
  log.info("graphql api listening", { url, graphiql: url, ws: url.replace(/^http/, "ws"), dashboard: url.replace(/\/graphql$/, "/"), redis: redisUrl ? "on" : "off", sql: sqlHandler ? url.replace(/\/graphql$/, "/sql") : "off" });
  return {
    url,
    dashboardUrl: url.replace(/\/graphql$/, "/"),
    port,
    server,
    cache,
    plans,
    close: async () => {
      clearInterval(timer);
      await wsServer.dispose();
      wss.close();
      if (redis) {
        redis.pub.disconnect();
        redis.sub.disconnect();
      }
      await sqlHandler?.close();
      await closeReaders(db);
      opts.indexer?.off("blocks", onBlocks);
      opts.indexer?.off("reorg", onBlocks);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
