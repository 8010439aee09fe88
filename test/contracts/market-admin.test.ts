import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, zeroAddress } from "viem";
import { commit, E18, fund, modelHashFor, vote, type Conn } from "../helpers/market.ts";
import { DEFAULT_ADMIN_ROLE, JOB, PENALTY, world } from "../helpers/contract-fixtures.ts";
import { assertMarketSolvent, assertRegistrySolvent, assertSameAddress, events, ledger } from "../helpers/contract-asserts.ts";

const REWARD = 10n * E18;
const BOND = 50n * E18;
const CBOND = 20n * E18;
const DAY = 86_400n;

describe("TrainingMarket: admin, roles and pause", async () => {
  const conn = (await network.create()) as unknown as Conn;
  const { viem, networkHelpers } = conn;
  const { revertWithCustomError, revertWithCustomErrorWithArgs, emitWithArgs } = viem.assertions;

  const bare = () => world(conn, 4);
  const load = () => networkHelpers.loadFixture(bare);
  async function running() {
    const w = await bare();
    const jobId = await w.runningJob();
    return { w, jobId, a: w.providers[0], b: w.providers[1], c: w.providers[2] };
  }

  describe("constructor", () => {
    it("stores its parameters and emits them; grants admin and pauser roles", async () => {
      const w = await load();
      assertSameAddress(await w.market.read.treasury(), w.treasury.account.address);
      assert.equal(await w.market.read.protocolFeeBps(), 200);
      assert.equal(await w.market.read.challengeBountyBps(), 2_000);
      assert.equal(await w.market.read.arbitrationPeriod(), 3n * DAY);
      assert.equal(await w.market.read.lastUnpausedAt(), 0n);
      assert.equal(await w.market.read.hasRole([DEFAULT_ADMIN_ROLE, w.deployer.account.address]), true);
      assert.equal(await w.market.read.hasRole([await w.market.read.PAUSER_ROLE(), w.deployer.account.address]), true);
      const m = await viem.deployContract("TrainingMarket", [w.registry.address, w.deployer.account.address, w.poster.account.address, 1_000, 10_000, 10n]);
      const logs = await w.publicClient.getContractEvents({ address: m.address, abi: m.abi, fromBlock: 0n });
      assert.deepEqual(
        logs.filter((l) => l.eventName !== "RoleGranted").map((l) => [l.eventName, Object.values(l.args as object)[0]]),
        [
          ["TreasuryUpdated", getAddress(w.poster.account.address)],
          ["ProtocolFeeUpdated", 1_000],
          ["ChallengeBountyUpdated", 10_000],
          ["ArbitrationPeriodUpdated", 10n],
        ],
      );
      assertSameAddress(await m.read.token(), w.token.address);
    });

    it("rejects zero addresses, a fee above 10%, a bounty above 100% and an arbitration period outside [10 s, 30 days]", async () => {
      const w = await load();
      const admin = w.deployer.account.address;
      const t = w.treasury.account.address;
      const R = w.registry.address;
      const deploy = (args: [`0x${string}`, `0x${string}`, `0x${string}`, number, number, bigint]) => viem.deployContract("TrainingMarket", args);
      await revertWithCustomError(deploy([zeroAddress, admin, t, 0, 0, 10n]), w.market, "ZeroAddress");
      await revertWithCustomError(deploy([R, zeroAddress, t, 0, 0, 10n]), w.market, "ZeroAddress");
      await revertWithCustomError(deploy([R, admin, zeroAddress, 0, 0, 10n]), w.market, "ZeroAddress");
      await revertWithCustomErrorWithArgs(deploy([R, admin, t, 1_001, 0, 10n]), w.market, "InvalidFee", [1_001]);
      await revertWithCustomErrorWithArgs(deploy([R, admin, t, 0, 10_001, 10n]), w.market, "InvalidBounty", [10_001]);
      await revertWithCustomErrorWithArgs(deploy([R, admin, t, 0, 0, 9n]), w.market, "InvalidWindow", [9]);
      await revertWithCustomErrorWithArgs(deploy([R, admin, t, 0, 0, 30n * DAY + 1n]), w.market, "InvalidWindow", [30 * 86_400 + 1]);
      await revertWithCustomErrorWithArgs(deploy([R, admin, t, 0, 0, 2n ** 40n]), w.market, "InvalidWindow", [2 ** 32 - 1]);
    });
  });

  describe("setters", () => {
    it("every setter is admin-only (AccessControlUnauthorizedAccount with DEFAULT_ADMIN_ROLE)", async () => {
      const w = await load();
      const who = w.poster.account;
      const args = [who.address, DEFAULT_ADMIN_ROLE] as const;
      await revertWithCustomErrorWithArgs(w.market.write.setTreasury([who.address], { account: who }), w.market, "AccessControlUnauthorizedAccount", [...args]);
      await revertWithCustomErrorWithArgs(w.market.write.setProtocolFee([0], { account: who }), w.market, "AccessControlUnauthorizedAccount", [...args]);
      await revertWithCustomErrorWithArgs(w.market.write.setChallengeBounty([0], { account: who }), w.market, "AccessControlUnauthorizedAccount", [...args]);
      await revertWithCustomErrorWithArgs(w.market.write.setArbitrationPeriod([100n], { account: who }), w.market, "AccessControlUnauthorizedAccount", [...args]);
      // the pauser role alone does not allow admin setters
      const PAUSER = await w.market.read.PAUSER_ROLE();
      await w.market.write.grantRole([PAUSER, who.address], { account: w.deployer.account });
      await revertWithCustomError(w.market.write.setProtocolFee([0], { account: who }), w.market, "AccessControlUnauthorizedAccount");
    });

    it("setTreasury: ZeroAddress; new fees go to the new treasury", async () => {
      const { w, jobId, a, b, c } = await networkHelpers.loadFixture(running);
      await revertWithCustomError(w.market.write.setTreasury([zeroAddress], { account: w.deployer.account }), w.market, "ZeroAddress");
      const t2 = w.challenger.account.address;
      await emitWithArgs(w.market.write.setTreasury([t2], { account: w.deployer.account }), w.market, "TreasuryUpdated", [t2]);
      await w.playRound(jobId, 0, [a, b, c]);
      assert.equal(await w.market.read.balanceOf([t2]), 3n * ((REWARD * 200n) / 10_000n));
      assert.equal(await w.market.read.balanceOf([w.treasury.account.address]), 0n);
    });

    it("setProtocolFee: InvalidFee above 1000 bps; applies to jobs created afterwards only", async () => {
      const { w, jobId, a, b, c } = await networkHelpers.loadFixture(running);
      await revertWithCustomErrorWithArgs(w.market.write.setProtocolFee([1_001], { account: w.deployer.account }), w.market, "InvalidFee", [1_001]);
      await emitWithArgs(w.market.write.setProtocolFee([1_000], { account: w.deployer.account }), w.market, "ProtocolFeeUpdated", [1_000]);
      assert.deepEqual(await w.market.read.escrowFor([REWARD, 1, 1]), [REWARD + REWARD / 10n, REWARD / 10n]);
      await w.playRound(jobId, 0, [a, b, c]);
      assert.equal(await w.market.read.balanceOf([w.treasury.account.address]), 3n * ((REWARD * 200n) / 10_000n), "the running job keeps its 2% fee");
      const later = await w.newJob();
      assert.equal((await w.job(later)).feePerReward, REWARD / 10n);
      await w.market.write.setProtocolFee([0], { account: w.deployer.account });
      const free = await w.newJob();
      assert.equal((await w.job(free)).feePerReward, 0n);
      assert.equal((await w.job(free)).escrow, 9n * REWARD);
    });

    it("setChallengeBounty: InvalidBounty above 10000; 100% gives the whole slash to the challenger, 0% all to the poster", async () => {
      const { w, jobId, a, b, c } = await networkHelpers.loadFixture(running);
      await revertWithCustomErrorWithArgs(w.market.write.setChallengeBounty([10_001], { account: w.deployer.account }), w.market, "InvalidBounty", [10_001]);
      await w.playRound(jobId, 0, [a, b, c]);
      await fund(w, w.challenger, 3n * CBOND, w.market.address);
      await emitWithArgs(w.market.write.setChallengeBounty([10_000], { account: w.deployer.account }), w.market, "ChallengeBountyUpdated", [10_000]);
      await w.market.write.challenge([jobId, 0, a.address], { account: w.challenger.account });
      await ledger(w)(() => w.market.write.resolveChallenge([1n, true], { account: w.arbiter.account }));
      assert.equal(await w.market.read.balanceOf([w.challenger.account.address]), CBOND + BOND);
      await w.market.write.setChallengeBounty([0], { account: w.deployer.account });
      await w.market.write.challenge([jobId, 0, b.address], { account: w.challenger.account });
      const tx = await ledger(w)(() => w.market.write.resolveChallenge([2n, true], { account: w.arbiter.account }));
      assert.equal(events(tx.market, "ChallengeResolved")[0].bounty, 0n);
      assert.equal(await w.market.read.balanceOf([w.challenger.account.address]), 2n * CBOND + BOND);
      assert.equal(await w.market.read.balanceOf([w.poster.account.address]), BOND);
    });

    it("setArbitrationPeriod: InvalidWindow outside [10 s, 30 days]; applies to expireChallenge", async () => {
      const { w, jobId, a, b, c } = await networkHelpers.loadFixture(running);
      await revertWithCustomErrorWithArgs(w.market.write.setArbitrationPeriod([9n], { account: w.deployer.account }), w.market, "InvalidWindow", [9]);
      await revertWithCustomErrorWithArgs(w.market.write.setArbitrationPeriod([30n * DAY + 1n], { account: w.deployer.account }), w.market, "InvalidWindow", [
        30 * 86_400,
      ]);
      await emitWithArgs(w.market.write.setArbitrationPeriod([10n], { account: w.deployer.account }), w.market, "ArbitrationPeriodUpdated", [10n]);
      await w.playRound(jobId, 0, [a, b, c]);
      await fund(w, w.challenger, CBOND, w.market.address);
      await w.market.write.challenge([jobId, 0, a.address], { account: w.challenger.account });
      await networkHelpers.time.increase(11);
      await w.market.write.expireChallenge([1n]);
      await w.market.write.setArbitrationPeriod([30n * DAY], { account: w.deployer.account });
      assert.equal(await w.market.read.arbitrationPeriod(), 30n * DAY);
    });
  });

  describe("pause", () => {
    it("PAUSER_ROLE only; Paused/Unpaused; EnforcedPause/ExpectedPause; unpause records lastUnpausedAt", async () => {
      const w = await load();
      const PAUSER = await w.market.read.PAUSER_ROLE();
      await revertWithCustomErrorWithArgs(w.market.write.pause({ account: w.poster.account }), w.market, "AccessControlUnauthorizedAccount", [
        w.poster.account.address,
        PAUSER,
      ]);
      await revertWithCustomError(w.market.write.unpause({ account: w.deployer.account }), w.market, "ExpectedPause");
      await w.market.write.grantRole([PAUSER, w.poster.account.address], { account: w.deployer.account });
      await emitWithArgs(w.market.write.pause({ account: w.poster.account }), w.market, "Paused", [w.poster.account.address]);
      await revertWithCustomError(w.market.write.pause({ account: w.deployer.account }), w.market, "EnforcedPause");
      await revertWithCustomError(w.market.write.unpause({ account: w.challenger.account }), w.market, "AccessControlUnauthorizedAccount");
      await emitWithArgs(w.market.write.unpause({ account: w.deployer.account }), w.market, "Unpaused", [w.deployer.account.address]);
      assert.equal(await w.market.read.lastUnpausedAt(), BigInt(await networkHelpers.time.latest()));
      assert.equal(await w.market.read.paused(), false);
    });

    it("stops new business and the round protocol; cancelling, withdrawing, bond releases and challenge settlement stay open", async () => {
      const { w, jobId, a, b, c } = await networkHelpers.loadFixture(running);
      await w.playRound(jobId, 0, [a, b, c]);
      await commit(w, a, jobId, 1);
      await fund(w, w.challenger, 3n * CBOND, w.market.address);
      await w.market.write.challenge([jobId, 0, a.address], { account: w.challenger.account });
      await w.market.write.challenge([jobId, 0, b.address], { account: w.challenger.account });
      const open = await w.newJob();
      await w.market.write.pause({ account: w.deployer.account });

      const P = (p: Promise<unknown>) => revertWithCustomError(p as Promise<`0x${string}`>, w.market, "EnforcedPause");
      await P(w.market.write.createJob([w.params()], { account: w.poster.account }));
      await P(w.market.write.joinJob([open], { account: w.providers[3].wallet.account }));
      await networkHelpers.time.increase(3_601);
      await P(w.market.write.startJob([open]));
      await P(w.market.write.expireRound([open]));
      await P(commit(w, b, jobId, 1));
      await P(vote(w, a, jobId, 1, modelHashFor(jobId, 1), 1));
      await P(w.market.write.expireRound([jobId]));

      const L = ledger(w);
      // challenges stay open while paused (their windows keep running)
      await L(() => w.market.write.challenge([jobId, 0, c.address], { account: w.challenger.account }));
      await L(() => w.market.write.resolveChallenge([3n, false], { account: w.arbiter.account }));
      await L(() => w.market.write.resolveChallenge([1n, false], { account: w.arbiter.account }));
      await networkHelpers.time.increase(3n * DAY);
      await L(() => w.market.write.expireChallenge([2n]));
      await L(() => w.market.write.cancelJob([jobId], { account: w.poster.account }));
      await L(() => w.market.write.cancelJob([open], { account: w.poster.account }));
      await networkHelpers.time.increase(DAY + 1n);
      for (const p of [a, b, c]) await L(() => w.market.write.releaseBond([jobId, p.address]));
      for (const who of [a.wallet, b.wallet, c.wallet, w.poster, w.challenger, w.treasury]) {
        await L(() => w.market.write.withdraw({ account: who.account }));
      }
      assert.equal(await w.tokenBalance(w.market.address), 0n, "everything could leave while paused");
      for (const p of [a, b, c]) assert.equal((await w.registry.read.providerOf([p.address])).bonded, 0n);
    });
  });

  describe("absences in a round interrupted by a pause", () => {
    it("are not slashed when the round finalizes after the unpause (the absentee is still removed)", async () => {
      const { w, jobId, a, b, c } = await networkHelpers.loadFixture(running);
      await commit(w, a, jobId, 0);
      await commit(w, b, jobId, 0);
      await w.market.write.pause({ account: w.deployer.account });
      await networkHelpers.time.increase(60);
      await w.market.write.unpause({ account: w.deployer.account });
      await w.pastCommit(jobId);
      await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b011);
      const tx = await ledger(w)(() => vote(w, b, jobId, 0, modelHashFor(jobId, 0), 0b011));
      assert.equal(events(tx.market, "WorkerPenalized").length, 0);
      assert.deepEqual(events(tx.market, "WorkerRemoved"), [{ jobId, worker: getAddress(c.address), reason: PENALTY.Absent }]);
      assert.equal((await w.registry.read.providerOf([c.address])).stake, 1_000n * E18);
      assert.equal((await w.market.read.workerSlot([jobId, c.address])).bond, BOND);
      // the next round started after the unpause: absences are penalised again
      await commit(w, a, jobId, 1);
      await w.pastCommit(jobId);
      await w.pastVote(jobId);
      const tx2 = await ledger(w)(() => w.market.write.expireRound([jobId]));
      // b never committed (Absent); a committed but never voted (NoVote)
      assert.deepEqual(events(tx2.market, "WorkerPenalized").map((e) => [getAddress(e.worker), e.reason]), [
        [getAddress(b.address), PENALTY.Absent],
        [getAddress(a.address), PENALTY.NoVote],
      ]);
    });

    it("are not slashed when a pause spans the whole round and it is expired afterwards (current behaviour: all removed, job fails)", async () => {
      const { w, jobId, a, b, c } = await networkHelpers.loadFixture(running);
      await w.market.write.pause({ account: w.deployer.account });
      await w.pastVote(jobId);
      await w.market.write.unpause({ account: w.deployer.account });
      const tx = await ledger(w)(() => w.market.write.expireRound([jobId]));
      assert.equal(events(tx.market, "WorkerPenalized").length, 0);
      for (const p of [a, b, c]) assert.equal((await w.registry.read.providerOf([p.address])).stake, 1_000n * E18);
      // NOTE: the workers lose their place although they never could act; see the report
      assert.equal(events(tx.market, "WorkerRemoved").length, 3);
      assert.equal((await w.job(jobId)).status, JOB.Failed);
      await assertMarketSolvent(w);
      await assertRegistrySolvent(w);
    });

    it("a pause that began after the round's windows had closed does not waive the absence penalty", async () => {
      // Here the windows close first, c's absence is final, and only then an unrelated pause happens.
      const { w, jobId, a, b, c } = await networkHelpers.loadFixture(running);
      await commit(w, a, jobId, 0);
      await commit(w, b, jobId, 0);
      await w.pastVote(jobId);
      await networkHelpers.time.increase(3_600);
      await w.market.write.pause({ account: w.deployer.account });
      await w.market.write.unpause({ account: w.deployer.account });
      const tx = await ledger(w)(() => w.market.write.expireRound([jobId]));
      assert.deepEqual(
        events(tx.market, "WorkerPenalized").map((e) => [getAddress(e.worker), e.reason, e.amount]),
        [
          [getAddress(c.address), PENALTY.Absent, (BOND * 2_000n) / 10_000n],
          [getAddress(a.address), PENALTY.NoVote, (BOND * 2_000n) / 10_000n],
          [getAddress(b.address), PENALTY.NoVote, (BOND * 2_000n) / 10_000n],
        ],
        "c was absent and a, b silent in a round that no pause interrupted",
      );
    });
  });

  it("roles can be handed over: a new admin sets parameters, the old one cannot", async () => {
    const w = await load();
    const next = w.challenger.account.address;
    await w.market.write.grantRole([DEFAULT_ADMIN_ROLE, next], { account: w.deployer.account });
    await w.market.write.renounceRole([DEFAULT_ADMIN_ROLE, w.deployer.account.address], { account: w.deployer.account });
    await revertWithCustomError(w.market.write.setProtocolFee([5], { account: w.deployer.account }), w.market, "AccessControlUnauthorizedAccount");
    await w.market.write.setProtocolFee([5], { account: w.challenger.account });
    assert.equal(await w.market.read.protocolFeeBps(), 5);
  });
});
