/**
 * The uncached PostgreSQL part of bench/indexer alone (diagnostics; the figures of record come from
 * run.ts): the same "list" and "detail" loads as run.ts (50 connections, API_CACHE=0), against a
 * PostgreSQL schema that is filled once and kept, so the API can be measured again and again.
 *
 *   BENCH_SCHEMA=bench_api EVENTS=20000 node bench/indexer/api-nocache.ts prepare
 *       generates the chain (bench/indexer/chain.ts), backfills it into the schema (dropped first), keeps it
 *   BENCH_SCHEMA=bench_api DURATION=10 RUNS=1 node bench/indexer/api-nocache.ts load
 *       starts `api/main.ts` with the cache off and runs the list and detail loads RUNS times, and
 *       `{ __typename }` (reads no database: the floor of the HTTP and GraphQL layers)
 *   BENCH_SCHEMA=bench_api node bench/indexer/api-nocache.ts drop
 * API_ROOTS=/path/a,/path/b (load): checkouts whose `api/main.ts` is measured in turn, RUNS times each
 * (before/after comparisons on a shared machine); default this checkout.
 * BENCH_DB=file:<path> (load): the API on a SQLite file instead (e.g. one filled by backfill-only.ts).
 * API_ENVS="API_FAST_PATH=0;API_FAST_PATH=1" (load): environment variants of each checkout, measured in turn
 * (e.g. the fast path off and on).
 * Each load run ends with the detail floor (detail-floor.ts): the same detail answers built by one SQL
 * statement and run by pgbench with 50 clients, PostgreSQL alone (FLOOR=0 leaves it out); the medians
 * of the detail load and of the floor go to bench/results/indexer-detail-floor.json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { load as loadBodies } from "./load.ts";
import { openDb } from "../../indexer/db/index.ts";
import { createLogger } from "../../indexer/log.ts";
import { Metrics } from "../../indexer/metrics.ts";
import { Indexer } from "../../indexer/sync.ts";
import { freePort, waitUntil } from "../../test/indexer/helpers.ts";
import { detailQuery, listQuery } from "./queries.ts";
import { checkDetailSql, runDetailFloor, type Floor } from "./detail-floor.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const mode = process.argv[2];
const schema = process.env.BENCH_SCHEMA ?? "bench_api";
if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`BENCH_SCHEMA must be a plain lower-case identifier, got ${schema}`);
const pgUrl = `${process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test"}?schema=${schema}`;
/** BENCH_DB=file:<path> (load): measure the API on a SQLite file (filled by backfill-only.ts) instead of the schema. */
const url = mode === "load" && process.env.BENCH_DB ? process.env.BENCH_DB : pgUrl;
const onPg = url === pgUrl;
const say = (m: string) => process.stderr.write(`[bench:api-nocache] ${m}\n`);

const children: ChildProcess[] = [];
process.on("exit", () => {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
});
function child(file: string, env: Record<string, string>): { proc: ChildProcess; firstLine: Promise<string> } {
  const proc = spawn(process.execPath, [file], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", process.env.BENCH_VERBOSE ? "inherit" : "ignore"] });
  children.push(proc);
  let buf = "";
  const firstLine = new Promise<string>((resolve) =>
    proc.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf("\n");
      if (i >= 0) resolve(buf.slice(0, i));
    }),
  );
  return { proc, firstLine };
}

async function drop(): Promise<void> {
  const db = await openDb(url, { migrate: false });
  await db.prisma.$executeRawUnsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db.close();
}

