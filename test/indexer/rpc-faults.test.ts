import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { faultyProxy, freePort, spawnIndexer, startChain, startIndexer, synced, testDatabases, waitUntil, type Chain } from "./helpers.ts";
import { L, runScenario, verifyAgainstChain } from "./scenario.ts";

const chain: Chain = await startChain();
await runScenario(chain.ctx);
const dbs = await testDatabases("faults");
const registry = L(chain.ctx).registry.address as string;
const market = L(chain.ctx).market.address as string;
after(() => chain.close());

describe("RPC faults", () => {
  after(async () => {
    for (const d of dbs) await d.drop();
  });

  for (const tdb of dbs) {
    it(`retries timeouts, 429s, 5xx and dropped connections with backoff and still indexes everything (${tdb.kind})`, async () => {
      let i = 0;
      const faults = ["timeout", "429", "500", "reset"] as const;
      // every 3rd request fails, cycling through the fault kinds
      const proxy = await faultyProxy(chain.url, () => (++i % 3 === 0 ? faults[(i / 3) % faults.length] : "pass"));
      const db = await tdb.open();
      const ix = await startIndexer(db, { ...chain, url: proxy.url }, { rpcTimeoutMs: 300, initialRange: 4, maxRange: 8 });
      try {
        await synced(ix, chain, 90_000);
        await verifyAgainstChain(db, chain.ctx);
        for (const k of faults) assert.ok((proxy.count[k] ?? 0) > 0, `${k} injected`);
        for (const k of ["timeout", "http_429", "http_5xx", "network"]) assert.ok(ix.metrics.rpcErrors.get({ kind: k }) > 0, `rpc errors counted: ${k}`);
        assert.match(ix.metrics.render(), /indexer_rpc_errors_total\{kind="http_429"\} \d+/);
      } finally {
        await ix.stop();
        await db.close();
        await proxy.close();
      }
    });
  }
});

describe("misconfiguration is fatal with a clear message", () => {
  const base = () => ({ RPC_URL: chain.url, WS_URL: "off", DATABASE_URL: `file:/tmp/idx-misconf-${process.pid}.db`, REGISTRY_ADDRESS: registry, MARKET_ADDRESS: market, INDEXER_PORT: "0", STARTUP_TIMEOUT_MS: "2000" });
  it("wrong chain id", async () => {
    const c = spawnIndexer({ ...base(), CHAIN_ID: "1" });
    assert.equal(await c.exited, 2);
    assert.match(c.out(), /wrong chain: the RPC node at .* is on chain 31337, but CHAIN_ID is 1/);
  });
  it("no contract at the address", async () => {
    const eoa = (chain.ctx.others[3] as { account: { address: string } }).account.address;
    const c = spawnIndexer({ ...base(), REGISTRY_ADDRESS: eoa });
    assert.equal(await c.exited, 2);
    assert.match(c.out(), /no contract at REGISTRY_ADDRESS/);
  });
  it("market and registry that do not belong together", async () => {
    const c = spawnIndexer({ ...base(), MARKET_ADDRESS: registry });
    assert.equal(await c.exited, 2);
    assert.match(c.out(), /is not a TrainingMarket/);
  });
  it("an RPC URL that is not one", async () => {
    const c = spawnIndexer({ ...base(), RPC_URL: "localhost:8545" });
    assert.equal(await c.exited, 2);
    assert.match(c.out(), /RPC_URL/);
  });
});

describe("operations endpoints", () => {
  it("/health, /ready (503 until caught up) and Prometheus /metrics from the real process", async () => {
    // a slow proxy keeps the indexer behind for a while
    const port = await freePort();
    let delay = true;
    const gate = await faultyProxyWithDelay(chain.url, () => delay);
    const c = spawnIndexer({ RPC_URL: gate.url, WS_URL: "off", DATABASE_URL: dbs[0].url.replace("indexer.db", "ops.db"), REGISTRY_ADDRESS: registry, MARKET_ADDRESS: market, INDEXER_PORT: String(port), GETLOGS_RANGE: "1", GETLOGS_MAX_RANGE: "1", FINALITY_DEPTH: "2" });
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitUntil(async () => (await fetch(`${base}/health`).catch(() => undefined))?.status === 200, 30_000, "health");
      const notReady = await fetch(`${base}/ready`);
      assert.equal(notReady.status, 503);
      assert.equal((await notReady.json()).ready, false);
      delay = false;
      await waitUntil(async () => (await fetch(`${base}/ready`)).status === 200, 60_000, "ready");
      const metrics = await (await fetch(`${base}/metrics`)).text();
      for (const m of ["indexer_blocks_behind 0", "indexer_events_indexed_total", "indexer_reorgs_total 0", "indexer_rpc_errors_total", "indexer_head_block"]) assert.ok(metrics.includes(m), m);
      assert.match(metrics, /indexer_events_indexed_total [1-9]\d*/);
      const logLine = c.out().split("\n").find((l) => l.includes("preflight ok"))!;
      assert.equal(JSON.parse(logLine).level, "info", "structured JSON logs");
    } finally {
      c.proc.kill("SIGTERM");
      await c.exited;
      await gate.close();
    }
  });
});

/** A proxy that delays each request by 150 ms while `slow()` says so. */
async function faultyProxyWithDelay(target: string, slow: () => boolean) {
  const http = await import("node:http");
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const ch of req) chunks.push(ch as Buffer);
    if (slow()) await new Promise((r) => setTimeout(r, 150));
    const up = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) });
    res.writeHead(up.status, { "content-type": "application/json" });
    res.end(await up.text());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
