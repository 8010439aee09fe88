import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress } from "viem";
import { commit, createJob, jobParams, joinAll, registerProviders } from "../helpers/market.ts";
import { dumpTables, referenceDump, startChain, startIndexer, synced, testDatabases, waitUntil, type Chain } from "./helpers.ts";
import { honestJob, L, verifyAgainstChain } from "./scenario.ts";

const chain: Chain = await startChain();
const ctx = chain.ctx;
const providers = await registerProviders(ctx, 4, 1);
const poster = ctx.others[0] as never;
const done = await honestJob(ctx, poster, providers.slice(0, 3), 1);
// rewards are credited when the bond is released, after the job's challenge window (issue 13)
await chain.request("evm_increaseTime", [Number(jobParams().challengeWindow) + 1]);
await chain.mine(1);
for (const p of providers.slice(0, 3)) await L(ctx).market.write.releaseBond([done, p.address], { account: p.wallet.account });
let base = await chain.request<string>("evm_snapshot");
/** Back to the chain every test starts from (a snapshot is used up by reverting to it). */
async function resetChain() {
  assert.equal(await chain.request("evm_revert", [base]), true);
  base = await chain.request<string>("evm_snapshot");
}
const dbs = await testDatabases("reorg");
const deepDbs = await testDatabases("reorgdeep");
after(() => chain.close());

for (const [i, tdb] of dbs.entries()) {
  describe(`reorgs on a Hardhat chain (${tdb.kind})`, () => {
    after(() => tdb.drop());
    after(() => deepDbs[i].drop());

    it("rolls back every row of orphaned blocks and re-indexes the new branch (longer, then shorter, branches)", async () => {
      await resetChain();
      const root = await chain.request<string>("evm_snapshot");
      const db = await tdb.open();
      const ix = await startIndexer(db, chain, { finalityDepth: 64 });
      try {
        await synced(ix, chain);
        const heightBefore = await chain.blockNumber();

        // branch A: a job with two workers, a round in progress (commitments), a withdrawal
        const a = await createJob(ctx, poster, jobParams({ rounds: 2, maxWorkers: 2, minWorkers: 2 }));
        await joinAll(ctx, a, providers.slice(0, 2));
        await commit(ctx, providers[0], a, 0, 1.5);
        await L(ctx).market.write.withdraw({ account: providers[0].wallet.account });
        await synced(ix, chain);
        assert.equal(await db.prisma.commitment.count({ where: { jobId: a } }), 1);
        const aHeight = await chain.blockNumber();

        // reorg: back to the fork point, branch B is longer and different
        await chain.request("evm_revert", [root]);
        const root2 = await chain.request<string>("evm_snapshot");
        assert.equal(await chain.blockNumber(), heightBefore);
        const b = await createJob(ctx, poster, jobParams({ rounds: 1, maxWorkers: 3, minWorkers: 2, rewardPerRound: 7n * 10n ** 18n }));
        await joinAll(ctx, b, providers.slice(1, 4));
        await L(ctx).registry.write.updateMetadata(["ipfs://branch-b"], { account: providers[3].wallet.account });
        await chain.mine(4);
        assert.ok((await chain.blockNumber()) > aHeight);
        await synced(ix, chain);
        await waitUntil(() => ix.metrics.reorgs.get() >= 1, 10_000, "reorg detected");
        const job = await db.prisma.job.findUnique({ where: { id: b } });
        assert.equal(job?.rewardPerRound, (7n * 10n ** 18n).toString(), "branch B's job replaced branch A's");
        assert.equal(await db.prisma.commitment.count(), 3, "branch A's commitment is gone");
        assert.equal((await db.prisma.provider.findUnique({ where: { address: getAddress(providers[3].address) } }))?.metadataURI, "ipfs://branch-b");
        await verifyAgainstChain(db, ctx);
        assert.deepEqual(await dumpTables(db), await referenceDump(chain), "same rows as a fresh index of the canonical chain");

        // reorg to a shorter branch: the indexer notices while idle
        await chain.request("evm_revert", [root2]);
        await L(ctx).market.write.expireRound([1n], { account: providers[0].wallet.account }).catch(() => {});
        await createJob(ctx, poster, jobParams({ rounds: 1, maxWorkers: 1, minWorkers: 1 }));
        assert.ok((await chain.blockNumber()) < (ix.status().synced ?? 0n));
        await waitUntil(() => ix.metrics.reorgs.get() >= 2, 10_000, "second reorg detected");
        await synced(ix, chain);
        await verifyAgainstChain(db, ctx);
        assert.deepEqual(await dumpTables(db), await referenceDump(chain));
        const journal = await db.prisma.reorgJournal.count();
        assert.ok(journal > 0, "recent blocks are journaled");
      } finally {
        await ix.stop();
        await db.close();
      }
    });

    it("a reorg deeper than the finality depth is a clear fatal error, not silent corruption", async () => {
      await resetChain();
      const root = await chain.request<string>("evm_snapshot");
      const db = await deepDbs[i].open();
      const ix = await startIndexer(db, chain, { finalityDepth: 1 });
      try {
        await chain.mine(5);
        await synced(ix, chain);
        await chain.request("evm_revert", [root]);
        await createJob(ctx, poster, jobParams());
        await chain.mine(6);
        await assert.rejects(ix.done, /reorg deeper than the indexer can undo/);
        assert.match(ix.status().fatal ?? "", /FINALITY_DEPTH/);
      } finally {
        await ix.stop();
        await db.close();
      }
    });
  });
}