if (mode === "prepare") {
  const chainProc = child(path.join(root, "bench/indexer/chain.ts"), {});
  const chain = JSON.parse(await chainProc.firstLine) as { url: string; registry: `0x${string}`; market: `0x${string}`; events: number; head: string; jobs: number; genSeconds: number };
  say(`chain ready: ${chain.events} events in ${chain.jobs} jobs, head ${chain.head}, generated in ${chain.genSeconds.toFixed(0)} s`);
  await drop();
  const db = await openDb(url);
  const metrics = new Metrics();
  const ix = new Indexer(db, { rpcUrl: chain.url, wsUrl: false, registry: chain.registry, market: chain.market, finalityDepth: 12, pollIntervalMs: 1000 }, { log: createLogger({}, "warn"), metrics });
  await ix.start();
  await ix.waitFor(BigInt(chain.head), 600_000);
  await ix.stop();
  await db.close();
  say(`schema ${schema}: ${metrics.eventsIndexed.get()} events indexed (kept; drop it with \`${path.basename(process.argv[1])} drop\`)`);
  process.exit(0);
} else if (mode === "drop") {
  await drop();
  process.exit(0);
} else if (mode !== "load") {
  throw new Error("usage: api-nocache.ts prepare | load | drop");
}

// ---------------------------------------------------------------- load
const duration = Number(process.env.DURATION ?? 10);
const runs = Number(process.env.RUNS ?? 1);
async function gql(u: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const r = await fetch(u, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  return r.json();
}
const roots = (process.env.API_ROOTS ?? root).split(",");
/** A process's user + system CPU time in ms (Linux /proc; undefined elsewhere). */
function cpuMs(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const after = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return ((Number(after[11]) + Number(after[12])) * 1000) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return undefined;
  }
}
const variants = (process.env.API_ENVS ?? "").split(";").map((v) => Object.fromEntries(v.trim().split(/\s+/).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)] as [string, string])));
/** CPU time of every PostgreSQL server process (the backends serving the API included), in ms. */
function pgCpuMs(): number {
  let sum = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const arg0 = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
      if (!arg0.startsWith("postgres:") && !arg0.endsWith("/postgres")) continue;
    } catch {
      continue;
    }
    sum += cpuMs(Number(pid)) ?? 0;
  }
  return sum;
}
async function start(apiRoot: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const api = child(path.join(apiRoot, "api/main.ts"), { DATABASE_URL: url, API_PORT: String(port), LOG_LEVEL: "warn", API_CACHE: "0", ...env });
  const apiUrl = `http://127.0.0.1:${port}/graphql`;
  await waitUntil(async () => (await fetch(apiUrl.replace("/graphql", "/health")).catch(() => undefined))?.status === 200, 60_000, "api up");
  return { api, apiUrl };
}
// the bodies: cursors of the first list pages (as run.ts), the first 50 jobs' details
const first = await start(roots[0]);
const jobs = Number((await gql(first.apiUrl, "{ jobs { totalCount } }", {})).data.jobs.totalCount);
const cursors: (string | null)[] = [null];
for (let p = 0; p < 9; p++) {
  const body = JSON.parse(listQuery(cursors[cursors.length - 1])) as { query: string; variables: Record<string, unknown> };
  const r = await gql(first.apiUrl, body.query, body.variables);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  if (!r.data.jobs.pageInfo.hasNextPage) break;
  cursors.push(r.data.jobs.pageInfo.endCursor);
}
const details = Array.from({ length: Math.min(jobs, 50) }, (_, k) => detailQuery(k + 1));
const floorOn = process.env.FLOOR !== "0" && onPg;
if (floorOn) await checkDetailSql(url, schema, first.apiUrl, [1, 2, 3, Math.min(jobs, 50)]);
first.api.proc.kill("SIGTERM");
const os = await import("node:os");
/** Per run: the first checkout's first variant's detail load, and the floor. */
const detailRuns: { p50: number; p99: number }[] = [];
const floorRuns: Floor[] = [];
for (let k = 0; k < runs; k++) {
  for (const [apiRoot, env] of roots.flatMap((r) => variants.map((v) => [r, v] as const))) {
    const { api, apiUrl } = await start(apiRoot, env);
    // same answers from every checkout, and a warm process
    for (const b of [...cursors.map(listQuery), ...details.slice(0, 5)]) {
      const { query, variables } = JSON.parse(b) as { query: string; variables: Record<string, unknown> };
      const r = await gql(apiUrl, query, variables);
      if (r.errors) throw new Error(JSON.stringify(r.errors));
    }
    const measured = async (bodies: string[]) => {
      const c0 = cpuMs(api.proc.pid!);
      const p0 = pgCpuMs();
      const r = await loadBodies(apiUrl, bodies, duration);
      const c1 = cpuMs(api.proc.pid!);
      const pgMs = pgCpuMs() - p0;
      // the API process's CPU per answered request (less sensitive than latency to other work on the machine)
      return { ...r, apiCpuMsPerRequest: c0 === undefined || c1 === undefined ? null : Number(((c1 - c0) / (r.rps * duration)).toFixed(2)), pgCpuMsPerRequest: Number((pgMs / (r.rps * duration)).toFixed(2)) };
    };
    const list = await measured(cursors.map(listQuery));
    const detail = await measured(details);
    // the floor: a query that reads no database (HTTP, JSON and the GraphQL layer only)
    const floor = await measured([JSON.stringify({ query: "{ __typename }" })]);
    say(`${apiRoot}${Object.keys(env).length ? ` ${JSON.stringify(env)}` : ""} run ${k + 1}/${runs} (${jobs} jobs, ${cursors.length} list pages, load ${os.loadavg()[0].toFixed(1)}): list p50 ${list.p50} ms p99 ${list.p99} ms ${list.rps} req/s, API CPU ${list.apiCpuMsPerRequest} ms/req, PostgreSQL CPU ${list.pgCpuMsPerRequest} ms/req (errors ${list.errors}); detail p50 ${detail.p50} ms p99 ${detail.p99} ms ${detail.rps} req/s, API CPU ${detail.apiCpuMsPerRequest} ms/req, PostgreSQL CPU ${detail.pgCpuMsPerRequest} ms/req (errors ${detail.errors}); { __typename } p50 ${floor.p50} ms p99 ${floor.p99} ms ${floor.rps} req/s`);
    console.log(JSON.stringify({ root: apiRoot, env, run: k + 1, list, detail, floor }));
    if (apiRoot === roots[0] && env === variants[0]) detailRuns.push(detail);
    api.proc.kill("SIGTERM");
    await new Promise((r) => api.proc.once("exit", r));
  }
  if (floorOn) {
    const floor = runDetailFloor(url, schema, details.length, duration);
    say(`detail floor run ${k + 1}/${runs} (one SQL statement builds each answer, pgbench, 50 clients, load ${os.loadavg()[0].toFixed(1)}): p50 ${floor.p50} ms p99 ${floor.p99} ms ${floor.rps} statements/s, machine CPU ${floor.machineCpuMsPerStatement} ms/statement (errors ${floor.errors})`);
    console.log(JSON.stringify({ run: k + 1, detailFloor: floor }));
    floorRuns.push(floor);
  }
}
if (floorOn) {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const results = {
    jobs: details.length,
    runs,
    apiDetailP50Ms: median(detailRuns.map((r) => r.p50)),
    apiDetailP99Ms: median(detailRuns.map((r) => r.p99)),
    floorDetailP50Ms: median(floorRuns.map((r) => r.p50)),
    floorDetailP99Ms: median(floorRuns.map((r) => r.p99)),
    floorStatementsPerSec: median(floorRuns.map((r) => r.rps)),
    floorMachineCpuMsPerStatement: median(floorRuns.map((r) => r.machineCpuMsPerStatement)),
  };
  mkdirSync(path.join(root, "bench/results"), { recursive: true });
  writeFileSync(path.join(root, "bench/results/indexer-detail-floor.json"), JSON.stringify(results, null, 2) + "\n");
  say(`wrote bench/results/indexer-detail-floor.json: ${JSON.stringify(results)}`);
}
process.exit(0);
