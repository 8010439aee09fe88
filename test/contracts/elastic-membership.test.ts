/**
 * Issue 11, elastic membership: a provider may join a running job between rounds and takes a free
 * slot (one whose worker was removed, or one never filled). Each rule is tried by whoever would
 * profit from breaking it: a joiner that votes before it is active (to sway a quorum), a joiner that
 * pulls its bond back while waiting, a joiner beyond the funded slots (paid from someone else's
 * escrow), a joiner in the last round (bond locked for nothing), and a poster's accounting (every
 * token of a free slot's escrow either pays a worker or comes back to the poster).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { commit, E18, registerProvider, vote, modelHashFor, type Conn, type Provider } from "../helpers/market.ts";
import { JOB, world } from "../helpers/contract-fixtures.ts";
import { assertMarketSolvent, events, ledger } from "../helpers/contract-asserts.ts";

const REWARD = 10n * E18;
const FEE = (REWARD * 200n) / 10_000n;
const BOND = 50n * E18;

describe("TrainingMarket: elastic membership", async () => {
  const conn = (await network.create()) as unknown as Conn;
  const { viem, networkHelpers } = conn;
  const { revertWithCustomErrorWithArgs } = viem.assertions;

  /** 6 providers; a job of 3 slots (min 2) and 4 rounds, started by 2 workers after the join window. */
  async function base() {
    const w = await world(conn, 6);
    const jobId = await w.newJob({ rounds: 4, maxWorkers: 3, minWorkers: 2 });
    const [a, b] = w.providers;
    await w.market.write.joinJob([jobId], { account: a.wallet.account });
    await w.market.write.joinJob([jobId], { account: b.wallet.account });
    await w.pastJoinWindow(jobId);
    await w.market.write.startJob([jobId]);
    return { w, jobId };
  }
  const load = () => networkHelpers.loadFixture(base);

  it("a late joiner takes a never-filled slot: joining during round 0, active from round 1, paid for rounds 1–3 only", async () => {
    const { w, jobId } = await load();
    const [a, b, c] = w.providers;
    const L = ledger(w);
    const tx = await L(() => w.market.write.joinJob([jobId], { account: c.wallet.account }));
    const joined = events(tx.market, "WorkerJoined")[0];
    assert.equal(joined.index, 2);
    assert.equal(joined.bond, BOND);
    const slot = await w.market.read.workerSlot([jobId, c.address]);
    assert.equal(slot.joined, true);
    assert.equal(slot.active, false, "not active before the next round");
    assert.equal((await w.job(jobId)).activeMask, 0b011);

    // round 0: the joiner can neither commit nor vote; a and b finalize without it and it is not absent
    await revertWithCustomErrorWithArgs(commit(w, c, jobId, 0), w.market, "NotActiveWorker", [jobId, c.address]);
    await commit(w, a, jobId, 0);
    await commit(w, b, jobId, 0);
    await revertWithCustomErrorWithArgs(vote(w, c, jobId, 0, modelHashFor(jobId, 0), 0b011), w.market, "NotActiveWorker", [jobId, c.address]);
    await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b011);
    const fin = await L(() => vote(w, b, jobId, 0, modelHashFor(jobId, 0), 0b011));
    assert.equal(events(fin.market, "WorkerPenalized").length, 0, "the joiner is not penalised for the round it joined in");
    const activated = events(fin.market, "WorkersActivated");
    assert.equal(activated.length, 1);
    assert.equal(activated[0].round, 1);
    assert.equal(activated[0].mask, 0b100);
    assert.equal((await w.job(jobId)).activeMask, 0b111);
    assert.equal((await w.market.read.workerSlot([jobId, c.address])).active, true);

    for (let r = 1; r < 4; r++) await w.playRound(jobId, r, [a, b, c]);
    const end = await w.job(jobId);
    assert.equal(end.status, JOB.Completed);
    assert.equal((await w.market.read.workerSlot([jobId, a.address])).paidRounds, 4);
    assert.equal((await w.market.read.workerSlot([jobId, c.address])).paidRounds, 3);
    // the poster paid 3 slots × 4 rounds and got back exactly the one slot-round nobody worked
    assert.equal(await w.market.read.balanceOf([w.poster.account.address]), REWARD + FEE);
    await assertMarketSolvent(w);
  });

  it("a replacement takes the slot of a worker removed as absent; the job keeps running and the newcomer is paid", async () => {
    const { w, jobId } = await load();
    const [a, b, c, d, e] = w.providers;
    await w.market.write.joinJob([jobId], { account: c.wallet.account });
    await w.playRound(jobId, 0, [a, b]);
    // round 1: b is gone for good; a and c commit, and the round finalizes on their votes after the commit window
    await commit(w, a, jobId, 1);
    await commit(w, c, jobId, 1);
    await w.pastCommit(jobId);
    await vote(w, a, jobId, 1, modelHashFor(jobId, 1), 0b101);
    // every slot is taken until b is removed at the round's end
    await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: d.wallet.account }), w.market, "JobFull", [jobId]);
    await vote(w, c, jobId, 1, modelHashFor(jobId, 1), 0b101);
    assert.equal((await w.market.read.workerSlot([jobId, b.address])).active, false, "the absent worker was removed");
    // round 2: d takes b's slot (a new index; b's stays b's for every past round)
    await w.market.write.joinJob([jobId], { account: d.wallet.account });
    assert.equal((await w.market.read.workerSlot([jobId, d.address])).index, 3);
    await w.playRound(jobId, 2, [a, c]);
    assert.equal((await w.job(jobId)).activeMask, 0b1101);
    // the last round has begun: nobody can join any more (no round after it to work in)
    await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: e.wallet.account }), w.market, "JoinWindowClosed", [jobId]);
    await w.playRound(jobId, 3, [a, c, d]);
    assert.equal((await w.job(jobId)).status, JOB.Completed);
    const paid = async (p: typeof a) => (await w.market.read.workerSlot([jobId, p.address])).paidRounds;
    assert.deepEqual([await paid(a), await paid(b), await paid(c), await paid(d)], [4, 1, 3, 1]);
    // 12 funded slot-rounds, 9 worked: 3 come back to the poster, with b's absence penalty (20 % of its bond)
    assert.equal(await w.market.read.balanceOf([w.poster.account.address]), 3n * (REWARD + FEE) + (BOND * 2_000n) / 10_000n);
    await assertMarketSolvent(w);
  });

  it("the job does not fail below minWorkers when a joiner is about to fill the gap", async () => {
    const { w, jobId } = await load();
    const [a, b, c] = w.providers;
    // round 0: b is absent and removed, which leaves 1 active worker (< min 2); c joined during the round
    await w.market.write.joinJob([jobId], { account: c.wallet.account });
    await commit(w, a, jobId, 0);
    await w.pastCommit(jobId);
    await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b001);
    const j = await w.job(jobId);
    assert.equal(j.status, JOB.Running, "a + the joiner make 2 workers");
    assert.equal(j.currentRound, 1);
    assert.equal(j.activeMask, 0b101);
  });

  it("a waiting joiner cannot take its bond back, join twice or act in the round it joined in; capacity counts joiners", async () => {
    const { w, jobId } = await load();
    const [a, b, c, d] = w.providers;
    await w.market.write.joinJob([jobId], { account: c.wallet.account });
    await networkHelpers.time.increase(200_000); // far past any challenge window
    await revertWithCustomErrorWithArgs(w.market.write.releaseBond([jobId, c.address]), w.market, "WorkerStillActive", [jobId, c.address]);
    // 2 active + 1 joining = maxWorkers: a fourth provider would be paid from escrow nobody funded
    await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: d.wallet.account }), w.market, "JobFull", [jobId]);
    await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: c.wallet.account }), w.market, "JobFull", [jobId]);
    // nor can it act in the round it joined in
    await revertWithCustomErrorWithArgs(commit(w, c, jobId, 0), w.market, "NotActiveWorker", [jobId, c.address]);
    void a;
    void b;
  });

  it("a removed worker cannot rejoin for a fresh bond, and a cancellation in progress takes no joiner", async () => {
    const w = await world(conn, 6);
    const jobId = await w.newJob({ rounds: 4, maxWorkers: 3, minWorkers: 1 });
    const [a, b, c] = w.providers;
    await w.market.write.joinJob([jobId], { account: a.wallet.account });
    await w.market.write.joinJob([jobId], { account: b.wallet.account });
    await w.pastJoinWindow(jobId);
    await w.market.write.startJob([jobId]);
    await commit(w, a, jobId, 0);
    await w.pastCommit(jobId);
    await vote(w, a, jobId, 0, modelHashFor(jobId, 0), 0b001); // b absent → removed
    assert.equal((await w.market.read.workerSlot([jobId, b.address])).active, false);
    await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: b.wallet.account }), w.market, "AlreadyJoined", [jobId, b.address]);
    await w.market.write.cancelJob([jobId], { account: w.poster.account });
    const at = await w.market.read.cancelAt([jobId]);
    assert.ok(at > 0n, "the cancellation is deferred to the end of the commit window");
    await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: c.wallet.account }), w.market, "CancelPending", [jobId, at]);
  });

  it("a job sees at most 32 workers over its life (its masks are 32 bits)", async () => {
    const w = await world(conn, 2);
    // more providers than the node has accounts: impersonated fresh addresses
    const extra: Provider[] = [];
    for (let i = 0; i < 34; i++) {
      const address = privateKeyToAccount(generatePrivateKey()).address;
      await networkHelpers.impersonateAccount(address);
      await networkHelpers.setBalance(address, 10n ** 20n);
      extra.push(await registerProvider(w, (await viem.getWalletClient(address)) as unknown as Provider["wallet"]));
    }
    const jobId = await w.newJob({ rounds: 40, maxWorkers: 2, minWorkers: 1, commitWindow: 600, voteWindow: 300 });
    await w.market.write.joinJob([jobId], { account: extra[0].wallet.account });
    await w.pastJoinWindow(jobId);
    await w.market.write.startJob([jobId]);
    // every round: the previous joiner is absent and removed, a new provider joins its slot
    let seats = 1;
    for (let r = 0; seats < 32; r++) {
      await w.market.write.joinJob([jobId], { account: extra[seats].wallet.account });
      seats++;
      const active = (await w.market.read.workersOf([jobId])).length;
      assert.equal(active, seats);
      const rd = await w.round(jobId);
      await networkHelpers.time.increaseTo(rd.commitDeadline + 1n);
      await w.market.write.expireRound([jobId]);
      if ((await w.job(jobId)).status !== JOB.Running) break;
    }
    assert.equal((await w.market.read.workersOf([jobId])).length, 32);
    await revertWithCustomErrorWithArgs(w.market.write.joinJob([jobId], { account: extra[33].wallet.account }), w.market, "JobFull", [jobId]);
  });
});
