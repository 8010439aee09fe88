import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, keccak256, parseSignature, toHex, zeroAddress, zeroHash, type Hex } from "viem";
import { EIP712_NAME, EIP712_VERSION, roundResultTypes, roundUpdateTypes } from "../../shared/eip712.ts";
import { commit, E18, fund, type Conn } from "../helpers/market.ts";
import { CREDIT, JOB, ROUND, world, type Wallet, type World } from "../helpers/contract-fixtures.ts";
import { assertMarketSolvent, assertRegistrySolvent, assertSameAddress, events, ledger } from "../helpers/contract-asserts.ts";
import type { JobParams } from "../../shared/types.ts";

const REWARD = 10n * E18;
const FEE = (REWARD * 200n) / 10_000n;
const BOND = 50n * E18;

describe("TrainingMarket: job lifecycle", async () => {
  const conn = (await network.create()) as unknown as Conn;
  const { viem, networkHelpers } = conn;
  const { revertWithCustomError, revertWithCustomErrorWithArgs, emitWithArgs } = viem.assertions;

  const base = () => world(conn, 4);
  const load = () => networkHelpers.loadFixture(base);

  /** An open job (3 slots, min 2) with no worker yet. */
  async function openJobFixture() {
    const w = await base();
    const jobId = await w.newJob();
    return { w, jobId };
  }
  /** A running job (3 workers, 3 rounds) in round 0. */
  async function runningFixture() {
    const w = await base();
    const jobId = await w.runningJob();
    return { w, jobId };
  }

  describe("createJob", () => {
    it("pulls rounds × maxWorkers × (reward + fee), stores params and state, emits JobCreated", async () => {
      const w = await load();
      const p = w.params();
      const [escrow, fee] = await w.market.read.escrowFor([p.rewardPerRound, p.rounds, p.maxWorkers]);
      assert.equal(fee, FEE);
      assert.equal(escrow, 3n * 3n * (REWARD + FEE));
      await fund(w, w.poster, escrow, w.market.address);
      const L = ledger(w);
      const tx = await L(() => w.market.write.createJob([p], { account: w.poster.account }));
      const created = events(tx.market, "JobCreated")[0];
      assert.equal(created.jobId, 1n);
      assertSameAddress(created.poster, w.poster.account.address);
      assertSameAddress(created.arbiter, w.arbiter.account.address);
      assert.deepEqual(created.params, p);
      assert.equal(created.escrow, escrow);
      assert.equal(created.feePerReward, FEE);
      const now = BigInt(await networkHelpers.time.latest());
      assert.equal(created.joinDeadline, now + BigInt(p.joinWindow));
      assert.equal(await w.market.read.jobCount(), 1n);
      assert.deepEqual(await w.market.read.jobParams([1n]), p);
      const s = await w.job(1n);
      assertSameAddress(s.poster, w.poster.account.address);
      assert.equal(s.status, JOB.Open);
      assert.equal(s.workerCount, 0);
      assert.equal(s.activeMask, 0);
      assert.equal(s.currentRound, 0);
      assert.equal(s.createdAt, now);
      assert.equal(s.endedAt, 0n);
      assert.equal(s.feePerReward, FEE);
      assert.equal(s.escrow, escrow);
      assert.equal(s.modelHash, p.initialModelHash);
      assert.equal(await w.tokenBalance(w.market.address), escrow);
      assert.equal(await w.tokenBalance(w.poster.account.address), 0n);
    });

    it("ids count up from 1 and each job keeps its own escrow", async () => {
      const w = await load();
      const a = await w.newJob();
      const b = await w.newJob({ rounds: 1, maxWorkers: 1, minWorkers: 1 });
      assert.equal(a, 1n);
      assert.equal(b, 2n);
      assert.equal((await w.job(b)).escrow, REWARD + FEE);
      await assertMarketSolvent(w);
    });

    it("rejects every invalid parameter with its own error", async () => {
      const w = await load();
      await fund(w, w.poster, 10n ** 30n, w.market.address);
      const create = (o: Partial<JobParams>) => w.market.write.createJob([w.params(o)], { account: w.poster.account });
      const m = w.market;
      await revertWithCustomErrorWithArgs(create({ maxWorkers: 0, minWorkers: 0 }), m, "InvalidWorkerCount", [0, 0, 32]);
      await revertWithCustomErrorWithArgs(create({ maxWorkers: 33, minWorkers: 1 }), m, "InvalidWorkerCount", [1, 33, 32]);
      await revertWithCustomErrorWithArgs(create({ maxWorkers: 3, minWorkers: 0 }), m, "InvalidWorkerCount", [0, 3, 32]);
      await revertWithCustomErrorWithArgs(create({ maxWorkers: 3, minWorkers: 4 }), m, "InvalidWorkerCount", [4, 3, 32]);
      await revertWithCustomErrorWithArgs(create({ rounds: 0 }), m, "InvalidRounds", [0]);
      await revertWithCustomErrorWithArgs(create({ rounds: 1_000_001 }), m, "InvalidRounds", [1_000_001]);
      await revertWithCustomError(create({ rewardPerRound: 0n }), m, "ZeroReward");
      await revertWithCustomError(create({ workerBond: 0n }), m, "ZeroBond");
      await revertWithCustomError(create({ challengeBond: 0n }), m, "ZeroBond");
      await revertWithCustomError(create({ specHash: zeroHash }), m, "ZeroHash");
      await revertWithCustomError(create({ initialModelHash: zeroHash }), m, "ZeroHash");
      await revertWithCustomError(create({ arbiter: zeroAddress }), m, "ZeroAddress");
      await revertWithCustomErrorWithArgs(create({ quorumBps: 5_000 }), m, "InvalidQuorum", [5_000]);
      await revertWithCustomErrorWithArgs(create({ quorumBps: 10_001 }), m, "InvalidQuorum", [10_001]);
      await revertWithCustomErrorWithArgs(create({ penaltyBps: 10_001 }), m, "InvalidPenalty", [10_001]);
      for (const key of ["joinWindow", "commitWindow", "voteWindow", "challengeWindow"] as const) {
        await revertWithCustomErrorWithArgs(create({ [key]: 9 }), m, "InvalidWindow", [9]);
        await revertWithCustomErrorWithArgs(create({ [key]: 30 * 86_400 + 1 }), m, "InvalidWindow", [30 * 86_400 + 1]);
      }
      assert.equal(await m.read.jobCount(), 0n);
    });

    it("accepts the boundary values (32 workers, quorum 5001 and 10000, penalty 0 and 10000, windows 10 s and 30 days)", async () => {
      const w = await load();
      await fund(w, w.poster, 10n ** 30n, w.market.address);
      const ok: Partial<JobParams>[] = [
        { maxWorkers: 32, minWorkers: 32 },
        { maxWorkers: 1, minWorkers: 1, rounds: 1 },
        { quorumBps: 5_001, penaltyBps: 0 },
        { quorumBps: 10_000, penaltyBps: 10_000 },
        { joinWindow: 10, commitWindow: 10, voteWindow: 10, challengeWindow: 10 },
        { joinWindow: 30 * 86_400, commitWindow: 30 * 86_400, voteWindow: 30 * 86_400, challengeWindow: 30 * 86_400 },
        { rounds: 1_000_000, rewardPerRound: 1n },
      ];
      for (const o of ok) await w.market.write.createJob([w.params(o)], { account: w.poster.account });
      assert.equal(await w.market.read.jobCount(), BigInt(ok.length));
      await assertMarketSolvent(w);
    });

    it("reverts without allowance (token's ERC20InsufficientAllowance) and while paused (EnforcedPause)", async () => {
      const w = await load();
      const p = w.params();
      await w.token.write.mint([w.poster.account.address, 10n ** 24n], { account: w.deployer.account });
      await revertWithCustomError(w.market.write.createJob([p], { account: w.poster.account }), w.token, "ERC20InsufficientAllowance");
      await w.token.write.approve([w.market.address, 10n ** 24n], { account: w.poster.account });
      await w.market.write.pause({ account: w.deployer.account });
      await revertWithCustomError(w.market.write.createJob([p], { account: w.poster.account }), w.market, "EnforcedPause");
    });
  });

  describe("createJobWithPermit", () => {
    async function signPermit(w: World, owner: Wallet, value: bigint, deadline: bigint) {
      const nonce = await w.token.read.nonces([owner.account.address]);
      const signature: Hex = await owner.signTypedData({
        account: owner.account,
        domain: { name: "Training Credit", version: "1", chainId: w.chainId, verifyingContract: w.token.address },
        types: {
          Permit: [
            { name: "owner", type: "address" },
            { name: "spender", type: "address" },
            { name: "value", type: "uint256" },
            { name: "nonce", type: "uint256" },
            { name: "deadline", type: "uint256" },
          ],
        },
        primaryType: "Permit",
        message: { owner: owner.account.address, spender: w.market.address, value, nonce, deadline },
      });
      const { r, s, v, yParity } = parseSignature(signature);
      return { r, s, v: Number(v ?? BigInt(27 + yParity)) };
    }

    it("creates the job with a real EIP-2612 permit and no prior approval", async () => {
      const w = await load();
      const p = w.params();
      const [escrow] = await w.market.read.escrowFor([p.rewardPerRound, p.rounds, p.maxWorkers]);
      await w.token.write.mint([w.poster.account.address, escrow], { account: w.deployer.account });
      const deadline = BigInt(await networkHelpers.time.latest()) + 3_600n;
      const { v, r, s } = await signPermit(w, w.poster, escrow, deadline);
      const L = ledger(w);
      const tx = await L(() => w.market.write.createJobWithPermit([p, deadline, v, r, s], { account: w.poster.account }));
      assert.equal(events(tx.market, "JobCreated").length, 1);
      assert.equal((await w.job(1n)).escrow, escrow);
      assert.equal(await w.token.read.nonces([w.poster.account.address]), 1n);
      assert.equal(await w.token.read.allowance([w.poster.account.address, w.market.address]), 0n);
      assert.equal(await w.tokenBalance(w.poster.account.address), 0n);
    });

    it("a front-run permit is ignored and the allowance it set is used", async () => {
      const w = await load();
      const p = w.params();
      const [escrow] = await w.market.read.escrowFor([p.rewardPerRound, p.rounds, p.maxWorkers]);
      await w.token.write.mint([w.poster.account.address, escrow], { account: w.deployer.account });
      const deadline = BigInt(await networkHelpers.time.latest()) + 3_600n;
      const { v, r, s } = await signPermit(w, w.poster, escrow, deadline);
      // someone else submits the permit first
      await w.token.write.permit([w.poster.account.address, w.market.address, escrow, deadline, v, r, s], { account: w.challenger.account });
      await w.market.write.createJobWithPermit([p, deadline, v, r, s], { account: w.poster.account });
      assert.equal((await w.job(1n)).status, JOB.Open);
    });

    it("an invalid or expired permit without allowance reverts in the transfer (ERC20InsufficientAllowance); paused → EnforcedPause", async () => {
      const w = await load();
      const p = w.params();
      const [escrow] = await w.market.read.escrowFor([p.rewardPerRound, p.rounds, p.maxWorkers]);
      await w.token.write.mint([w.poster.account.address, escrow], { account: w.deployer.account });
      const now = BigInt(await networkHelpers.time.latest());
      const expired = await signPermit(w, w.poster, escrow, now - 1n);
      await revertWithCustomError(
        w.market.write.createJobWithPermit([p, now - 1n, expired.v, expired.r, expired.s], { account: w.poster.account }),
        w.token,
        "ERC20InsufficientAllowance",
      );
      // a permit for too small a value does not match the escrow the market asks for
      const small = await signPermit(w, w.poster, escrow - 1n, now + 3_600n);
      await revertWithCustomError(
        w.market.write.createJobWithPermit([p, now + 3_600n, small.v, small.r, small.s], { account: w.poster.account }),
        w.token,
        "ERC20InsufficientAllowance",
      );
      // somebody else's permit cannot pay for the caller's job
      const good = await signPermit(w, w.poster, escrow, now + 3_600n);
      await revertWithCustomError(
        w.market.write.createJobWithPermit([p, now + 3_600n, good.v, good.r, good.s], { account: w.challenger.account }),
        w.token,
        "ERC20InsufficientAllowance",
      );
      await w.market.write.pause({ account: w.deployer.account });
      await revertWithCustomError(
        w.market.write.createJobWithPermit([p, now + 3_600n, good.v, good.r, good.s], { account: w.poster.account }),
        w.market,
        "EnforcedPause",
      );
    });
  });

  describe("joinJob", () => {
    it("bonds the worker's stake, records its slot and emits WorkerJoined", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      const [a] = w.providers;
      const L = ledger(w);
      const tx = await L(() => w.market.write.joinJob([jobId], { account: a.wallet.account }));
      const joined = events(tx.market, "WorkerJoined")[0];
      assert.equal(joined.jobId, jobId);
      assertSameAddress(joined.worker, a.address);
      assert.equal(joined.index, 0);
      assert.equal(joined.bond, BOND);
      const slot = await w.market.read.workerSlot([jobId, a.address]);
      assert.deepEqual(slot, { index: 0, joined: true, active: true, bondReleased: false, openChallenges: 0, removedAt: 0n, bond: BOND });
      assert.deepEqual((await w.market.read.workersOf([jobId])).map(getAddress), [getAddress(a.address)]);
      const s = await w.job(jobId);
      assert.equal(s.workerCount, 1);
      assert.equal(s.activeMask, 1);
      assert.equal(s.status, JOB.Open);
      assert.equal((await w.registry.read.providerOf([a.address])).bonded, BOND);
      assert.equal(await w.registry.read.freeStakeOf([a.address]), 1_000n * E18 - BOND);
    });

    it("starts the job when the last slot fills: JobStarted with nothing refunded, then RoundStarted for round 0", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      const [a, b, c] = w.providers;
      await w.market.write.joinJob([jobId], { account: a.wallet.account });
      await w.market.write.joinJob([jobId], { account: b.wallet.account });
      const escrow = (await w.job(jobId)).escrow;
      const hash = w.market.write.joinJob([jobId], { account: c.wallet.account });
      await emitWithArgs(hash, w.market, "JobStarted", [jobId, 3, 0n, escrow]);
      const now = BigInt(await networkHelpers.time.latest());
      const p = w.params();
      await emitWithArgs(Promise.resolve(await hash), w.market, "RoundStarted", [jobId, 0, p.initialModelHash, now + BigInt(p.commitWindow)]);
      const s = await w.job(jobId);
      assert.equal(s.status, JOB.Running);
      assert.equal(s.activeMask, 0b111);
      const rd = await w.round(jobId, 0);
      assert.equal(rd.status, ROUND.Active);
      assert.equal(rd.commitDeadline, now + BigInt(p.commitWindow));
      assert.equal(rd.voteDeadline, 0n);
    });

    it("is open until the join deadline inclusive, then JoinWindowClosed", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      const s = await w.job(jobId);
      const deadline = s.createdAt + 3_600n;
      await networkHelpers.time.setNextBlockTimestamp(deadline);
      await w.market.write.joinJob([jobId], { account: w.providers[0].wallet.account });
      await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: w.providers[1].wallet.account }), w.market, "JoinWindowClosed", [jobId]);
    });

    it("reverts: JobNotFound, AlreadyJoined, ProviderNotRegistered, InsufficientFreeStake (registry), JobFull", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      const [a, b, c, d] = w.providers;
      await revertWithCustomErrorWithArgs(w.market.write.joinJob([99n], { account: a.wallet.account }), w.market, "JobNotFound", [99n]);
      await revertWithCustomErrorWithArgs(w.market.write.joinJob([0n], { account: a.wallet.account }), w.market, "JobNotFound", [0n]);
      await w.market.write.joinJob([jobId], { account: a.wallet.account });
      await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: a.wallet.account }), w.market, "AlreadyJoined", [jobId, a.address]);
      await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: w.challenger.account }), w.market, "ProviderNotRegistered", [
        w.challenger.account.address,
      ]);
      // a provider whose free stake is below the bond
      await w.registry.write.requestUnbond([1_000n * E18 - BOND + 1n], { account: b.wallet.account });
      await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: b.wallet.account }), w.registry, "InsufficientFreeStake", [
        b.address,
        BOND,
        BOND - 1n,
      ]);
      await w.registry.write.cancelUnbond({ account: b.wallet.account });
      await w.market.write.joinJob([jobId], { account: b.wallet.account });
      await w.market.write.joinJob([jobId], { account: c.wallet.account });
      // the job is full (and running) now
      await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: d.wallet.account }), w.market, "JobFull", [jobId]);
    });

    it("reverts while the market (EnforcedPause) or the registry (its EnforcedPause) is paused", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      const a = w.providers[0];
      await w.registry.write.pause({ account: w.deployer.account });
      await revertWithCustomError(w.market.write.joinJob([jobId], { account: a.wallet.account }), w.registry, "EnforcedPause");
      await w.registry.write.unpause({ account: w.deployer.account });
      await w.market.write.pause({ account: w.deployer.account });
      await revertWithCustomError(w.market.write.joinJob([jobId], { account: a.wallet.account }), w.market, "EnforcedPause");
      await w.market.write.unpause({ account: w.deployer.account });
      await w.market.write.joinJob([jobId], { account: a.wallet.account });
    });
  });

  describe("startJob", () => {
    it("after the join window starts with ≥ minWorkers and refunds the unused slots to the poster", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      const [a, b] = w.providers;
      await w.market.write.joinJob([jobId], { account: a.wallet.account });
      await w.market.write.joinJob([jobId], { account: b.wallet.account });
      await w.pastJoinWindow(jobId);
      const unused = 1n * 3n * (REWARD + FEE);
      const L = ledger(w);
      const tx = await L(() => w.market.write.startJob([jobId], { account: w.challenger.account }));
      const started = events(tx.market, "JobStarted")[0];
      assert.equal(started.workerCount, 2);
      assert.equal(started.refundedUnusedSlots, unused);
      assert.equal(started.escrow, 2n * 3n * (REWARD + FEE));
      const credit = events(tx.market, "Credited")[0];
      assertSameAddress(credit.account, w.poster.account.address);
      assert.equal(credit.kind, CREDIT.Refund);
      assert.equal(credit.amount, unused);
      assert.equal(await w.market.read.balanceOf([w.poster.account.address]), unused);
      assert.equal((await w.job(jobId)).status, JOB.Running);
      assert.equal((await w.job(jobId)).activeMask, 0b11);
    });

    it("reverts: JobNotFound, JoinWindowOpen, NotEnoughWorkers, JobNotOpen, EnforcedPause", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      const start = () => w.market.write.startJob([jobId], { account: w.challenger.account });
      await revertWithCustomError(w.market.write.startJob([7n], { account: w.challenger.account }), w.market, "JobNotFound");
      await w.market.write.joinJob([jobId], { account: w.providers[0].wallet.account });
      await revertWithCustomErrorWithArgs(start(), w.market, "JoinWindowOpen", [jobId]);
      await w.pastJoinWindow(jobId);
      await revertWithCustomErrorWithArgs(start(), w.market, "NotEnoughWorkers", [1, 2]);
      const full = await w.runningJob({}, w.providers.slice(1, 4));
      await revertWithCustomErrorWithArgs(w.market.write.startJob([full], { account: w.challenger.account }), w.market, "JobNotOpen", [full]);
      await w.market.write.pause({ account: w.deployer.account });
      await revertWithCustomError(start(), w.market, "EnforcedPause");
    });
  });

  describe("expireRound on an open job", () => {
    it("JoinWindowOpen before the deadline", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      await revertWithCustomErrorWithArgs(w.market.write.expireRound([jobId]), w.market, "JoinWindowOpen", [jobId]);
    });

    it("starts the job when enough workers joined (unused slots refunded)", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      await w.market.write.joinJob([jobId], { account: w.providers[0].wallet.account });
      await w.market.write.joinJob([jobId], { account: w.providers[1].wallet.account });
      await w.pastJoinWindow(jobId);
      const tx = await ledger(w)(() => w.market.write.expireRound([jobId], { account: w.challenger.account }));
      assert.equal(events(tx.market, "JobStarted")[0].refundedUnusedSlots, 3n * (REWARD + FEE));
      assert.equal(events(tx.market, "RoundStarted").length, 1);
      assert.equal((await w.job(jobId)).status, JOB.Running);
    });

    it("fails the job with a full refund and releases the bonds when too few joined", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      const a = w.providers[0];
      await w.market.write.joinJob([jobId], { account: a.wallet.account });
      await w.pastJoinWindow(jobId);
      const escrow = (await w.job(jobId)).escrow;
      const tx = await ledger(w)(() => w.market.write.expireRound([jobId], { account: w.challenger.account }));
      assert.deepEqual(events(tx.market, "JobFailed")[0], { jobId, round: 0, refund: escrow });
      assert.deepEqual(events(tx.market, "BondReleased")[0], { jobId, worker: getAddress(a.address), amount: BOND });
      const s = await w.job(jobId);
      assert.equal(s.status, JOB.Failed);
      assert.equal(s.escrow, 0n);
      assert.equal(s.endedAt, BigInt(await networkHelpers.time.latest()));
      assert.equal((await w.round(jobId, 0)).status, ROUND.None, "no round ever started");
      assert.equal(await w.market.read.balanceOf([w.poster.account.address]), escrow);
      assert.equal((await w.registry.read.providerOf([a.address])).bonded, 0n);
      const slot = await w.market.read.workerSlot([jobId, a.address]);
      assert.equal(slot.bondReleased, true);
      await revertWithCustomErrorWithArgs(w.market.write.releaseBond([jobId, a.address]), w.market, "BondAlreadyReleased", [jobId, a.address]);
      await revertWithCustomErrorWithArgs(w.market.write.expireRound([jobId]), w.market, "JobNotRunning", [jobId]);
    });

    it("fails a job nobody joined", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      await w.pastJoinWindow(jobId);
      await emitWithArgs(w.market.write.expireRound([jobId]), w.market, "JobFailed", [jobId, 0, 3n * 3n * (REWARD + FEE)]);
    });
  });

  describe("cancelJob", () => {
    it("before start: releases every bond, refunds all escrow and emits JobCancelled(round 0, paid 0)", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      const [a, b] = w.providers;
      await w.market.write.joinJob([jobId], { account: a.wallet.account });
      await w.market.write.joinJob([jobId], { account: b.wallet.account });
      const escrow = (await w.job(jobId)).escrow;
      const tx = await ledger(w)(() => w.market.write.cancelJob([jobId], { account: w.poster.account }));
      assert.deepEqual(events(tx.market, "JobCancelled")[0], { jobId, round: 0, paidInFlight: 0n, refund: escrow });
      assert.equal(events(tx.market, "BondReleased").length, 2);
      assert.equal(events(tx.registry, "BondReleased").length, 2);
      const s = await w.job(jobId);
      assert.equal(s.status, JOB.Cancelled);
      assert.equal(s.escrow, 0n);
      assert.notEqual(s.endedAt, 0n);
      for (const p of [a, b]) assert.equal((await w.registry.read.providerOf([p.address])).bonded, 0n);
      assert.equal(await w.market.read.balanceOf([w.poster.account.address]), escrow);
      await revertWithCustomErrorWithArgs(w.market.write.cancelJob([jobId], { account: w.poster.account }), w.market, "JobAlreadyEnded", [jobId]);
      await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: w.providers[2].wallet.account }), w.market, "JobNotOpen", [jobId]);
    });

    it("while running: pays the committed workers for the round in flight, refunds the rest, keeps bonds until the challenge window ends", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(runningFixture);
      const [a, b, c] = w.providers;
      await w.playRound(jobId, 0, [a, b, c]);
      await commit(w, a, jobId, 1);
      await commit(w, c, jobId, 1);
      const escrow = (await w.job(jobId)).escrow;
      assert.equal(escrow, 2n * 3n * (REWARD + FEE));
      const L = ledger(w);
      const tx = await L(() => w.market.write.cancelJob([jobId], { account: w.poster.account }));
      const paid = 2n * (REWARD + FEE);
      assert.deepEqual(events(tx.market, "JobCancelled")[0], { jobId, round: 1, paidInFlight: paid, refund: escrow - paid });
      assert.equal(await w.market.read.balanceOf([a.address]), 2n * REWARD);
      assert.equal(await w.market.read.balanceOf([b.address]), REWARD);
      assert.equal(await w.market.read.balanceOf([c.address]), 2n * REWARD);
      assert.equal(await w.market.read.balanceOf([w.treasury.account.address]), 5n * FEE);
      assert.equal(await w.market.read.balanceOf([w.poster.account.address]), escrow - paid);
      const rd = await w.round(jobId, 1);
      assert.equal(rd.status, ROUND.Aborted);
      assert.notEqual(rd.closedAt, 0);
      const s = await w.job(jobId);
      assert.equal(s.status, JOB.Cancelled);
      assert.equal(s.escrow, 0n);
      // bonds stay slashable for the challenge window after the end
      assert.equal((await w.registry.read.providerOf([a.address])).bonded, BOND);
      await revertWithCustomError(w.market.write.releaseBond([jobId, a.address]), w.market, "BondLockedUntil");
      await networkHelpers.time.increase(86_400);
      await ledger(w)(() => w.market.write.releaseBond([jobId, a.address]));
      assert.equal((await w.registry.read.providerOf([a.address])).bonded, 0n);
      await revertWithCustomErrorWithArgs(w.market.write.cancelJob([jobId], { account: w.poster.account }), w.market, "JobAlreadyEnded", [jobId]);
    });

    it("reverts: NotPoster, JobNotFound, JobAlreadyEnded (completed job); works while paused", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(runningFixture);
      await revertWithCustomErrorWithArgs(w.market.write.cancelJob([jobId], { account: w.challenger.account }), w.market, "NotPoster", [
        jobId,
        w.challenger.account.address,
      ]);
      await revertWithCustomError(w.market.write.cancelJob([42n], { account: w.poster.account }), w.market, "JobNotFound");
      const one = await w.runningJob({ rounds: 1, maxWorkers: 1, minWorkers: 1 }, [w.providers[3]]);
      await w.playRound(one, 0, [w.providers[3]]);
      assert.equal((await w.job(one)).status, JOB.Completed);
      await revertWithCustomErrorWithArgs(w.market.write.cancelJob([one], { account: w.poster.account }), w.market, "JobAlreadyEnded", [one]);
      await w.market.write.pause({ account: w.deployer.account });
      await w.market.write.cancelJob([jobId], { account: w.poster.account });
      assert.equal((await w.job(jobId)).status, JOB.Cancelled);
      await assertMarketSolvent(w);
    });
  });

  describe("withdraw", () => {
    it("transfers the whole credited balance once (Withdrawn), then NothingToWithdraw; works while paused", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      await w.market.write.cancelJob([jobId], { account: w.poster.account });
      const owed = await w.market.read.balanceOf([w.poster.account.address]);
      assert.equal(owed, 3n * 3n * (REWARD + FEE));
      await w.market.write.pause({ account: w.deployer.account });
      const L = ledger(w);
      const tx = await L(() => w.market.write.withdraw({ account: w.poster.account }));
      assert.deepEqual(events(tx.market, "Withdrawn")[0], { account: getAddress(w.poster.account.address), amount: owed });
      assert.equal(await w.tokenBalance(w.poster.account.address), owed);
      assert.equal(await w.market.read.balanceOf([w.poster.account.address]), 0n);
      await revertWithCustomErrorWithArgs(w.market.write.withdraw({ account: w.poster.account }), w.market, "NothingToWithdraw", [w.poster.account.address]);
      await revertWithCustomError(w.market.write.withdraw({ account: w.challenger.account }), w.market, "NothingToWithdraw");
      assert.equal(await w.tokenBalance(w.market.address), 0n);
    });
  });

  describe("views", () => {
    it("escrowFor rounds the fee down; roundOf/workerSlot/workersOf/votersFor of unknown keys are empty", async () => {
      const w = await load();
      assert.deepEqual(await w.market.read.escrowFor([10_000n, 2, 3]), [2n * 3n * 10_200n, 200n]);
      assert.deepEqual(await w.market.read.escrowFor([49n, 1, 1]), [49n, 0n]);
      assert.deepEqual(await w.market.read.escrowFor([51n, 1, 1]), [52n, 1n]);
      assert.equal((await w.market.read.jobState([5n])).status, JOB.None);
      assert.equal((await w.market.read.roundOf([5n, 0])).status, ROUND.None);
      assert.deepEqual(await w.market.read.workersOf([5n]), []);
      assert.equal((await w.market.read.workerSlot([5n, w.poster.account.address])).joined, false);
      assert.equal(await w.market.read.votersFor([5n, 0, zeroHash, 1]), 0);
      assert.equal((await w.market.read.challengeOf([1n])).status, 0);
      assert.equal(await w.market.read.MAX_WORKERS(), 32);
      assert.equal(await w.market.read.MAX_ROUNDS(), 1_000_000);
      assert.equal(await w.market.read.MIN_WINDOW(), 10);
      assert.equal(await w.market.read.MAX_WINDOW(), 30 * 86_400);
      assert.equal(await w.market.read.MAX_FEE_BPS(), 1_000);
      assertSameAddress(await w.market.read.registry(), w.registry.address);
      assertSameAddress(await w.market.read.token(), w.token.address);
      await assertRegistrySolvent(w);
    });

    it("the EIP-712 domain and type hashes match shared/eip712.ts", async () => {
      const w = await load();
      const [, name, version, chainId, verifyingContract] = await w.market.read.eip712Domain();
      assert.equal(name, EIP712_NAME);
      assert.equal(version, EIP712_VERSION);
      assert.equal(chainId, BigInt(w.chainId));
      assertSameAddress(verifyingContract, w.market.address);
      const typeString = (t: readonly { name: string; type: string }[], n: string) => `${n}(${t.map((f) => `${f.type} ${f.name}`).join(",")})`;
      assert.equal(await w.market.read.ROUND_UPDATE_TYPEHASH(), keccak256(toHex(typeString(roundUpdateTypes.RoundUpdate, "RoundUpdate"))));
      assert.equal(await w.market.read.ROUND_RESULT_TYPEHASH(), keccak256(toHex(typeString(roundResultTypes.RoundResult, "RoundResult"))));
    });
  });
});
