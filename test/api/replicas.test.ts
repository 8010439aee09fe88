/**
 * Scale-out: one indexer process (the single writer) and two API processes on one PostgreSQL,
 * subscriptions fanned out through Redis. Replica B is started with API_PUBLISH=0, so it never
 * publishes a block's events itself: what its subscribers receive came from replica A through Redis.
 * Needs Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379; .ci/run starts one): without it the
 * test fails and says so. PostgreSQL (TEST_PG_URL) when reachable, else one SQLite file, said so.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { freePort, root, spawnIndexer, startChain, testDatabases, waitUntil, type Chain } from "../indexer/helpers.ts";
import { honestJob, setupActors } from "../indexer/scenario.ts";

const REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

async function redisUp(): Promise<boolean> {
  const u = new URL(REDIS);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    s.setTimeout(1000);
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
    s.once("timeout", () => (s.destroy(), resolve(false)));
  });
}

function spawnApi(env: Record<string, string>): { proc: ChildProcess; out: () => string } {
  let out = "";
  const proc = spawn(process.execPath, [path.join(root, "api", "main.ts")], { cwd: root, env: { ...process.env, LOG_LEVEL: "info", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  return { proc, out: () => out };
}

function wsSubscribe(httpUrl: string, query: string) {
  const client = createClient({ url: httpUrl.replace(/^http/, "ws"), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
  const events: any[] = [];
  const errors: unknown[] = [];
  const dispose = client.subscribe({ query }, { next: (v) => events.push(v), error: (e) => errors.push(e), complete: () => {} });
  return { events, errors, close: async () => (dispose(), client.dispose()) };
}

describe("two API replicas and one indexer, subscriptions through Redis", () => {
  const procs: ChildProcess[] = [];
  let chain: Chain | undefined;
  after(async () => {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once("exit", r)))));
    await chain?.close();
  });

  it("a subscriber on replica B sees jobs indexed by the indexer process, published once by replica A", { timeout: 240_000 }, async () => {
    assert.ok(await redisUp(), `this test needs Redis at ${REDIS} (apt-get install redis-server, or set TEST_REDIS_URL)`);
    chain = await startChain();
    const actors = await setupActors(chain.ctx, 3);
    const dbs = await testDatabases("replicas");
    const pg = dbs.find((d) => d.kind === "postgresql") ?? dbs[0];
    if (pg.kind !== "postgresql") console.log("# PostgreSQL unavailable: the replicas share one SQLite file instead (WAL)");
    after(() => pg.drop());
    const c = chain.ctx as unknown as { registry: { address: string }; market: { address: string } };
    const ix = spawnIndexer({ RPC_URL: chain.url, WS_URL: "off", CHAIN_ID: "31337", REGISTRY_ADDRESS: c.registry.address, MARKET_ADDRESS: c.market.address, DATABASE_URL: pg.url, INDEXER_PORT: String(await freePort()), FINALITY_DEPTH: "2", POLL_INTERVAL_MS: "100" });
    procs.push(ix.proc);
    const prefix = `test-${process.pid}-${Date.now()}:`;
    const ports = [await freePort(), await freePort()];
    const common = { DATABASE_URL: pg.url, REDIS_URL: REDIS, REDIS_PREFIX: prefix };
    const a = spawnApi({ ...common, API_PORT: String(ports[0]) });
    const b = spawnApi({ ...common, API_PORT: String(ports[1]), API_PUBLISH: "0" });
    procs.push(a.proc, b.proc);
    const urls = ports.map((p) => `http://127.0.0.1:${p}/graphql`);
    const meta = async (url: string) => {
      const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ _meta { block } jobs { totalCount } }" }) }).catch(() => undefined);
      return r?.ok ? ((await r.json()) as { data?: { _meta: { block: string } | null; jobs: { totalCount: number } } }).data : undefined;
    };
    const head = await chain.blockNumber();
    for (const url of urls) await waitUntil(async () => BigInt((await meta(url))?._meta?.block ?? -1) >= head, 120_000, `${url} serving the indexed head (indexer: ${ix.out().slice(-500)})`);
    assert.match(b.out(), /"redis":"on"/);

    const onB = wsSubscribe(urls[1], "subscription { jobChanged { id status } }");
    const liveB = wsSubscribe(urls[1], "subscription { live { jobs { totalCount } } }");
    const onA = wsSubscribe(urls[0], "subscription { jobChanged { id status } }");
    try {
      await waitUntil(() => liveB.events.length >= 1, 20_000, "replica B's live query");
      const before = liveB.events[0].data.live.jobs.totalCount;
      await new Promise((r) => setTimeout(r, 300));
      const id = String(await honestJob(chain.ctx, actors.poster, actors.providers, 1));
      const completed = (events: any[]) => events.filter((e) => e.data.jobChanged.id === id && e.data.jobChanged.status === "Completed").length;
      await waitUntil(() => completed(onB.events) >= 1, 60_000, `replica B's subscriber to see job ${id} completed (B: ${b.out().slice(-400)})`);
      await waitUntil(() => completed(onA.events) >= 1, 20_000, "replica A's subscriber too");
      await waitUntil(() => liveB.events.at(-1).data.live.jobs.totalCount === before + 1, 20_000, "replica B's live query to count the new job");
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(completed(onB.events), 1, "each event once on B");
      assert.equal(completed(onA.events), 1, "each event once on A");
      assert.deepEqual([...onA.errors, ...onB.errors, ...liveB.errors], []);
      assert.doesNotMatch(b.out() + a.out(), /"level":"error"/);
    } finally {
      await onA.close();
      await onB.close();
      await liveB.close();
    }
  });
});
