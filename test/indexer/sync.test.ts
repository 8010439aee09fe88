import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SLOW_START_BLOCKS } from "../../indexer/sync.ts";
import { faultyProxy, startChain, startIndexer, synced, testDatabases, type Chain } from "./helpers.ts";
import { runScenario, verifyAgainstChain } from "./scenario.ts";

const chain: Chain = await startChain();
await runScenario(chain.ctx);
// empty blocks after the scenario: a chain long enough for several slow-start doublings
await chain.mine(SLOW_START_BLOCKS * 7);
const dbs = await testDatabases("sync");
const freshDbs = await testDatabases("sync-slow-start");
after(async () => {
  await chain.close();
});

for (const tdb of dbs) {
  describe(`sync (${tdb.kind})`, () => {
    after(() => tdb.drop());

    it("backfills every event with adaptive getLogs ranges (halving on 'too many results') and matches the contracts", async () => {
      // the proxy refuses getLogs over more than 8 blocks, like a provider's result cap
      const proxy = await faultyProxy(chain.url, ({ method, body }) => {
        if (method !== "eth_getLogs") return "pass";
        const f = (Array.isArray(body) ? body[0] : body) as { params: [{ fromBlock: string; toBlock: string }] };
        const span = Number(BigInt(f.params[0].toBlock) - BigInt(f.params[0].fromBlock)) + 1;
        return span > 8 ? { rangeError: "query returned more than 10000 results" } : "pass";
      });
      const db = await tdb.open();
      const ix = await startIndexer(db, { ...chain, url: proxy.url }, { initialRange: 1000 });
      try {
        await synced(ix, chain);
        assert.ok((proxy.count.range ?? 0) > 0, "range errors were injected");
        assert.ok((proxy.count.pass ?? 0) > 0);
        await verifyAgainstChain(db, chain.ctx);
        const events = await db.prisma.network.findUnique({ where: { id: 1 } });
        assert.equal(Number(events!.eventsIndexed), ix.metrics.eventsIndexed.get());
      } finally {
        await ix.stop();
        await db.close();
        await proxy.close();
      }
    });

    it("starts a backfill with small getLogs ranges and doubles them, so writing overlaps fetching", async () => {
      const head = Number(await chain.blockNumber());
      const finalityDepth = 4;
      const ranges: [number, number][] = [];
      const proxy = await faultyProxy(chain.url, ({ body }) => {
        const calls = (Array.isArray(body) ? body : [body]) as { method: string; params: [{ fromBlock: string; toBlock: string }] }[];
        for (const c of calls) if (c.method === "eth_getLogs") ranges.push([Number(c.params[0].fromBlock), Number(c.params[0].toBlock)]);
        return "pass";
      });
      const fresh = freshDbs.find((d) => d.kind === tdb.kind)!;
      const db = await fresh.open();
      const ix = await startIndexer(db, { ...chain, url: proxy.url }, { initialRange: 1000, finalityDepth });
      try {
        await synced(ix, chain);
        await verifyAgainstChain(db, chain.ctx);
        // the backfill's ranges (to head - finalityDepth), in block order: contiguous from block 0, each twice the one before, up to the range
        const backfill = ranges.filter(([, to]) => to <= head - finalityDepth).sort((a, b) => a[0] - b[0]);
        assert.equal(backfill[0][0], 0);
        assert.equal(backfill.at(-1)![1], head - finalityDepth);
        const spans = backfill.map(([from, to]) => to - from + 1);
        for (let i = 1; i < backfill.length; i++) assert.equal(backfill[i][0], backfill[i - 1][1] + 1, "ranges are contiguous");
        const expected: number[] = [];
        for (let left = head - finalityDepth + 1, k = 0; left > 0; k++) {
          const span = Math.min(left, 1000, SLOW_START_BLOCKS * 2 ** k);
          expected.push(span);
          left -= span;
        }
        assert.deepEqual(spans, expected);
        assert.ok(spans.length >= 4, `several ranges (${spans.join(", ")})`);
      } finally {
        await ix.stop();
        await db.close();
        await proxy.close();
        await fresh.drop();
      }
    });
  });
}
