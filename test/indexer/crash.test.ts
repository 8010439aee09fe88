import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { registerProviders } from "../helpers/market.ts";
import { dumpTables, freePort, referenceDump, spawnIndexer, startChain, testDatabases, waitUntil, type Chain } from "./helpers.ts";
import { honestJob, L, runScenario } from "./scenario.ts";

const chain: Chain = await startChain();
const sc = await runScenario(chain.ctx);
const more = await registerProviders(chain.ctx, 3, 8);
for (let i = 0; i < 2; i++) await honestJob(chain.ctx, sc.poster, more, 3);
const reference = await referenceDump(chain);
const dbs = await testDatabases("crash");
after(() => chain.close());

for (const tdb of dbs) {
  describe(`kill -9 and restart (${tdb.kind})`, () => {
    after(() => tdb.drop());

    it("a killed indexer resumes from its checkpoint with nothing lost and nothing doubled", async () => {
      const env = {
        RPC_URL: chain.url,
        WS_URL: "off",
        DATABASE_URL: tdb.url,
        REGISTRY_ADDRESS: L(chain.ctx).registry.address,
        MARKET_ADDRESS: L(chain.ctx).market.address,
        // tiny ranges and a deep live window: many transactions, both backfill and journaled blocks
        GETLOGS_RANGE: "2",
        GETLOGS_MAX_RANGE: "3",
        // paced requests: the backfill lasts seconds however fast the machine, so every kill below
        // lands while it writes (a fast indexer used to finish before the first kill)
        GETLOGS_MIN_INTERVAL_MS: "25",
        FINALITY_DEPTH: "40",
        POLL_INTERVAL_MS: "50",
        INDEXER_PORT: String(await freePort()),
      };
      const head = await chain.blockNumber();
      const checkpoints: bigint[] = [];
      let kills = 0;
      for (let attempt = 0; attempt < 12; attempt++) {
        const child = spawnIndexer(env);
        // let it get going, then kill -9 at a random moment while it writes
        await waitUntil(() => child.out().includes("preflight ok") || child.proc.exitCode !== null, 30_000, "indexer start");
        // short, random delays: on an idle machine the whole backfill takes well under a second
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 130));
        const db = await tdb.open({ migrate: false });
        const cp = await db.prisma.syncCheckpoint.findFirst();
        await db.close();
        if (cp && cp.blockNumber >= head) {
          child.proc.kill("SIGTERM");
          await child.exited;
          break;
        }
        child.proc.kill("SIGKILL");
        assert.equal(await child.exited, -1, "killed by a signal");
        kills++;
        if (cp) checkpoints.push(cp.blockNumber);
      }
      assert.ok(kills >= 3, `killed at least 3 times (${kills})`);
      // final run to the head
      const child = spawnIndexer(env);
      const db = await tdb.open({ migrate: false });
      try {
        await waitUntil(async () => ((await db.prisma.syncCheckpoint.findFirst())?.blockNumber ?? -1n) >= head, 60_000, "final catch-up");
        await waitUntil(() => child.out().includes("ops server listening"), 30_000, "started");
        child.proc.kill("SIGTERM");
        assert.equal(await child.exited, 0, child.out().slice(-2000));
        for (let i = 1; i < checkpoints.length; i++) assert.ok(checkpoints[i] >= checkpoints[i - 1], "checkpoint never goes back");
        assert.deepEqual(await dumpTables(db), reference, "same rows as an uninterrupted index");
      } finally {
        if (child.proc.exitCode === null) child.proc.kill("SIGKILL");
        await db.close();
      }
    });
  });
}
