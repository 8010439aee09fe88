import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { commit, createJob, deployMarket, E18, jobParams, joinAll, modelHashFor, registerProviders, vote } from "../helpers/market.ts";

describe("market smoke: three honest workers complete a job", async () => {
  const conn = await network.create();
  it("credits each worker rounds × reward, the fee to the treasury and refunds nothing extra", async () => {
    const ctx = await deployMarket(conn as never);
    const providers = await registerProviders(ctx, 3, 1);
    const poster = ctx.others[0];
    const params = jobParams({ rounds: 2 });
    const jobId = await createJob(ctx, poster as never, params);
    await joinAll(ctx, jobId, providers);
    assert.equal((await ctx.market.read.jobState([jobId])).status, 2);
    for (let round = 0; round < 2; round++) {
      for (const p of providers) await commit(ctx, p, jobId, round);
      for (const p of providers) {
        const s = await ctx.market.read.jobState([jobId]);
        if (s.currentRound !== round || s.status !== 2) break;
        await vote(ctx, p, jobId, round, modelHashFor(jobId, round), 0b111);
      }
    }
    const job = await ctx.market.read.jobState([jobId]);
    assert.equal(job.status, 3);
    assert.equal(job.modelHash, modelHashFor(jobId, 1));
    // quorum 2/3 finalizes on the second vote; the third (committed, included) worker is paid too.
    // Rewards stay in the market (slashable) until the bond is released after the challenge window.
    for (const p of providers) {
      assert.equal((await ctx.market.read.workerSlot([jobId, p.address])).paidRounds, 2);
      assert.equal(await ctx.market.read.balanceOf([p.address]), 0n);
    }
    assert.equal(await ctx.market.read.accruedOf([jobId]), 60n * E18);
    assert.equal(await ctx.market.read.balanceOf([ctx.treasury.account.address]), 6n * (10n * E18 * 200n) / 10_000n);
    assert.equal(await ctx.market.read.balanceOf([poster.account.address]), 0n);
    assert.equal(await ctx.token.read.balanceOf([ctx.market.address]), 60n * E18 + (6n * 10n * E18 * 200n) / 10_000n);
    await conn.networkHelpers.time.increase(86_401);
    for (const p of providers) await ctx.market.write.releaseBond([jobId, p.address]);
    for (const p of providers) assert.equal(await ctx.market.read.balanceOf([p.address]), 20n * E18);
    assert.equal(await ctx.market.read.accruedOf([jobId]), 0n);
  });
});
