import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, keccak256, parseSignature, toHex, zeroAddress, zeroHash, type Hex } from "viem";
import { EIP712_NAME, EIP712_VERSION, roundUpdateTypes } from "../../shared/eip712.ts";
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

    it("ids count up from 1 and each job keeps its own escrow", async () => {
      const w = await load();
      const a = await w.newJob();
      const b = await w.newJob({ rounds: 1, maxWorkers: 1, minWorkers: 1 });
      assert.equal(a, 1n);
      assert.equal(b, 2n);
      assert.equal((await w.job(b)).escrow, REWARD + FEE);
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



  });

  describe("joinJob", () => {

    it("starts the job when the last slot fills: JobStarted with nothing refunded, then RoundStarted for round 0", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      const [a, b, c] = w.providers;
      await w.market.write.joinJob([jobId], { account: a.wallet.account });
      await w.market.write.joinJob([jobId], { account: b.wallet.account });
      const escrow = (await w.job(jobId)).escrow;
      const hash = w.market.write.joinJob([jobId], { account: c.wallet.account });
      await emitWithArgs(hash, w.market, "JobStarted", [jobId, 3, escrow]);
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
    it("after the join window starts with ≥ minWorkers; the unfilled slots stay funded (refunded only when the job ends)", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      const [a, b] = w.providers;
      await w.market.write.joinJob([jobId], { account: a.wallet.account });
      await w.market.write.joinJob([jobId], { account: b.wallet.account });
      await w.pastJoinWindow(jobId);
      const L = ledger(w);
      const tx = await L(() => w.market.write.startJob([jobId], { account: w.challenger.account }));
      const started = events(tx.market, "JobStarted")[0];
      assert.equal(started.workerCount, 2);
      assert.equal(started.escrow, 3n * 3n * (REWARD + FEE));
      assert.equal(events(tx.market, "Credited").length, 0);
      assert.equal(await w.market.read.balanceOf([w.poster.account.address]), 0n);
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

    it("starts the job when enough workers joined (unfilled slots stay funded)", async () => {
      const { w, jobId } = await networkHelpers.loadFixture(openJobFixture);
      await w.market.write.joinJob([jobId], { account: w.providers[0].wallet.account });
      await w.market.write.joinJob([jobId], { account: w.providers[1].wallet.account });
      await w.pastJoinWindow(jobId);
      const tx = await ledger(w)(() => w.market.write.expireRound([jobId], { account: w.challenger.account }));
      assert.equal(events(tx.market, "JobStarted")[0].escrow, 3n * 3n * (REWARD + FEE));
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

    it("the EIP-712 domain and type hashes match shared/eip712.ts", async () => {
      const w = await load();
      const [, name, version, chainId, verifyingContract] = await w.market.read.eip712Domain();
      assert.equal(name, EIP712_NAME);
      assert.equal(version, EIP712_VERSION);
      assert.equal(chainId, BigInt(w.chainId));
      assertSameAddress(verifyingContract, w.market.address);
      const typeString = (t: readonly { name: string; type: string }[], n: string) => `${n}(${t.map((f) => `${f.type} ${f.name}`).join(",")})`;
      assert.equal(await w.market.read.ROUND_UPDATE_TYPEHASH(), keccak256(toHex(typeString(roundUpdateTypes.RoundUpdate, "RoundUpdate"))));
    });
  });
});
