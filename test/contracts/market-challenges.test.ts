import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { encodeAbiParameters, getAddress, keccak256, type Address } from "viem";
import { commit, E18, fund, modelHashFor, vote, type Conn } from "../helpers/market.ts";
import { CHALLENGE, CREDIT, JOB, PENALTY, world } from "../helpers/contract-fixtures.ts";
import { assertMarketSolvent, assertSameAddress, events, ledger } from "../helpers/contract-asserts.ts";

const BOND = 50n * E18;
const CBOND = 20n * E18;
const DAY = 86_400n;
const ARBITRATION = 3n * DAY;

const key = (jobId: bigint, round: number, worker: Address) =>
  keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint32" }, { type: "address" }], [jobId, round, worker]));

describe("TrainingMarket: challenges and bonds", async () => {
  const conn = (await network.create()) as unknown as Conn;
  const { viem, networkHelpers } = conn;
  const { revertWithCustomError, revertWithCustomErrorWithArgs, emitWithArgs } = viem.assertions;

  /** A 3-worker, 3-round job whose round 0 was finalized honestly; now in round 1. The challenger can post 5 bonds. */
  async function afterRound0() {
    const w = await world(conn, 4);
    const jobId = await w.runningJob();
    const [a, b, c, d] = w.providers;
    await w.playRound(jobId, 0, [a, b, c]);
    await fund(w, w.challenger, 5n * CBOND, w.market.address);
    const challenge = (worker: Address, round = 0, by = w.challenger) =>
      w.market.write.challenge([jobId, round, worker], { account: by.account });
    return { w, jobId, a, b, c, d, challenge, L: ledger(w) };
  }
  const load = () => networkHelpers.loadFixture(afterRound0);

  describe("challenge", () => {
    it("pulls the challenge bond and records an open challenge (ChallengeOpened)", async () => {
      const { w, jobId, a, L } = await load();
      const tx = await L(() => w.market.write.challenge([jobId, 0, a.address], { account: w.challenger.account }));
      assert.deepEqual(events(tx.market, "ChallengeOpened")[0], {
        challengeId: 1n,
        jobId,
        round: 0,
        worker: getAddress(a.address),
        challenger: getAddress(w.challenger.account.address),
        bond: CBOND,
      });
      assert.equal(await w.market.read.challengeCount(), 1n);
      const ch = await w.market.read.challengeOf([1n]);
      assert.equal(ch.jobId, jobId);
      assertSameAddress(ch.worker, a.address);
      assert.equal(ch.round, 0);
      assertSameAddress(ch.challenger, w.challenger.account.address);
      assert.equal(ch.openedAt, BigInt(await networkHelpers.time.latest()));
      assert.equal(ch.status, CHALLENGE.Open);
      assert.equal(ch.bond, CBOND);
      assert.equal(await w.market.read.openChallengeOf([key(jobId, 0, a.address)]), 1n);
      assert.equal((await w.market.read.workerSlot([jobId, a.address])).openChallenges, 1);
      assert.equal(await w.tokenBalance(w.challenger.account.address), 4n * CBOND);
    });

    it("works on a commitment in the round still running, and on other rounds/workers in parallel", async () => {
      const { w, jobId, a, b, challenge } = await load();
      await commit(w, a, jobId, 1);
      await challenge(a.address, 1);
      await challenge(a.address, 0);
      await challenge(b.address, 0);
      assert.equal((await w.market.read.workerSlot([jobId, a.address])).openChallenges, 2);
      await assertMarketSolvent(w);
    });

    it("reverts: JobNotFound, NotAWorker, NotCommitted, ChallengeAlreadyOpen, ERC20InsufficientAllowance; stays open during a pause", async () => {
      const { w, jobId, a, d, challenge } = await load();
      await revertWithCustomErrorWithArgs(w.market.write.challenge([55n, 0, a.address], { account: w.challenger.account }), w.market, "JobNotFound", [55n]);
      await revertWithCustomErrorWithArgs(challenge(d.address), w.market, "NotAWorker", [jobId, d.address]);
      await revertWithCustomErrorWithArgs(challenge(a.address, 1), w.market, "NotCommitted", [jobId, 1, a.address]);
      await revertWithCustomErrorWithArgs(challenge(a.address, 7), w.market, "NotCommitted", [jobId, 7, a.address]);
      await challenge(a.address, 0);
      await revertWithCustomErrorWithArgs(challenge(a.address, 0), w.market, "ChallengeAlreadyOpen", [jobId, 0, a.address]);
      await revertWithCustomError(challenge(a.address, 0, w.poster), w.market, "ChallengeAlreadyOpen");
      await revertWithCustomError(w.market.write.challenge([jobId, 0, w.providers[1].address], { account: w.poster.account }), w.token, "ERC20InsufficientAllowance");
      await w.market.write.pause({ account: w.deployer.account });
      // challenge windows keep running during a pause, so challenging must stay possible
      await challenge(w.providers[1].address, 0);
      assert.equal(await w.market.read.challengeCount(), 2n);
    });

    it("is open until closedAt + challengeWindow inclusive, then ChallengeWindowClosed", async () => {
      const { w, jobId, a, b, challenge } = await load();
      const closedAt = BigInt((await w.round(jobId, 0)).closedAt);
      await networkHelpers.time.setNextBlockTimestamp(closedAt + DAY);
      await challenge(a.address, 0);
      await revertWithCustomErrorWithArgs(challenge(b.address, 0), w.market, "ChallengeWindowClosed", [jobId, 0]);
    });
  });

  describe("resolveChallenge", () => {
    it("upheld: slashes the worker's whole bond (Fraud), pays the challenger bond + bounty, the poster the rest, removes the worker", async () => {
      const { w, jobId, a, challenge, L } = await load();
      await challenge(a.address, 0);
      const tx = await L(() => w.market.write.resolveChallenge([1n, true], { account: w.arbiter.account }));
      const bounty = (BOND * 2_000n) / 10_000n;
      assert.deepEqual(events(tx.market, "ChallengeResolved")[0], { challengeId: 1n, status: CHALLENGE.Upheld, slashed: BOND, bounty, bondPaidOut: CBOND });
      assert.deepEqual(events(tx.market, "WorkerPenalized")[0], { jobId, round: 0, worker: getAddress(a.address), reason: PENALTY.Fraud, amount: BOND });
      assert.deepEqual(events(tx.market, "WorkerRemoved")[0], { jobId, worker: getAddress(a.address), reason: PENALTY.Fraud });
      const credits = events(tx.market, "Credited").map((e) => [getAddress(e.account), e.kind, e.amount]);
      assert.deepEqual(credits, [
        [getAddress(w.challenger.account.address), CREDIT.ChallengeBondReturn, CBOND],
        [getAddress(w.challenger.account.address), CREDIT.ChallengeBounty, bounty],
        [getAddress(w.poster.account.address), CREDIT.SlashProceeds, BOND - bounty],
      ]);
      const ch = await w.market.read.challengeOf([1n]);
      assert.equal(ch.status, CHALLENGE.Upheld);
      assert.equal(await w.market.read.openChallengeOf([key(jobId, 0, a.address)]), 0n);
      const slot = await w.market.read.workerSlot([jobId, a.address]);
      assert.equal(slot.openChallenges, 0);
      assert.equal(slot.bond, 0n);
      assert.equal(slot.active, false);
      assert.equal(slot.removedAt, BigInt(await networkHelpers.time.latest()));
      const rec = await w.registry.read.providerOf([a.address]);
      assert.equal(rec.stake, 1_000n * E18 - BOND);
      assert.equal(rec.bonded, 0n);
      assert.equal((await w.job(jobId)).activeMask, 0b110);
      assert.equal((await w.job(jobId)).status, JOB.Running);
      // a second challenge on another round of the removed worker slashes nothing more
      await challenge(a.address, 0);
      const tx2 = await L(() => w.market.write.resolveChallenge([2n, true], { account: w.arbiter.account }));
      assert.deepEqual(events(tx2.market, "ChallengeResolved")[0], { challengeId: 2n, status: CHALLENGE.Upheld, slashed: 0n, bounty: 0n, bondPaidOut: CBOND });
      assert.equal(events(tx2.market, "WorkerRemoved").length, 0);
    });

    it("rejected: the challenger's bond goes to the worker, nothing is slashed (ChallengeBondForfeit)", async () => {
      const { w, jobId, b, challenge, L } = await load();
      await challenge(b.address, 0);
      const before = await w.market.read.balanceOf([b.address]);
      const tx = await L(() => w.market.write.resolveChallenge([1n, false], { account: w.arbiter.account }));
      assert.deepEqual(events(tx.market, "ChallengeResolved")[0], { challengeId: 1n, status: CHALLENGE.Rejected, slashed: 0n, bounty: 0n, bondPaidOut: CBOND });
      assert.deepEqual(events(tx.market, "Credited")[0], { account: getAddress(b.address), jobId, kind: CREDIT.ChallengeBondForfeit, amount: CBOND });
      assert.equal(events(tx.market, "WorkerPenalized").length, 0);
      assert.equal(await w.market.read.balanceOf([b.address]), before + CBOND);
      const slot = await w.market.read.workerSlot([jobId, b.address]);
      assert.equal(slot.active, true);
      assert.equal(slot.bond, BOND);
      assert.equal(slot.openChallenges, 0);
      assert.equal((await w.market.read.challengeOf([1n])).status, CHALLENGE.Rejected);
    });

    it("reverts: NotArbiter, ChallengeNotFound, ChallengeNotOpen; works while paused", async () => {
      const { w, jobId, a, challenge } = await load();
      await revertWithCustomErrorWithArgs(w.market.write.resolveChallenge([1n, true], { account: w.arbiter.account }), w.market, "ChallengeNotFound", [1n]);
      await challenge(a.address, 0);
      for (const who of [w.poster, w.challenger, w.deployer, a.wallet]) {
        await revertWithCustomErrorWithArgs(w.market.write.resolveChallenge([1n, true], { account: who.account }), w.market, "NotArbiter", [
          jobId,
          who.account.address,
        ]);
      }
      await w.market.write.pause({ account: w.deployer.account });
      await w.market.write.resolveChallenge([1n, false], { account: w.arbiter.account });
      await revertWithCustomErrorWithArgs(w.market.write.resolveChallenge([1n, true], { account: w.arbiter.account }), w.market, "ChallengeNotOpen", [1n]);
      await revertWithCustomErrorWithArgs(w.market.write.expireChallenge([1n]), w.market, "ChallengeNotOpen", [1n]);
    });
  });

  describe("expireChallenge", () => {
    it("after the arbitration period refunds the challenger and slashes nothing; ArbitrationPeriodNotOver before", async () => {
      const { w, a, challenge, L } = await load();
      await challenge(a.address, 0);
      const until = (await w.market.read.challengeOf([1n])).openedAt + ARBITRATION;
      await networkHelpers.time.setNextBlockTimestamp(until);
      await revertWithCustomErrorWithArgs(w.market.write.expireChallenge([1n]), w.market, "ArbitrationPeriodNotOver", [until]);
      await w.market.write.pause({ account: w.deployer.account }); // settling stays open while paused
      const tx = await L(() => w.market.write.expireChallenge([1n], { account: w.poster.account }));
      assert.deepEqual(events(tx.market, "ChallengeResolved")[0], { challengeId: 1n, status: CHALLENGE.Expired, slashed: 0n, bounty: 0n, bondPaidOut: CBOND });
      assert.deepEqual(events(tx.market, "Credited")[0].kind, CREDIT.ChallengeBondReturn);
      assert.equal(await w.market.read.balanceOf([w.challenger.account.address]), CBOND);
      assert.equal((await w.market.read.challengeOf([1n])).status, CHALLENGE.Expired);
      await revertWithCustomError(w.market.write.resolveChallenge([1n, true], { account: w.arbiter.account }), w.market, "ChallengeNotOpen");
      await revertWithCustomError(w.market.write.expireChallenge([1n]), w.market, "ChallengeNotOpen");
      await revertWithCustomErrorWithArgs(w.market.write.expireChallenge([9n]), w.market, "ChallengeNotFound", [9n]);
    });
  });

  describe("releaseBond", () => {
    it("reverts: JobNotFound, NotAWorker, WorkerStillActive while the job runs", async () => {
      const { w, jobId, a, d } = await load();
      await revertWithCustomErrorWithArgs(w.market.write.releaseBond([77n, a.address]), w.market, "JobNotFound", [77n]);
      await revertWithCustomErrorWithArgs(w.market.write.releaseBond([jobId, d.address]), w.market, "NotAWorker", [jobId, d.address]);
      await revertWithCustomErrorWithArgs(w.market.write.releaseBond([jobId, a.address]), w.market, "WorkerStillActive", [jobId, a.address]);
    });

    it("after the job ended: BondLockedUntil(endedAt + challengeWindow) inclusive, then anyone releases it once", async () => {
      const { w, jobId, a, b, c, L } = await load();
      await w.playRound(jobId, 1, [a, b, c]);
      await w.playRound(jobId, 2, [a, b, c]);
      const s = await w.job(jobId);
      assert.equal(s.status, JOB.Completed);
      const until = s.endedAt + DAY;
      await networkHelpers.time.setNextBlockTimestamp(until);
      await revertWithCustomErrorWithArgs(w.market.write.releaseBond([jobId, a.address]), w.market, "BondLockedUntil", [until]);
      await networkHelpers.time.setNextBlockTimestamp(until + 1n);
      const tx = await L(() => w.market.write.releaseBond([jobId, a.address], { account: w.challenger.account }));
      assert.deepEqual(events(tx.market, "BondReleased")[0], { jobId, worker: getAddress(a.address), amount: BOND });
      assert.deepEqual(events(tx.registry, "BondReleased")[0], { provider: getAddress(a.address), market: getAddress(w.market.address), amount: BOND, totalBonded: 0n });
      assert.equal(await w.registry.read.freeStakeOf([a.address]), 1_000n * E18);
      await revertWithCustomErrorWithArgs(w.market.write.releaseBond([jobId, a.address]), w.market, "BondAlreadyReleased", [jobId, a.address]);
      // works while paused
      await w.market.write.pause({ account: w.deployer.account });
      await w.market.write.releaseBond([jobId, b.address]);
      assert.equal((await w.market.read.workerSlot([jobId, b.address])).bondReleased, true);
    });

    it("a removed worker's remaining bond is released challengeWindow after its removal, while the job still runs", async () => {
      const { w, jobId, a, b, L } = await load();
      await commit(w, a, jobId, 1);
      await commit(w, b, jobId, 1);
      await w.pastCommit(jobId);
      await vote(w, a, jobId, 1, modelHashFor(jobId, 1), 0b011);
      await vote(w, b, jobId, 1, modelHashFor(jobId, 1), 0b011);
      const c = w.providers[2];
      const slot = await w.market.read.workerSlot([jobId, c.address]);
      assert.equal(slot.active, false);
      assert.equal((await w.job(jobId)).status, JOB.Running);
      await networkHelpers.time.setNextBlockTimestamp(slot.removedAt + DAY);
      await revertWithCustomErrorWithArgs(w.market.write.releaseBond([jobId, c.address]), w.market, "BondLockedUntil", [slot.removedAt + DAY]);
      await networkHelpers.time.setNextBlockTimestamp(slot.removedAt + DAY + 1n);
      const tx = await L(() => w.market.write.releaseBond([jobId, c.address]));
      assert.equal(events(tx.market, "BondReleased")[0].amount, BOND - (BOND * 2_000n) / 10_000n);
      assert.equal((await w.registry.read.providerOf([c.address])).bonded, 0n);
    });

    it("BondHasOpenChallenges while a challenge is open; released after it is settled", async () => {
      const { w, jobId, a, b, c, challenge, L } = await load();
      await w.playRound(jobId, 1, [a, b, c]);
      await challenge(a.address, 1);
      await w.playRound(jobId, 2, [a, b, c]);
      await networkHelpers.time.increase(DAY + 1n);
      await revertWithCustomErrorWithArgs(w.market.write.releaseBond([jobId, a.address]), w.market, "BondHasOpenChallenges", [jobId, a.address, 1]);
      await L(() => w.market.write.resolveChallenge([1n, false], { account: w.arbiter.account }));
      await L(() => w.market.write.releaseBond([jobId, a.address]));
      assert.equal((await w.registry.read.providerOf([a.address])).bonded, 0n);
    });
  });
});
