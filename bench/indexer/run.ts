/**
 * `npm run bench:indexer` — the indexer and API benchmark.
 *
 * 1. A child process serves a Hardhat chain with ≥ 50,000 market events and a dispute scenario
 *    (bench/indexer/chain.ts).
 * 2. Backfill: an empty database (SQLite; PostgreSQL when reachable), the indexer started in this
 *    process, timed until it has the head → events/s.
 * 3. Live latency: the indexer and API in one process (`indexer --api`) following the chain over
 *    WebSocket; a transaction is mined, then the API is polled until the new row is queryable.
 * 4. API load: the API alone in a child process (`npm run api`), autocannon with 50 connections for
 *    a paged list query and a nested job-detail query (with the per-block response cache, and
 *    without it), p50/p99 latency and requests/s.
 * Writes bench/results/indexer.json and the "## Indexer and API (bench/indexer)" section of BENCHMARKS.md.
 *
 *   EVENTS=50000 DURATION=10 npm run bench:indexer
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { load as loadBodies, type Load } from "./load.ts";
import { openDb } from "../../indexer/db/index.ts";
import { createLogger } from "../../indexer/log.ts";
import { Metrics } from "../../indexer/metrics.ts";
import { Indexer, type SyncConfig } from "../../indexer/sync.ts";
import { freePort, postgresAvailable, waitUntil } from "../../test/indexer/helpers.ts";
import { detailQuery, listQuery } from "./queries.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const duration = Number(process.env.DURATION ?? 10);
const log = createLogger({ svc: "bench" }, "warn");
const say = (m: string) => process.stderr.write(`[bench:indexer] ${m}\n`);

const children: ChildProcess[] = [];
// a failed run leaves no chain or API behind
process.on("exit", () => {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
});

function child(args: string[], env: Record<string, string>): { proc: ChildProcess; firstLine: Promise<string>; out: () => string } {
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(proc);
  let out = "";
  let resolveLine!: (s: string) => void;
  const firstLine = new Promise<string>((r) => (resolveLine = r));
  let buf = "";
  proc.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    const i = buf.indexOf("\n");
    if (i >= 0) resolveLine(buf.slice(0, i));
  });
  proc.stderr!.on("data", (d: Buffer) => {
    out += d.toString();
    if (process.env.BENCH_VERBOSE) process.stderr.write(d);
  });
  return { proc, firstLine, out: () => out };
}

// ---------------------------------------------------------------- 1. chain
say(`generating ≥ ${process.env.EVENTS ?? 50_000} events on a Hardhat chain (child process)...`);
const chainProc = child([path.join(root, "bench/indexer/chain.ts")], {});
const chain = JSON.parse(await chainProc.firstLine) as { url: string; wsUrl: string; registry: string; market: string; events: number; head: string; jobs: number; blocks: number; txs: number; providers: string[]; genSeconds: number };
say(`chain ready: ${chain.events} events in ${chain.jobs} jobs, ${chain.txs} transactions in ${chain.blocks} blocks, head ${chain.head}, generated in ${chain.genSeconds.toFixed(0)} s`);

const cfg = { rpcUrl: chain.url, wsUrl: false as const, registry: chain.registry as `0x${string}`, market: chain.market as `0x${string}`, finalityDepth: 12, pollIntervalMs: 1000 };
const tmp = mkdtempSync(path.join(os.tmpdir(), "bench-indexer-"));
const pgBase = process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const pg = await postgresAvailable();
if (!pg) say("PostgreSQL is not reachable: PostgreSQL figures are null");
const dbs: { kind: "sqlite" | "postgresql"; url: string }[] = [{ kind: "sqlite", url: `file:${path.join(tmp, "bench.db")}` }];
if (pg) dbs.push({ kind: "postgresql", url: `${pgBase}?schema=bench_${process.pid}` });

// ---------------------------------------------------------------- 2. backfill
// The node's first eth_getLogs over the chain it just generated is timed once here, before the
// backfills (each of which asks for the same logs), and reported beside them: every backfill then
// meets the node in the same state.
const tWarm = performance.now();
await rpc("eth_getLogs", [{ fromBlock: "0x0", toBlock: `0x${BigInt(chain.head).toString(16)}` }]);
const coldGetLogsMs = Math.round(performance.now() - tWarm);
const tWarm2 = performance.now();
await rpc("eth_getLogs", [{ fromBlock: "0x0", toBlock: `0x${BigInt(chain.head).toString(16)}` }]);
const warmGetLogsMs = Math.round(performance.now() - tWarm2);
say(`eth_getLogs over the whole chain: first call ${coldGetLogsMs} ms, second ${warmGetLogsMs} ms`);
const BACKFILL_RUNS = 5;
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : null);
const backfill: Record<string, number | null> = { sqlite: null, postgresql: null };
const backfillRuns: Record<string, number[]> = { sqlite: [], postgresql: [] };
/**
 * Each database's first backfill in this process (into a throwaway database), before the counted
 * runs: V8 has not optimised the indexer's code yet, which in a real backfill of millions of events
 * is a negligible share but here is a quarter of a 2-second run. Reported beside the counted runs.
 */
