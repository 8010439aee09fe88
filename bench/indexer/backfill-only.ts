/** Times a backfill from an empty SQLite database against a running bench chain (CHAIN_JSON = chain.ts's line). Diagnostics only. */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDb } from "../../indexer/db/index.ts";
import { createLogger } from "../../indexer/log.ts";
import { Metrics } from "../../indexer/metrics.ts";
import { Indexer } from "../../indexer/sync.ts";

const chain = JSON.parse(process.env.CHAIN_JSON!) as { url: string; registry: `0x${string}`; market: `0x${string}`; head: string };
const url = process.env.BENCH_DB ?? `file:${path.join(mkdtempSync(path.join(os.tmpdir(), "bf-")), "b.db")}`;
const db = await openDb(url);
const metrics = new Metrics();
const ix = new Indexer(db, { rpcUrl: chain.url, wsUrl: false, registry: chain.registry, market: chain.market, ...(process.env.INITIAL_RANGE ? { initialRange: Number(process.env.INITIAL_RANGE) } : {}), ...(process.env.TARGET_LOGS ? { targetLogs: Number(process.env.TARGET_LOGS) } : {}), ...(process.env.GETLOGS_SLOW_START ? { slowStartBlocks: Number(process.env.GETLOGS_SLOW_START) } : {}) }, { log: createLogger({}, "warn"), metrics });
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await ix.start();
const tStarted = performance.now();
await ix.waitFor(BigInt(chain.head), 600_000);
const s = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(`start ${(tStarted - t0).toFixed(0)} ms, wait for logs ${ix.timings.wait.toFixed(0)} ms, timestamps ${ix.timings.timestamps.toFixed(0)} ms, apply ${ix.timings.apply.toFixed(0)} ms, commit ${ix.timings.commit.toFixed(0)} ms`);
console.log(`indexer CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`);
console.log(`${metrics.eventsIndexed.get()} events in ${s.toFixed(2)} s = ${Math.round(metrics.eventsIndexed.get() / s)} events/s, ${metrics.flushes.get()} transactions`);
await ix.stop();
await db.close();
process.exit(0);
