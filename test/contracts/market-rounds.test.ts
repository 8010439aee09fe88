import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, keccak256, toHex, zeroHash, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { commit, E18, modelHashFor, traceFor, updateHashFor, vote, type Conn } from "../helpers/market.ts";
import { encodeLoss, signRoundUpdate } from "../../shared/eip712.ts";
import { CREDIT, JOB, PENALTY, ROUND, world } from "../helpers/contract-fixtures.ts";
import { assertMarketSolvent, assertRegistrySolvent, assertSameAddress, decode, events, ledger } from "../helpers/contract-asserts.ts";

const REWARD = 10n * E18;
const FEE = (REWARD * 200n) / 10_000n;
const BOND = 50n * E18;
const PENALTY_AMT = (BOND * 2_000n) / 10_000n; // 10 tokens
const OTHER: Hex = keccak256(toHex("another model"));

describe("TrainingMarket: rounds", async () => {
  const conn = (await network.create()) as unknown as Conn;
  const { viem, networkHelpers } = conn;
  const { revertWithCustomError, revertWithCustomErrorWithArgs, emitWithArgs } = viem.assertions;

  /** A running 3-worker, 3-round job (min 2, quorum 6666, penalty 20%) in round 0; workers a, b, c. */
  async function running() {
    const w = await networkHelpers.loadFixture(bare);
    const jobId = await w.runningJob();
    const [a, b, c, d] = w.providers;
    return { w, jobId, a, b, c, d, L: ledger(w) };
  }
  const load = () => networkHelpers.loadFixture(running);
  const bare = () => world(conn, 4);

  describe("commitUpdate", () => {
    it("records the commitment (UpdateCommitted); the last active commit opens voting early (VotingStarted)", async () => {
      const { w, jobId, a, b, c } = await load();
      const hash = updateHashFor(jobId, 0, a.address);
      await emitWithArgs(commit(w, a, jobId, 0, 2.5), w.market, "UpdateCommitted", [jobId, 0, a.address, hash, traceFor(jobId, 0, a.address).root, encodeLoss(2.5)]);
      let rd = await w.round(jobId, 0);
      assert.equal(rd.committedMask, 0b001);
      assert.equal(rd.voteDeadline, 0n);
      const tx = await commit(w, b, jobId, 0, 1.25);
      const rcpt = await w.publicClient.waitForTransactionReceipt({ hash: tx });
      assert.deepEqual(decode(w.market, rcpt.logs).map((l) => l.eventName), ["UpdateCommitted"], "no VotingStarted before everyone committed");
      await emitWithArgs(commit(w, c, jobId, 0), w.market, "VotingStarted", [jobId, 0, 0b111, (v: bigint) => v > 0n]);
      rd = await w.round(jobId, 0);
      assert.equal(rd.committedMask, 0b111);
      assert.equal(rd.voteDeadline, BigInt(await networkHelpers.time.latest()) + 300n);
      assert.equal(rd.status, ROUND.Active);
    });

    it("is open until the commit deadline inclusive, then CommitPhaseClosed", async () => {
      const { w, jobId, a, b } = await load();
      const rd = await w.round(jobId, 0);
      await networkHelpers.time.setNextBlockTimestamp(rd.commitDeadline);
      await commit(w, a, jobId, 0);
      await revertWithCustomErrorWithArgs(commit(w, b, jobId, 0), w.market, "CommitPhaseClosed", [jobId, 0]);
    });

    it("CommitPhaseClosed once voting opened early, AlreadyCommitted on a second commit", async () => {
      const { w, jobId, a, b, c } = await load();
      await commit(w, a, jobId, 0);
      await revertWithCustomErrorWithArgs(commit(w, a, jobId, 0, 1, keccak256(toHex("again"))), w.market, "AlreadyCommitted", [jobId, 0, a.address]);
      await commit(w, b, jobId, 0);
      await commit(w, c, jobId, 0);
      await revertWithCustomErrorWithArgs(commit(w, a, jobId, 0, 1, keccak256(toHex("late"))), w.market, "CommitPhaseClosed", [jobId, 0]);
    });

  });

  describe("submitResult", () => {


    it("a dissenting voter is penalised (Dissent), not paid and stays in the job", async () => {
      const { w, jobId, a, b, c, L } = await load();
      for (const p of [a, b, c]) await commit(w, p, jobId, 0);
      await vote(w, c, jobId, 0, OTHER, 0b111);
      await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b111);
      const tx = await L(() => vote(w, b, jobId, 0, modelHashFor(jobId, 0), 0b111));
      assert.equal(events(tx.market, "RoundFinalized")[0].rewardedMask, 0b011);
      assert.equal(events(tx.market, "RoundFinalized")[0].totalPaid, 2n * (REWARD + FEE));
      assert.deepEqual(events(tx.market, "WorkerPenalized"), [{ jobId, round: 0, worker: getAddress(c.address), reason: PENALTY.Dissent, amount: PENALTY_AMT }]);
      assert.equal(events(tx.market, "WorkerRemoved").length, 0);
      const slash = events(tx.market, "Credited").find((e) => e.kind === CREDIT.SlashProceeds)!;
      assertSameAddress(slash.account, w.poster.account.address);
      assert.equal(slash.amount, PENALTY_AMT);
      assert.equal(await w.market.read.balanceOf([c.address]), 0n);
      const slot = await w.market.read.workerSlot([jobId, c.address]);
      assert.equal(slot.active, true);
      assert.equal(slot.bond, BOND - PENALTY_AMT);
      const rec = await w.registry.read.providerOf([c.address]);
      assert.equal(rec.stake, 1_000n * E18 - PENALTY_AMT);
      assert.equal(rec.bonded, BOND - PENALTY_AMT);
      assert.equal((await w.job(jobId)).activeMask, 0b111);
    });

    it("a committed update left out of the agreed mask is penalised (Excluded), not paid, and stays", async () => {
      const { w, jobId, a, b, c, L } = await load();
      for (const p of [a, b, c]) await commit(w, p, jobId, 0);
      await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b011);
      const tx = await L(() => vote(w, b, jobId, 0, modelHashFor(jobId, 0), 0b011));
      const fin = events(tx.market, "RoundFinalized")[0];
      assert.equal(fin.includedMask, 0b011);
      assert.equal(fin.rewardedMask, 0b011);
      assert.deepEqual(events(tx.market, "WorkerPenalized"), [{ jobId, round: 0, worker: getAddress(c.address), reason: PENALTY.Excluded, amount: PENALTY_AMT }]);
      assert.equal(events(tx.market, "WorkerRemoved").length, 0);
      assert.equal((await w.market.read.workerSlot([jobId, c.address])).active, true);
    });

    it("an absent worker is penalised and removed (Absent) when the others finalize after the commit deadline", async () => {
      const { w, jobId, a, b, c, L } = await load();
      await commit(w, a, jobId, 0);
      await commit(w, b, jobId, 0);
      await revertWithCustomErrorWithArgs(vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b011), w.market, "CommitPhaseOpen", [jobId, 0]);
      await w.pastCommit(jobId);
      await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b011);
      // quorum is over committed workers: 1 of 2 (50%) is not enough at 66.66%
      assert.equal((await w.job(jobId)).currentRound, 0);
      const tx = await L(() => vote(w, b, jobId, 0, modelHashFor(jobId, 0), 0b011));
      assert.deepEqual(events(tx.market, "WorkerPenalized"), [{ jobId, round: 0, worker: getAddress(c.address), reason: PENALTY.Absent, amount: PENALTY_AMT }]);
      assert.deepEqual(events(tx.market, "WorkerRemoved"), [{ jobId, worker: getAddress(c.address), reason: PENALTY.Absent }]);
      const slot = await w.market.read.workerSlot([jobId, c.address]);
      assert.equal(slot.active, false);
      assert.equal(slot.removedAt, BigInt(await networkHelpers.time.latest()));
      const s = await w.job(jobId);
      assert.equal(s.activeMask, 0b011);
      assert.equal(s.status, JOB.Running);
      assert.equal(s.currentRound, 1);
      await revertWithCustomErrorWithArgs(commit(w, c, jobId, 1), w.market, "NotActiveWorker", [jobId, c.address]);
      // two workers carry on; every commit of the active set opens voting early
      await commit(w, a, jobId, 1);
      await emitWithArgs(commit(w, b, jobId, 1), w.market, "VotingStarted", [jobId, 1, 0b011, (v: bigint) => v > 0n]);
    });

    it("a job that drops below minWorkers after a finalized round fails and refunds the rest", async () => {
      const w = await networkHelpers.loadFixture(bare);
      const [a, b, c] = w.providers;
      const jobId = await w.runningJob({ minWorkers: 3 });
      await commit(w, a, jobId, 0);
      await commit(w, b, jobId, 0);
      await w.pastCommit(jobId);
      await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b011);
      const tx = await ledger(w)(() => vote(w, b, jobId, 0, modelHashFor(jobId, 0), 0b011));
      const remaining = 3n * 3n * (REWARD + FEE) - 2n * (REWARD + FEE);
      assert.deepEqual(events(tx.market, "JobFailed")[0], { jobId, round: 0, refund: remaining });
      assert.equal(events(tx.market, "RoundFinalized").length, 1, "the round itself was finalized and paid");
      assert.equal((await w.job(jobId)).status, JOB.Failed);
      assert.equal((await w.round(jobId, 0)).status, ROUND.Finalized);
      void c;
    });

    it("the last round with an absentee completes and refunds its unpaid share", async () => {
      const w = await networkHelpers.loadFixture(bare);
      const [a, b] = w.providers;
      const jobId = await w.runningJob({ rounds: 1 });
      await commit(w, a, jobId, 0);
      await commit(w, b, jobId, 0);
      await w.pastCommit(jobId);
      await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b011);
      const tx = await ledger(w)(() => vote(w, b, jobId, 0, modelHashFor(jobId, 0), 0b011));
      assert.deepEqual(events(tx.market, "JobCompleted")[0], { jobId, finalModelHash: modelHashFor(jobId, 0), refund: REWARD + FEE });
      assert.equal(await w.market.read.balanceOf([w.poster.account.address]), REWARD + FEE + PENALTY_AMT);
    });

    it("quorum 100% needs every committed worker; penalty 0 slashes nothing but still removes absentees", async () => {
      const w = await networkHelpers.loadFixture(bare);
      const [a, b, c] = w.providers;
      const jobId = await w.runningJob({ quorumBps: 10_000, penaltyBps: 0 });
      for (const p of [a, b, c]) await commit(w, p, jobId, 0);
      await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b111);
      await vote(w, b, jobId, 0, modelHashFor(jobId, 0), 0b111);
      assert.equal((await w.job(jobId)).currentRound, 0);
      const tx = await ledger(w)(() => vote(w, c, jobId, 0, modelHashFor(jobId, 0), 0b111));
      assert.equal(events(tx.market, "RoundFinalized").length, 1);
      await commit(w, a, jobId, 1);
      await commit(w, b, jobId, 1);
      await w.pastCommit(jobId);
      await vote(w, a, jobId, 1, modelHashFor(jobId, 1), 0b011);
      const tx2 = await ledger(w)(() => vote(w, b, jobId, 1, modelHashFor(jobId, 1), 0b011));
      assert.equal(events(tx2.market, "WorkerPenalized").length, 0);
      assert.equal(events(tx2.market, "WorkerRemoved").length, 1);
      assert.equal((await w.registry.read.providerOf([c.address])).stake, 1_000n * E18);
    });


    it("vote window: open until commitDeadline + voteWindow inclusive when voting did not start early, then VoteWindowClosed", async () => {
      const { w, jobId, a, b } = await load();
      await commit(w, a, jobId, 0);
      await commit(w, b, jobId, 0);
      const rd = await w.round(jobId, 0);
      await networkHelpers.time.setNextBlockTimestamp(rd.commitDeadline + 300n);
      await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b011);
      await revertWithCustomErrorWithArgs(vote(w, b, jobId, 0, modelHashFor(jobId, 0), 0b011), w.market, "VoteWindowClosed", [jobId, 0]);
    });

    it("vote window: after an early start it closes at voteDeadline (VoteWindowClosed)", async () => {
      const { w, jobId, a, b, c } = await load();
      for (const p of [a, b, c]) await commit(w, p, jobId, 0);
      const rd = await w.round(jobId, 0);
      await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b111);
      await networkHelpers.time.increaseTo(rd.voteDeadline);
      await revertWithCustomErrorWithArgs(vote(w, b, jobId, 0, modelHashFor(jobId, 0), 0b111), w.market, "VoteWindowClosed", [jobId, 0]);
    });

    it("reverts: NotCommitted, AlreadyVoted, ZeroHash, InvalidIncludedMask, InvalidSignature, WrongRound, NotActiveWorker, JobNotFound, EnforcedPause", async () => {
      const { w, jobId, a, b, c, d } = await load();
      await commit(w, a, jobId, 0);
      await commit(w, b, jobId, 0);
      await w.pastCommit(jobId);
      const m = modelHashFor(jobId, 0);
      await revertWithCustomErrorWithArgs(vote(w, c, jobId, 0, m, 0b011), w.market, "NotCommitted", [jobId, 0, c.address]);
      await revertWithCustomErrorWithArgs(vote(w, a, jobId, 0, m, 0), w.market, "InvalidIncludedMask", [0, 0b011]);
      await revertWithCustomErrorWithArgs(vote(w, a, jobId, 0, m, 0b111), w.market, "InvalidIncludedMask", [0b111, 0b011]);
      await revertWithCustomErrorWithArgs(vote(w, a, jobId, 0, m, 2 ** 31), w.market, "InvalidIncludedMask", [2 ** 31, 0b011]);
      await revertWithCustomError(vote(w, a, jobId, 0, zeroHash, 0b011), w.market, "ZeroHash");
      await revertWithCustomErrorWithArgs(vote(w, a, jobId, 1, m, 0b011), w.market, "WrongRound", [1, 0]);
      await revertWithCustomErrorWithArgs(vote(w, d, jobId, 0, m, 0b011), w.market, "NotActiveWorker", [jobId, d.address]);
      await revertWithCustomErrorWithArgs(vote(w, a, 77n, 0, m, 0b011), w.market, "JobNotFound", [77n]);
      await vote(w, a, jobId, 0, OTHER, 0b011);
      await revertWithCustomErrorWithArgs(vote(w, a, jobId, 0, m, 0b011), w.market, "AlreadyVoted", [jobId, 0, a.address]);
      await w.market.write.pause({ account: w.deployer.account });
      await revertWithCustomError(vote(w, b, jobId, 0, m, 0b011), w.market, "EnforcedPause");
    });

    it("JobNotRunning before the job started", async () => {
      const { w, a } = await load();
      const open = await w.newJob();
      await revertWithCustomErrorWithArgs(vote(w, a, open, 0, modelHashFor(open, 0), 1), w.market, "JobNotRunning", [open]);
    });
  });

  describe("expireRound on a running job", () => {
    it("RoundNotExpired during the commit phase and the vote window", async () => {
      const { w, jobId, a, b } = await load();
      await revertWithCustomErrorWithArgs(w.market.write.expireRound([jobId]), w.market, "RoundNotExpired", [jobId, 0]);
      await commit(w, a, jobId, 0);
      await w.pastCommit(jobId);
      await revertWithCustomErrorWithArgs(w.market.write.expireRound([jobId]), w.market, "RoundNotExpired", [jobId, 0]);
      const rd = await w.round(jobId, 0);
      await networkHelpers.time.setNextBlockTimestamp(rd.commitDeadline + 300n);
      await revertWithCustomErrorWithArgs(w.market.write.expireRound([jobId]), w.market, "RoundNotExpired", [jobId, 0]);
      void b;
    });

    it("nobody committed: every worker is penalised and removed, and the job fails with the escrow refunded", async () => {
      const { w, jobId, a, b, c, L } = await load();
      await w.pastCommit(jobId);
      const tx = await L(() => w.market.write.expireRound([jobId], { account: w.challenger.account }));
      assert.deepEqual(events(tx.market, "RoundExpired")[0], { jobId, round: 0, committedMask: 0, votedMask: 0 });
      assert.equal(events(tx.market, "WorkerPenalized").length, 3);
      assert.deepEqual(
        events(tx.market, "WorkerRemoved").map((e) => getAddress(e.worker)),
        [a, b, c].map((p) => getAddress(p.address)),
      );
      assert.deepEqual(events(tx.market, "JobFailed")[0], { jobId, round: 0, refund: 3n * 3n * (REWARD + FEE) });
      assert.equal((await w.round(jobId, 0)).status, ROUND.Expired);
      assert.equal((await w.job(jobId)).status, JOB.Failed);
      assert.equal(await w.market.read.balanceOf([w.poster.account.address]), 3n * 3n * (REWARD + FEE) + 3n * PENALTY_AMT);
    });


    it("partial commits and no votes: absentees removed and penalised, the job continues with the rest", async () => {
      const { w, jobId, a, b, c, L } = await load();
      await commit(w, a, jobId, 0);
      await commit(w, b, jobId, 0);
      await w.pastVote(jobId);
      const tx = await L(() => w.market.write.expireRound([jobId]));
      assert.deepEqual(events(tx.market, "WorkerRemoved"), [{ jobId, worker: getAddress(c.address), reason: PENALTY.Absent }]);
      assert.equal(events(tx.market, "RoundExpired")[0].committedMask, 0b011);
      assert.equal((await w.job(jobId)).status, JOB.Running);
      assert.equal((await w.job(jobId)).currentRound, 1);
    });

    it("the last round expiring fails the job; fewer than minWorkers left fails it too", async () => {
      const w = await networkHelpers.loadFixture(bare);
      const [a, b, c] = w.providers;
      const last = await w.runningJob({ rounds: 1 });
      for (const p of [a, b, c]) await commit(w, p, last, 0);
      await w.pastVote(last);
      const tx = await ledger(w)(() => w.market.write.expireRound([last]));
      assert.deepEqual(events(tx.market, "JobFailed")[0], { jobId: last, round: 0, refund: 3n * (REWARD + FEE) });
      assert.equal((await w.job(last)).status, JOB.Failed);
      assert.equal((await w.round(last, 0)).status, ROUND.Expired);
      await revertWithCustomErrorWithArgs(w.market.write.expireRound([last]), w.market, "JobNotRunning", [last]);

      const few = await w.runningJob({ minWorkers: 3 }, [a, b, c]);
      await commit(w, a, few, 0);
      await commit(w, b, few, 0);
      await w.pastVote(few);
      const tx2 = await ledger(w)(() => w.market.write.expireRound([few]));
      assert.equal(events(tx2.market, "JobFailed").length, 1);
      assert.equal((await w.job(few)).status, JOB.Failed);
      await assertMarketSolvent(w);
      await assertRegistrySolvent(w);
    });

    it("reverts: JobNotFound, EnforcedPause", async () => {
      const { w, jobId } = await load();
      await revertWithCustomErrorWithArgs(w.market.write.expireRound([123n]), w.market, "JobNotFound", [123n]);
      await w.pastCommit(jobId);
      await w.market.write.pause({ account: w.deployer.account });
      await revertWithCustomError(w.market.write.expireRound([jobId]), w.market, "EnforcedPause");
    });
  });
});