const backfillCold: Record<string, number | null> = { sqlite: null, postgresql: null };
/**
 * SQLite backfills with the slow start off (every range the adaptive range, as before it existed),
 * alternated with the counted runs: the side-by-side figure for the slow start.
 */
const backfillNoSlowStart: number[] = [];
/** 1-minute load average after each phase (the machine is shared). */
const loads: number[] = [os.loadavg()[0]];
/** One backfill from an empty database at `url`: events/s. */
async function timedBackfill(url: string, label: string, extra: Partial<SyncConfig> = {}): Promise<{ rate: number; db: Awaited<ReturnType<typeof openDb>> }> {
  const db = await openDb(url);
  const metrics = new Metrics();
  const ix = new Indexer(db, { ...cfg, ...extra }, { log, metrics });
  const t0 = performance.now();
  await ix.start();
  await ix.waitFor(BigInt(chain.head), 600_000);
  const s = (performance.now() - t0) / 1000;
  await ix.stop();
  const indexed = metrics.eventsIndexed.get();
  say(`backfill ${label}: ${indexed} events in ${s.toFixed(2)} s = ${Math.round(indexed / s)} events/s (${metrics.flushes.get()} transactions; waiting for eth_getLogs ${ix.timings.wait.toFixed(0)} ms)`);
  return { rate: Math.round(indexed / s), db };
}
for (const d of dbs) {
  // each run from an empty database; the last one is kept for the API measurements
  for (let k = -1; k < BACKFILL_RUNS; k++) {
    const last = k === BACKFILL_RUNS - 1;
    if (k >= 0 && d.kind === "sqlite") {
      const off = await timedBackfill(`file:${path.join(tmp, `backfill-off-${k}.db`)}`, `sqlite, slow start off, run ${k + 1}/${BACKFILL_RUNS}`, { slowStartBlocks: 0 });
      backfillNoSlowStart.push(off.rate);
      await off.db.close();
    }
    const url = last ? d.url : d.kind === "sqlite" ? `file:${path.join(tmp, `backfill-${k + 1}.db`)}` : `${pgBase}?schema=bench_${process.pid}_r${k + 1}`;
    const { rate, db } = await timedBackfill(url, `${d.kind} ${k < 0 ? "cold (not counted)" : `run ${k + 1}/${BACKFILL_RUNS}`}`);
    if (k < 0) backfillCold[d.kind] = rate;
    else backfillRuns[d.kind].push(rate);
    if (!last && d.kind === "postgresql") await db.prisma.$executeRawUnsafe(`DROP SCHEMA IF EXISTS "bench_${process.pid}_r${k + 1}" CASCADE`);
    await db.close();
  }
  backfill[d.kind] = median(backfillRuns[d.kind]);
  loads.push(os.loadavg()[0]);
}

