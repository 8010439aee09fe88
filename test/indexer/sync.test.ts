import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { faultyProxy, startChain, startIndexer, synced, testDatabases, type Chain } from "./helpers.ts";
import { runScenario, verifyAgainstChain } from "./scenario.ts";

const chain: Chain = await startChain();
await runScenario(chain.ctx);
const dbs = await testDatabases("sync");
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
  });
}
