import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { isDeepStrictEqual } from "node:util";
import { keccak256, toHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { commit, E18, fund, modelHashFor, vote, type Conn } from "../helpers/market.ts";
import { CHALLENGE, CREDIT, JOB, PENALTY, world, type Wallet } from "../helpers/contract-fixtures.ts";
import { assertMarketSolvent, assertRegistrySolvent, checkedTx, events, ledger, type CheckedTx } from "../helpers/contract-asserts.ts";

const REWARD = 10n * E18;
const FEE = (REWARD * 200n) / 10_000n;
const BOND = 50n * E18;
const CBOND = 20n * E18;
const PEN = (BOND * 2_000n) / 10_000n;
const DAY = 86_400n;
const OTHER: Hex = keccak256(toHex("a different model"));

describe("events agree with the state changes they report", async () => {
  const conn = (await network.create()) as unknown as Conn;
  const { networkHelpers } = conn;
  const bare = () => world(conn, 5);

  it("across a full job lifecycle with dissent, exclusion, absence, all challenge outcomes, cancel, failure and withdrawals", async () => {
    const w = await networkHelpers.loadFixture(bare);
    const [a, b, c, d, e] = w.providers;
    const seen = new Set<string>();
    const L = async (send: () => Promise<Hex>): Promise<CheckedTx> => {
      const tx = await checkedTx(w, send);
      for (const l of [...tx.market, ...tx.registry]) seen.add(l.eventName);
      return tx;
    };
    const creditKinds = new Set<number>();
    const credits = (tx: CheckedTx) => events(tx.market, "Credited").forEach((c) => creditKinds.add(Number(c.kind)));

    // ---- job A: 4 workers, 4 rounds
    const pA = w.params({ rounds: 4, maxWorkers: 4, minWorkers: 2 });
    const [escrowA] = await w.market.read.escrowFor([pA.rewardPerRound, pA.rounds, pA.maxWorkers]);
    await fund(w, w.poster, escrowA, w.market.address);
    await L(() => w.market.write.createJob([pA], { account: w.poster.account }));
    const A = 1n;
    for (const p of [a, b, c, d]) await L(() => w.market.write.joinJob([A], { account: p.wallet.account }));
    assert.equal((await w.job(A)).status, JOB.Running);

    // round 0: d dissents
    for (const p of [a, b, c, d]) await L(() => commit(w, p, A, 0));
    await L(() => vote(w, d, A, 0, OTHER, 0b1111));
    await L(() => vote(w, a, A, 0, modelHashFor(A, 0), 0b1111));
    await L(() => vote(w, b, A, 0, modelHashFor(A, 0), 0b1111));
    let tx = await L(() => vote(w, c, A, 0, modelHashFor(A, 0), 0b1111));
    credits(tx);
    assert.deepEqual(events(tx.market, "WorkerPenalized").map((x) => x.reason), [PENALTY.Dissent]);

    // round 1: d's update excluded
    for (const p of [a, b, c, d]) await L(() => commit(w, p, A, 1));
    for (const p of [a, b, c]) tx = await L(() => vote(w, p, A, 1, modelHashFor(A, 1), 0b0111));
    assert.deepEqual(events(tx.market, "WorkerPenalized").map((x) => x.reason), [PENALTY.Excluded]);

    // challenges: c (round 0) upheld later, b (round 1) rejected, a (round 1) expired
    await fund(w, w.challenger, 3n * CBOND, w.market.address);
    await L(() => w.market.write.challenge([A, 0, c.address], { account: w.challenger.account }));
    await L(() => w.market.write.challenge([A, 1, b.address], { account: w.challenger.account }));
    await L(() => w.market.write.challenge([A, 1, a.address], { account: w.challenger.account }));
    await assertMarketSolvent(w);

    // round 2: d absent
    for (const p of [a, b, c]) await L(() => commit(w, p, A, 2));
    await w.pastCommit(A);
    for (const p of [a, b]) tx = await L(() => vote(w, p, A, 2, modelHashFor(A, 2), 0b0111)); // 2 of 3 committed: quorum
    assert.deepEqual(events(tx.market, "WorkerPenalized").map((x) => x.reason), [PENALTY.Absent]);
    assert.equal(events(tx.market, "WorkerRemoved").length, 1);

    tx = await L(() => w.market.write.resolveChallenge([1n, true], { account: w.arbiter.account }));
    credits(tx);
    assert.equal(events(tx.market, "ChallengeResolved")[0].status, CHALLENGE.Upheld);
    tx = await L(() => w.market.write.resolveChallenge([2n, false], { account: w.arbiter.account }));
    credits(tx);

    // round 3 (last): a and b
    await L(() => commit(w, a, A, 3));
    await L(() => commit(w, b, A, 3));
    await L(() => vote(w, a, A, 3, modelHashFor(A, 3), 0b0011));
    tx = await L(() => vote(w, b, A, 3, modelHashFor(A, 3), 0b0011));
    credits(tx);
    assert.equal((await w.job(A)).status, JOB.Completed);
    // rounds paid: 3 + 3 + 3 + 2 workers; escrow left = 16 − 11 slots
    assert.equal(events(tx.market, "JobCompleted")[0].refund, 5n * (REWARD + FEE));

    await networkHelpers.time.increase(3n * DAY);
    tx = await L(() => w.market.write.expireChallenge([3n]));
    credits(tx);
    for (const p of [a, b, c, d]) await L(() => w.market.write.releaseBond([A, p.address]));

    // ---- job B: started after the join window with a free slot, cancelled mid-round
    const B = 2n;
    const pB = w.params({ joinWindow: 100 });
    const [escrowB] = await w.market.read.escrowFor([pB.rewardPerRound, pB.rounds, pB.maxWorkers]);
    await fund(w, w.poster, escrowB, w.market.address);
    await L(() => w.market.write.createJob([pB], { account: w.poster.account }));
    await L(() => w.market.write.joinJob([B], { account: e.wallet.account }));
    await L(() => w.market.write.joinJob([B], { account: a.wallet.account }));
    await w.pastJoinWindow(B);
    tx = await L(() => w.market.write.startJob([B]));
    credits(tx);
    await L(() => commit(w, e, B, 0));
    tx = await L(() => w.market.write.cancelJob([B], { account: w.poster.account }));
    credits(tx);
    assert.equal(events(tx.market, "JobCancelled")[0].paidInFlight, REWARD + FEE);

    // ---- job C: nobody joins, expired → failed
    await fund(w, w.poster, escrowB, w.market.address);
    await L(() => w.market.write.createJob([pB], { account: w.poster.account }));
    await w.pastJoinWindow(3n);
    await L(() => w.market.write.expireRound([3n]));

    // ---- job D: one silent worker
    const pD = w.params({ maxWorkers: 1, minWorkers: 1, rounds: 2 });
    const [escrowD] = await w.market.read.escrowFor([pD.rewardPerRound, pD.rounds, pD.maxWorkers]);
    await fund(w, w.poster, escrowD, w.market.address);
    await L(() => w.market.write.createJob([pD], { account: w.poster.account }));
    await L(() => w.market.write.joinJob([4n], { account: c.wallet.account }));
    await w.pastCommit(4n);
    tx = await L(() => w.market.write.expireRound([4n]));
    assert.equal(events(tx.market, "JobFailed").length, 1);

    // ---- job E: open, cancelled with a worker in it
    await fund(w, w.poster, escrowB, w.market.address);
    await L(() => w.market.write.createJob([pB], { account: w.poster.account }));
    await L(() => w.market.write.joinJob([5n], { account: d.wallet.account }));
    await L(() => w.market.write.cancelJob([5n], { account: w.poster.account }));

    // ---- registry money moves
    const newcomer = w.others[12] as Wallet;
    const s = privateKeyToAccount(generatePrivateKey()).address;
    await fund(w, newcomer, 300n * E18, w.registry.address);
    await L(() => w.registry.write.register([200n * E18, s, keccak256(toHex("nc")), ""], { account: newcomer.account }));
    await L(() => w.registry.write.addStake([100n * E18], { account: newcomer.account }));
    await L(() => w.registry.write.requestUnbond([300n * E18], { account: newcomer.account }));
    await networkHelpers.time.increase(7n * DAY);
    await L(() => w.registry.write.withdrawUnbonded({ account: newcomer.account }));

    // ---- everybody withdraws; the market ends up empty
    for (const who of [w.poster, w.challenger, w.treasury, ...[a, b, c, d, e].map((p) => p.wallet as Wallet)]) {
      if ((await w.market.read.balanceOf([who.account.address])) > 0n) await L(() => w.market.write.withdraw({ account: who.account }));
    }
    assert.equal(await w.tokenBalance(w.market.address), 0n);
    await assertRegistrySolvent(w);

    // every money-moving event and every credit kind was exercised
    for (const name of [
      "JobCreated",
      "WorkerJoined",
      "JobStarted",
      "RoundStarted",
      "UpdateCommitted",
      "VotingStarted",
      "ResultSubmitted",
      "RoundFinalized",
      "RoundExpired",
      "WorkerPenalized",
      "WorkerRemoved",
      "JobCompleted",
      "JobCancelled",
      "JobFailed",
      "Credited",
      "Withdrawn",
      "ChallengeOpened",
      "ChallengeResolved",
      "BondReleased",
      "ProviderRegistered",
      "StakeAdded",
      "UnbondRequested",
      "UnbondWithdrawn",
      "BondLocked",
      "StakeSlashed",
    ]) {
      assert.ok(seen.has(name), `${name} never emitted`);
    }
    for (let k = 0; k <= CREDIT.ChallengeBondForfeit; k++) assert.ok(creditKinds.has(k), `credit kind ${k} never used`);
  });

  it("the checker catches a balance change no event reports (a token donation to the market)", async () => {
    const w = await networkHelpers.loadFixture(bare);
    await w.token.write.mint([w.poster.account.address, 1n], { account: w.deployer.account });
    await assert.rejects(
      checkedTx(w, () => w.token.write.transfer([w.market.address, 1n], { account: w.poster.account })),
      /market token balance moved differently/,
    );
    await assert.rejects(assertMarketSolvent(w), /market holds 1 but owes 0/);
  });

  it("the checker catches tokens sent to the registry outside any stake", async () => {
    const w = await networkHelpers.loadFixture(bare);
    await w.token.write.mint([w.registry.address, 5n], { account: w.deployer.account });
    await assert.rejects(assertRegistrySolvent(w), /registry holds .* but Σ stake is/);
  });

  it("each event carries the values the state ends up with", async () => {
    const w = await networkHelpers.loadFixture(bare);
    const { emitWithArgs } = conn.viem.assertions;
    const [a, b, c] = w.providers;
    const p = w.params();
    const [escrow] = await w.market.read.escrowFor([p.rewardPerRound, p.rounds, p.maxWorkers]);
    await fund(w, w.poster, escrow, w.market.address);
    const created = w.market.write.createJob([p], { account: w.poster.account });
    await emitWithArgs(created, w.market, "JobCreated", [
      1n,
      w.poster.account.address,
      p.arbiter,
      (x: unknown) => isDeepStrictEqual(x, p),
      escrow,
      FEE,
      (x: bigint) => x > 0n,
    ]);
    const s0 = await w.job(1n);
    const created1 = await w.publicClient.getContractEvents({ address: w.market.address, abi: w.market.abi, eventName: "JobCreated", fromBlock: 0n });
    assert.equal(created1.at(-1)!.args.joinDeadline, s0.createdAt + BigInt(p.joinWindow));
    await emitWithArgs(w.market.write.joinJob([1n], { account: a.wallet.account }), w.registry, "BondLocked", [a.address, w.market.address, BOND, BOND]);
    await w.market.write.joinJob([1n], { account: b.wallet.account });
    await emitWithArgs(w.market.write.joinJob([1n], { account: c.wallet.account }), w.market, "WorkerJoined", [1n, c.address, 2, BOND]);
    for (const q of [a, b, c]) await commit(w, q, 1n, 0);
    await vote(w, a, 1n, 0, OTHER, 0b111);
    await vote(w, b, 1n, 0, modelHashFor(1n, 0), 0b111);
    const fin = vote(w, c, 1n, 0, modelHashFor(1n, 0), 0b111);
    await emitWithArgs(fin, w.registry, "StakeSlashed", [a.address, w.market.address, PEN, 1_000n * E18 - PEN, BOND - PEN]);
    await emitWithArgs(Promise.resolve(await fin), w.market, "Credited", [w.poster.account.address, 1n, CREDIT.SlashProceeds, PEN]);
    await emitWithArgs(Promise.resolve(await fin), w.market, "Credited", [w.treasury.account.address, 1n, CREDIT.Fee, 2n * FEE]);
    const rec = await w.registry.read.providerOf([a.address]);
    assert.equal(rec.stake, 1_000n * E18 - PEN);
    assert.equal((await w.market.read.workerSlot([1n, a.address])).bond, BOND - PEN);
    assert.equal(s0.escrow, escrow);
    await emitWithArgs(w.market.write.withdraw({ account: b.wallet.account }), w.market, "Withdrawn", [b.address, REWARD]);
    await ledger(w)(() => w.market.write.withdraw({ account: c.wallet.account }));
  });
});