// ---------------------------------------------------------------- 3. live latency (SQLite, indexer + API in one process, WebSocket)
async function gql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  return r.json();
}
async function rpc(method: string, params: unknown[]): Promise<any> {
  const r = await fetch(chain.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const j = (await r.json()) as { result?: unknown; error?: { message: string } };
  if (j.error) throw new Error(j.error.message);
  return j.result;
}
const { encodeFunctionData } = await import("viem");
const { providerRegistryAbi } = await import("../../shared/abis.ts");
const apiPort = await freePort();
const live = child([path.join(root, "indexer/main.ts"), "--api"], {
  RPC_URL: chain.url,
  WS_URL: chain.wsUrl,
  DATABASE_URL: dbs[0].url,
  REGISTRY_ADDRESS: chain.registry,
  MARKET_ADDRESS: chain.market,
  INDEXER_PORT: "0",
  API_PORT: String(apiPort),
  FINALITY_DEPTH: "12",
  LOG_LEVEL: "warn",
});
const apiUrl = `http://127.0.0.1:${apiPort}/graphql`;
await waitUntil(async () => (await fetch(apiUrl.replace("/graphql", "/health")).catch(() => undefined))?.status === 200, 60_000, "api up");
const latencies: number[] = [];
const who = chain.providers[3];
for (let i = 0; i < 30; i++) {
  const uri = `ipfs://live-${i}-${Date.now()}`;
  const data = encodeFunctionData({ abi: providerRegistryAbi, functionName: "updateMetadata", args: [uri] });
  const hash = await rpc("eth_sendTransaction", [{ from: who, to: chain.registry, data, gas: "0x30000" }]);
  await rpc("eth_getTransactionReceipt", [hash]); // automine: the block is mined when this returns
  const t0 = performance.now();
  for (;;) {
    const r = await gql(apiUrl, `{ provider(address: "${who}") { metadataURI } }`);
    if (r.data?.provider?.metadataURI === uri) break;
    if (performance.now() - t0 > 10_000) throw new Error("live row never showed up");
    await new Promise((res) => setTimeout(res, 1));
  }
  latencies.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, 50));
}
live.proc.kill("SIGTERM");
await new Promise((r) => live.proc.once("exit", r));
latencies.sort((a, b) => a - b);
const liveLatencyMs = Number(latencies[Math.floor(latencies.length / 2)].toFixed(1));
const liveP95 = Number(latencies[Math.floor(latencies.length * 0.95)].toFixed(1));
say(`live latency (mined block → row queryable through the API, WebSocket newHeads): median ${liveLatencyMs} ms, p95 ${liveP95} ms`);

// ---------------------------------------------------------------- 4. API under load
/**
 * The varied mix: ≥ 400 distinct request bodies as dApps write them: lists with different filters
 * (status sets, amount and time ranges, posters, relation filters), orders and directions, page sizes,
 * cursors of real pages, job details, rounds, commitments and slashes of a job or a worker, providers
 * and their stake history.
 */
async function mixBodies(url: string): Promise<string[]> {
  const out = new Set<string>();
  const add = (query: string, variables: Record<string, unknown> = {}) => out.add(JSON.stringify({ query, variables }));
  const statuses = [["Completed"], ["Running", "Open"], ["Completed", "Cancelled", "Failed"]];
  const orders = ["id", "createdAt", "rewardPerRound", "roundsFinalized", "totalPaid"];
  const fields = "items { id status poster rewardPerRound createdAt roundsFinalized totalPaid } pageInfo { hasNextPage endCursor } totalCount";
  for (const st of statuses)
    for (const ob of orders)
      for (const dir of ["asc", "desc"])
        for (const first of [5, 20]) {
          const q = `query($after: String) { jobs(first: ${first}, after: $after, where: { status_in: [${st.join(", ")}] }, orderBy: ${ob}, orderDirection: ${dir}) { ${fields} } }`;
          add(q, { after: null });
          const r = await gql(url, q, { after: null });
          if (r.data?.jobs?.pageInfo?.endCursor) add(q, { after: r.data.jobs.pageInfo.endCursor });
        }
  for (let id = 1; id <= chain.jobs; id++) {
    add(JSON.parse(detailQuery(id)).query, { id: String(id) });
    add(`query($id: BigInt!) { rounds(where: { jobId: $id, status: Finalized }, orderBy: round, orderDirection: desc, first: 5) { items { round resultModelHash meanTrainLoss commitCount } totalCount } }`, { id: String(id) });
    add(`query($id: BigInt!, $w: Address!) { commitments(where: { jobId: $id, worker: $w }, first: 10) { items { round trainLoss updateHash block } } }`, { id: String(id), w: chain.providers[id % chain.providers.length] });
    add(`query($id: BigInt!) { slashes(where: { jobId: $id }, orderBy: amount, orderDirection: desc, first: 5) { items { provider reason amount round } totalCount } }`, { id: String(id) });
  }
  for (const p of chain.providers) {
    add(`query($p: Address!) { provider(address: $p) { address stake bonded jobsJoined jobs(first: 5, orderBy: jobId, orderDirection: desc) { items { job { id status } earned } totalCount } } }`, { p });
    add(`query($p: Address!) { payouts(where: { account: $p, kind: Reward }, orderBy: block, orderDirection: desc, first: 10) { items { amount jobId block } totalCount } }`, { p });
    add(`query($p: Address!) { jobs(where: { workers_some: { worker: $p, earned_gt: "0" } }, first: 10) { items { id status } totalCount } }`, { p });
    add(`query($p: Address!) { stakeChanges(where: { provider: $p }, orderBy: block, orderDirection: desc, first: 10) { items { kind amount block } totalCount } }`, { p });
  }
  for (let k = 0; k < 40; k++) add(`{ jobs(where: { createdAt_gte: "${k}", rewardPerRound_gte: "${k === 0 ? "0" : `${k}000000000000000000`}" }, orderBy: createdAt, first: 10) { items { id createdAt } totalCount } }`);
  // every body must succeed (GraphQL errors come back with HTTP 200, which the load generator would count as fine)
  for (const b of out) {
    const { query, variables } = JSON.parse(b) as { query: string; variables: Record<string, unknown> };
    const r = await gql(url, query, variables);
    if (r.errors) throw new Error(`mix query failed: ${query} ${JSON.stringify(r.errors)}`);
  }
  return [...out];
}

/** Mines one transaction every `ms` while `run` runs (blocks arriving as on a live chain). */
async function withBlocks<T>(ms: number, run: () => Promise<T>): Promise<T> {
  let stop = false;
  let n = 0;
  const loop = (async () => {
    while (!stop) {
      const data = encodeFunctionData({ abi: providerRegistryAbi, functionName: "updateMetadata", args: [`ipfs://mix-${n++}-${Date.now()}`] });
      await rpc("eth_sendTransaction", [{ from: chain.providers[4], to: chain.registry, data, gas: "0x30000" }]);
      await new Promise((r) => setTimeout(r, ms));
    }
  })();
  try {
    return await run();
  } finally {
    stop = true;
    await loop;
  }
}

const api: Record<string, Record<string, Load>> = {};
let mixCount = 0;
for (const d of dbs) {
  for (const cache of [true, false]) {
    const port = await freePort();
    const proc = child([path.join(root, "api/main.ts")], { DATABASE_URL: d.url, API_PORT: String(port), LOG_LEVEL: "warn", API_CACHE: cache ? "1" : "0" });
    const url = `http://127.0.0.1:${port}/graphql`;
    await waitUntil(async () => (await fetch(url.replace("/graphql", "/health")).catch(() => undefined))?.status === 200, 60_000, "api up");
    // cursors of the first pages, so the list load walks real pages
    const cursors: (string | null)[] = [null];
    for (let p = 0; p < 9; p++) {
      const body = JSON.parse(listQuery(cursors[cursors.length - 1])) as { query: string; variables: Record<string, unknown> };
      const r = await gql(url, body.query, body.variables);
      if (!r.data?.jobs?.pageInfo?.hasNextPage) break;
      cursors.push(r.data.jobs.pageInfo.endCursor);
    }
    const list = await loadBodies(url, cursors.map(listQuery), duration);
    const detail = await loadBodies(url, Array.from({ length: Math.min(chain.jobs, 50) }, (_, k) => detailQuery(k + 1)), duration);
    const bodies = await mixBodies(url);
    mixCount = bodies.length;
    // the mix: without the cache as is; with the cache while the indexer follows a block every 2 s
    let mix: Load;
    let ixProc: ReturnType<typeof child> | undefined;
    if (cache) {
      ixProc = child([path.join(root, "indexer/main.ts")], { RPC_URL: chain.url, WS_URL: chain.wsUrl, DATABASE_URL: d.url, REGISTRY_ADDRESS: chain.registry, MARKET_ADDRESS: chain.market, INDEXER_PORT: "0", FINALITY_DEPTH: "12", LOG_LEVEL: "warn" });
      mix = await withBlocks(2000, () => loadBodies(url, bodies, duration));
      ixProc.proc.kill("SIGTERM");
      await new Promise((r) => ixProc!.proc.once("exit", r));
    } else mix = await loadBodies(url, bodies, duration);
    api[`${d.kind}${cache ? "" : "_nocache"}`] = { list, detail, mix };
    loads.push(os.loadavg()[0]);
    say(`api ${d.kind} ${cache ? "cached" : "no cache"}: list p50 ${list.p50} ms p99 ${list.p99} ms ${list.rps} req/s (errors ${list.errors}); detail p50 ${detail.p50} ms p99 ${detail.p99} ms ${detail.rps} req/s (errors ${detail.errors}); mix of ${bodies.length}${cache ? ", a block every 2 s" : ""} p50 ${mix.p50} ms p99 ${mix.p99} ms ${mix.rps} req/s (errors ${mix.errors})`);
    proc.proc.kill("SIGTERM");
    await new Promise((r) => proc.proc.once("exit", r));
  }
}

// ---------------------------------------------------------------- results
chainProc.proc.kill("SIGTERM");
if (pg) {
  const db = await openDb(dbs[1].url, { migrate: false });
  await db.prisma.$executeRawUnsafe(`DROP SCHEMA IF EXISTS "bench_${process.pid}" CASCADE`);
  await db.close();
}
rmSync(tmp, { recursive: true, force: true });

const results = {
  backfillEventsPerSecSqlite: backfill.sqlite,
  backfillEventsPerSecPostgres: backfill.postgresql,
  backfillRunsSqlite: backfillRuns.sqlite,
  backfillRunsPostgres: backfillRuns.postgresql,
  backfillColdSqlite: backfillCold.sqlite,
  backfillNoSlowStartSqlite: median(backfillNoSlowStart),
  backfillNoSlowStartRunsSqlite: backfillNoSlowStart,
  backfillColdPostgres: backfillCold.postgresql,
  firstGetLogsMs: coldGetLogsMs,
  secondGetLogsMs: warmGetLogsMs,
  liveLatencyMs,
  p99ListMs: api.sqlite.list.p99,
  p99DetailMs: api.sqlite.detail.p99,
  p99MixLiveMs: api.postgresql?.mix.p99 ?? null,
  p99ListNoCacheMs: api.postgresql_nocache?.list.p99 ?? null,
  p50ListNoCacheMs: api.postgresql_nocache?.list.p50 ?? null,
  p50DetailNoCacheMs: api.postgresql_nocache?.detail.p50 ?? null,
  p99DetailNoCacheMs: api.postgresql_nocache?.detail.p99 ?? null,
  p99MixNoCacheMs: api.postgresql_nocache?.mix.p99 ?? null,
  mixDistinctBodies: mixCount,
};
mkdirSync(path.join(root, "bench/results"), { recursive: true });
writeFileSync(path.join(root, "bench/results/indexer.json"), JSON.stringify(results, null, 2) + "\n");

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
const row = (k: string, l: Load) => `| ${k} | ${l.p50} | ${l.p99} | ${l.rps} | ${l.errors} |`;
const section = `## Indexer and API (bench/indexer)

Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.
Date: ${new Date().toISOString().slice(0, 10)}. Command: \`EVENTS=${process.env.EVENTS ?? 50000} DURATION=${duration} npm run bench:indexer\` (\`node bench/indexer/run.ts\`).

Chain: Hardhat (EDR) served by Hardhat's JSON-RPC server in a child process; ${chain.events} market, registry and dispute-game events from ${chain.jobs} jobs × 16 workers × 10 rounds (commitments, and votes up to the 2/3 quorum) plus one dispute scenario (a step dispute bisected to a fraud verdict by three referees, a rejected round challenge, an expired round's settlement, withdrawals), ${chain.txs} transactions in ${chain.blocks} blocks (${(chain.txs / chain.blocks).toFixed(0)} per block on average: automine off, 10 jobs side by side, each phase mined in blocks of up to 60 transactions; generated in ${chain.genSeconds.toFixed(0)} s, head block ${chain.head}).
The node's first \`eth_getLogs\` over the whole chain took ${coldGetLogsMs} ms, the second ${warmGetLogsMs} ms; that first call is made before the backfills, so that every backfill meets the node in the same state.
Load average (1 min, 2 cores shared with other work) after each phase: ${loads.map((l) => l.toFixed(1)).join(", ")}.

| measurement | SQLite | PostgreSQL 15 | goal |
| --- | --- | --- | --- |
| backfill from an empty database to the head (events/s, median of ${BACKFILL_RUNS} runs, each from an empty database, after one uncounted cold run in the same process; includes start-up and the last 12 blocks, which are journaled for reorgs) | ${backfill.sqlite} (runs: ${backfillRuns.sqlite.join(", ")}; cold: ${backfillCold.sqlite}) | ${backfill.postgresql ?? "n/a"}${backfillRuns.postgresql.length ? ` (runs: ${backfillRuns.postgresql.join(", ")}; cold: ${backfillCold.postgresql})` : ""} | ≥ 20,000 (SQLite) |
| the same with the slow start off (\`slowStartBlocks: 0\`: every \`eth_getLogs\` range the adaptive range), alternated with the counted runs (events/s, median) | ${median(backfillNoSlowStart)} (runs: ${backfillNoSlowStart.join(", ")}) | – | |
| live latency, mined block → row queryable via GraphQL (median of 30, ms) | ${liveLatencyMs} (p95 ${liveP95}) | – | |

GraphQL under 50 concurrent connections (autocannon, ${duration} s per run; the API alone in its own process). "list": \`jobs(first: 20, after, where: {status: Completed}, orderBy: createdAt, orderDirection: desc)\` walking the first pages with \`totalCount\`; "detail": one job with workers + providers, 10 rounds with commitments and votes, and its loss curve (50 different jobs). "cached" is the default server (results shared between identical queries until the next indexed block); "no cache" executes every request.

| database / query | p50 (ms) | p99 (ms) | requests/s | errors |
| --- | --- | --- | --- | --- |
${Object.entries(api)
  .flatMap(([k, v]) => [row(`${k.replace("_nocache", " no cache")} list`, v.list), row(`${k.replace("_nocache", " no cache")} detail`, v.detail), row(`${k.replace("_nocache", " no cache")} mix${k.endsWith("_nocache") ? "" : ", a block every 2 s"}`, v.mix)])
  .join("\n")}

"mix": ${mixCount} distinct request bodies (lists under 3 status sets × 5 orders × 2 directions × 2 page sizes, first and second pages; job details; a job's finalized rounds; a worker's commitments in a job; providers with their jobs; payouts; jobs by worker with earnings; amount and time ranges), cycled by the 50 connections. With the cache, the indexer runs in its own process and a transaction is mined every 2 s, so the cache is dropped at every block.
Goals (PostgreSQL, 50 clients, no cache: p50 ≤ 20 ms and p99 ≤ 50 ms): ${(["list", "detail"] as const).map((q) => { const l = api.postgresql_nocache?.[q]; return `${q} ${l ? `p50 ${l.p50 <= 20 ? "met" : "NOT met"}, p99 ${l.p99 <= 50 ? "met" : "NOT met"}` : "n/a"}`; }).join("; ")}.

Goal p99 ≤ 20 ms for the paged list at 50 clients: ${api.sqlite.list.p99 <= 20 ? "met" : "NOT met"} (SQLite, cached: ${api.sqlite.list.p99} ms${api.sqlite_nocache ? `; without the cache ${api.sqlite_nocache.list.p99} ms` : ""}).
Results file: \`bench/results/indexer.json\`. Note that the load generator and the API share the machine's cores.

`;
const benchFile = path.join(root, "BENCHMARKS.md");
let md = existsSync(benchFile) ? readFileSync(benchFile, "utf8") : "# Benchmarks\n";
const start = md.indexOf("## Indexer and API (bench/indexer)");
if (start >= 0) {
  const rest = md.slice(start + 3);
  const next = rest.search(/\n## /);
  md = md.slice(0, start) + section + (next >= 0 ? rest.slice(next + 1) : "");
} else {
  md = md.trimEnd() + "\n\n" + section;
}
writeFileSync(benchFile, md);
say(`wrote bench/results/indexer.json and BENCHMARKS.md: ${JSON.stringify(results)}`);
process.exit(0);
