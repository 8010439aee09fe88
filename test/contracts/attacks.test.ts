/**
 * Issue 13: the ten attacks of the security review, each tried against the new contracts on a real
 * Hardhat chain. Every attack reverts or costs the attacker, and every honest party ends with at
 * least its stake plus what it earned. 3 workers, 3 rounds, reward 10, bond 50, penalty 20%,
 * challenge bond 20, bounty 20%, quorum 6666 unless a test says otherwise.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { limitViolations, readMarketLimits } from "../../shared/job-limits.ts";
import type { JobParams } from "../../shared/types.ts";
import { encodeAbiParameters, keccak256, parseEventLogs, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  commit,
  createJob,
  deployMarket,
  E18,
  fund,
  jobParams,
  joinAll,
  keyProof,
  modelHashFor,
  registerProviders,
  traceFor,
  updateHashFor,
  vote,
  type Ctx,
  type Provider,
} from "../helpers/market.ts";

const PHASE = { None: 0, AwaitStart: 1, AwaitReveal: 2, AwaitResponse: 3, Refereeing: 4, Closed: 5 } as const;
const conn = await network.create();
const t = conn.networkHelpers.time;

async function rejects(p: Promise<unknown>, name: string) {
  await assert.rejects(p, (e: Error) => {
    assert.match(String(e.message), new RegExp(name), `expected ${name}, got: ${e.message.slice(0, 300)}`);
    return true;
  });
}

/** A market with 3 workers, 3 referees (others outside every job) and a poster. */
async function setup(params = {}) {
  const ctx = await deployMarket(conn as never);
  const poster = ctx.others[0];
  const workers = await registerProviders(ctx, 3, 1);
  const referees = await registerProviders(ctx, 3, 4);
  for (const r of referees) {
    await fund(ctx, r.wallet, 100n * E18, ctx.game.address);
    await ctx.game.write.registerReferee({ account: r.wallet.account });
  }
  const p = jobParams({ ...params });
  const jobId = await createJob(ctx, poster as never, p);
  await joinAll(ctx, jobId, workers);
  return { ctx, poster, workers, referees, jobId, p };
}

async function stakeOf(ctx: Ctx, a: Address) {
  return (await ctx.registry.read.providerOf([a])).stake;
}

/** Every panel member votes `correct` on a step dispute (honest referees recompute the step). */
async function panelVotesStep(ctx: Ctx, referees: Provider[], id: bigint, correct: boolean) {
  const panel = await ctx.game.read.panelOf([id]);
  for (const a of panel) {
    const r = referees.find((x) => x.address.toLowerCase() === a.toLowerCase())!;
    await ctx.game.write.voteStep([id, correct], { account: r.wallet.account });
  }
}

async function panelVotesRound(ctx: Ctx, referees: Provider[], id: bigint, modelHash: Hex, mask: number) {
  const panel = await ctx.game.read.panelOf([id]);
  for (const a of panel) {
    const r = referees.find((x) => x.address.toLowerCase() === a.toLowerCase())!;
    await ctx.game.write.voteRound([id, modelHash, mask], { account: r.wallet.account });
  }
}

async function challengeBond(ctx: Ctx, who: Provider["wallet"], amount = 20n * E18) {
  await fund(ctx, who, amount, ctx.game.address);
}

/** Releases every bond after the challenge window and returns each worker's credited balance. */
async function releaseAll(ctx: Ctx, jobId: bigint, workers: Provider[]) {
  await t.increase(2 * 86_400);
  for (const w of workers) {
    const s = await ctx.market.read.workerSlot([jobId, w.address]);
    if (!s.bondReleased) await ctx.market.write.releaseBond([jobId, w.address]);
  }
}

describe("issue 13: the ten attacks against the new contracts", async () => {
  it("1. the poster cannot judge: a challenge of an honest worker is decided by referees outside the job, and costs the poster its bond", async () => {
    const { ctx, poster, workers, referees, jobId } = await setup();
    const [a] = workers;
    for (const w of workers) await commit(ctx, w, jobId, 0);
    // nobody but the dispute game can slash through the market
    await assert.rejects(ctx.marketModule.write.punishFraud([jobId, 0, a.address, poster.account.address], { account: poster.account }));
    assert.equal((await ctx.market.read.workerSlot([jobId, a.address])).bond, 50n * E18);
    await challengeBond(ctx, poster as never);
    const tr = traceFor(jobId, 0, a.address);
    await ctx.game.write.challengeStep([jobId, 0, a.address, tr.leaves[4], tr.root], { account: poster.account });
    const id = await ctx.game.read.disputeCount();
    // honest worker opens its trace and reveals midpoints; the poster disagrees with everything
    await ctx.game.write.startBisection([id, 5, tr.proof(4)], { account: a.wallet.account });
    for (let i = 0; i < 8; i++) {
      const d = await ctx.game.read.disputeOf([id]);
      if (d.phase === PHASE.Refereeing) break;
      const [, , mid] = await ctx.game.read.interval([id]);
      await ctx.game.write.revealMidpoint([id, tr.leaves[mid], tr.proof(mid)], { account: a.wallet.account });
      await ctx.game.write.respondMidpoint([id, false], { account: poster.account });
    }
    const panel = await ctx.game.read.panelOf([id]);
    assert.equal(panel.length, 3);
    for (const m of panel) {
      assert.ok(![poster.account.address, ...workers.map((w) => w.address)].some((x) => x.toLowerCase() === m.toLowerCase()), "panel excludes the poster and the job's workers");
    }
    // the worker publishes the state behind the agreed leaf for the panel; nobody else may
    const witness = keccak256(toHex("witness blob id"));
    await rejects(ctx.game.write.postWitness([id, witness], { account: referees[0].wallet.account }), "NotAParty");
    const h = await ctx.game.write.postWitness([id, witness], { account: a.wallet.account });
    const rc = await ctx.publicClient.waitForTransactionReceipt({ hash: h });
    const posted = parseEventLogs({ abi: ctx.game.abi, logs: rc.logs, eventName: "WitnessPosted" });
    assert.equal(posted.length, 1);
    assert.equal(posted[0].args.witness, witness);
    assert.equal(posted[0].args.id, id);
    await panelVotesStep(ctx, referees, id, true);
    await ctx.game.write.resolve([id]);
    assert.equal((await ctx.game.read.disputeOf([id])).phase, PHASE.Closed);
    await rejects(ctx.game.write.postWitness([id, witness], { account: a.wallet.account }), "WrongPhase"); // only while a panel judges
    assert.equal(await ctx.game.read.balanceOf([a.address]), 20n * E18, "the poster's bond goes to the worker");
    assert.equal((await ctx.market.read.workerSlot([jobId, a.address])).bond, 50n * E18, "bond intact");
    assert.equal(await stakeOf(ctx, a.address), 1_000n * E18);
  });

  it("2. a blocking minority is settled, not forgiven: the expired round pays the honest voters and slashes the blockers", async () => {
    const { ctx, workers, referees, jobId } = await setup({ quorumBps: 10_000 });
    const [a, b, c] = workers;
    for (const w of workers) await commit(ctx, w, jobId, 0);
    await vote(ctx, a, jobId, 0, modelHashFor(jobId, 0), 0b111);
    await vote(ctx, b, jobId, 0, modelHashFor(jobId, 0), 0b111);
    await vote(ctx, c, jobId, 0, keccak256(toHex("garbage")), 0b111);
    await t.increase(400);
    await ctx.market.write.expireRound([jobId]);
    const reserve = await ctx.market.read.reservedFor([jobId, 0]);
    assert.equal(reserve, 3n * (10n * E18 + (10n * E18 * 200n) / 10_000n), "the voters' escrow is reserved");
    await challengeBond(ctx, a.wallet);
    await ctx.game.write.challengeRound([jobId, 0], { account: a.wallet.account });
    const id = await ctx.game.read.disputeCount();
    // one panel settles a round at a time: a second request could only fail when applied
    await challengeBond(ctx, b.wallet);
    await rejects(ctx.game.write.challengeRound([jobId, 0], { account: b.wallet.account }), "RoundDisputeOpen");
    assert.equal(await ctx.game.read.openRoundDispute([keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint32" }], [jobId, 0]))]), id);
    await panelVotesRound(ctx, referees, id, modelHashFor(jobId, 0), 0b111);
    await ctx.game.write.resolve([id]);
    assert.equal(await ctx.game.read.openRoundDispute([keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint32" }], [jobId, 0]))]), 0n);
    // settled: the reserve is gone, nothing is left to settle
    await rejects(ctx.game.write.challengeRound([jobId, 0], { account: b.wallet.account }), "NotChallengeable");
    assert.equal((await ctx.market.read.workerSlot([jobId, a.address])).paidRounds, 1);
    assert.equal((await ctx.market.read.workerSlot([jobId, b.address])).paidRounds, 1);
    const cs = await ctx.market.read.workerSlot([jobId, c.address]);
    assert.equal(cs.bond, 0n, "the blocker loses its whole bond");
    assert.equal(cs.active, false, "and leaves the job");
    assert.equal(await stakeOf(ctx, c.address), 950n * E18);
    assert.equal(await ctx.game.read.balanceOf([a.address]), 20n * E18, "settlement bond returned");
  });

  it("3. a Sybil majority finalizing garbage is overturned: Sybils slashed, the honest worker compensated and paid", async () => {
    const { ctx, poster, workers, referees, jobId } = await setup();
    const [h, s1, s2] = workers;
    for (const w of workers) await commit(ctx, w, jobId, 0);
    await vote(ctx, h, jobId, 0, modelHashFor(jobId, 0), 0b111);
    const garbage = keccak256(toHex("sybil model"));
    await vote(ctx, s1, jobId, 0, garbage, 0b110); // exclude the honest worker
    await vote(ctx, s2, jobId, 0, garbage, 0b110);
    assert.equal((await ctx.market.read.roundOf([jobId, 0])).status, 2, "the Sybils finalized");
    assert.equal(await stakeOf(ctx, h.address), 990n * E18, "the honest dissenter was penalised 20%");
    // the honest node challenges the finalized round; referees recompute the aggregate
    await challengeBond(ctx, h.wallet);
    await ctx.game.write.challengeRound([jobId, 0], { account: h.wallet.account });
    const id = await ctx.game.read.disputeCount();
    await panelVotesRound(ctx, referees, id, modelHashFor(jobId, 0), 0b111);
    await ctx.game.write.resolve([id]);
    for (const s of [s1, s2]) {
      const slot = await ctx.market.read.workerSlot([jobId, s.address]);
      assert.equal(slot.bond, 0n);
      assert.equal(slot.paidRounds, 0, "the Sybils' reward is clawed back");
      assert.equal(await stakeOf(ctx, s.address), 950n * E18);
    }
    assert.equal((await ctx.market.read.jobState([jobId])).status, 5, "the job built on a wrong model fails");
    // honest: penalty back + the round's reward + bounty share, bond released untouched
    const credited = await ctx.market.read.balanceOf([h.address]);
    assert.ok(credited >= 20n * E18, `honest worker compensated (credited ${credited})`);
    await releaseAll(ctx, jobId, workers);
    const total = (await ctx.market.read.balanceOf([h.address])) + (await stakeOf(ctx, h.address));
    assert.ok(total >= 1_000n * E18 + 10n * E18, "honest ends with at least stake + the round's reward");
    assert.ok((await ctx.market.read.balanceOf([poster.account.address])) > 0n, "the poster is refunded");
  });

  it("4. the poster cannot front-run the commits with cancelJob: commitments landing before the window ends are paid", async () => {
    const { ctx, poster, workers, jobId } = await setup();
    await ctx.market.write.cancelJob([jobId], { account: poster.account });
    assert.equal((await ctx.market.read.jobState([jobId])).status, 2, "still running until the commit window ends");
    await rejects(ctx.market.write.cancelJob([jobId], { account: poster.account }), "CancelPending");
    await commit(ctx, workers[0], jobId, 0);
    await commit(ctx, workers[1], jobId, 0);
    await t.increase(700);
    await ctx.market.write.expireRound([jobId]);
    assert.equal((await ctx.market.read.jobState([jobId])).status, 4);
    assert.equal((await ctx.market.read.workerSlot([jobId, workers[0].address])).paidRounds, 1);
    assert.equal((await ctx.market.read.workerSlot([jobId, workers[1].address])).paidRounds, 1);
    assert.equal((await ctx.market.read.workerSlot([jobId, workers[2].address])).paidRounds, 0);
  });

  it("5. an exact copy of another worker's update is rejected on chain", async () => {
    const { ctx, workers, jobId } = await setup();
    await commit(ctx, workers[0], jobId, 0);
    const copied = updateHashFor(jobId, 0, workers[0].address);
    await rejects(commit(ctx, workers[1], jobId, 0, 2.5, copied), "DuplicateUpdate");
  });

  it("6. trap terms are refused: windows shorter than the protocol minimum, penalties or bonds beyond its bounds", async () => {
    const ctx = await deployMarket(conn as never);
    const poster = ctx.others[0] as never;
    await rejects(createJob(ctx, poster, jobParams({ commitWindow: 10 })), "TermsOutOfBounds\\(1\\)");
    await rejects(createJob(ctx, poster, jobParams({ penaltyBps: 10_000 })), "TermsOutOfBounds\\(0\\)");
    await rejects(createJob(ctx, poster, jobParams({ voteWindow: 60 })), "TermsOutOfBounds\\(2\\)");
    await rejects(createJob(ctx, poster, jobParams({ challengeWindow: 600 })), "TermsOutOfBounds\\(3\\)");
    await rejects(createJob(ctx, poster, jobParams({ workerBond: 10n * E18 })), "TermsOutOfBounds\\(4\\)");
    await rejects(createJob(ctx, poster, jobParams({ workerBond: 100_000n * E18 })), "TermsOutOfBounds\\(5\\)");
    const l = await ctx.market.read.limits();
    assert.deepEqual({ ...l, maxBondToReward: Number(l.maxBondToReward) }, { maxPenaltyBps: 2_500, minCommitWindow: 300, minVoteWindow: 300, minChallengeWindow: 86_400, minBondToReward: 4, maxBondToReward: 1_000 });
    // the TypeScript check posters and workers run before any gas names the same bound the contract enforces
    const limits = await readMarketLimits(ctx.publicClient as never, ctx.market.address);
    assert.deepEqual(limitViolations(jobParams(), limits), []);
    const cases: [Partial<JobParams>, RegExp][] = [
      [{ commitWindow: 10 }, /commitWindow 10 s is below the market's minimum 300 s/],
      [{ penaltyBps: 10_000 }, /penaltyBps 10000 is above the market's maximum 2500/],
      [{ voteWindow: 60 }, /voteWindow 60 s/],
      [{ challengeWindow: 600 }, /challengeWindow 600 s/],
      [{ workerBond: 10n * E18 }, /below 4 × rewardPerRound/],
      [{ workerBond: 100_000n * E18 }, /above 1000 × rewardPerRound/],
    ];
    for (const [terms, message] of cases) {
      const v = limitViolations(jobParams(terms), limits);
      assert.equal(v.length, 1, JSON.stringify(v));
      assert.match(v[0], message);
    }
  });

  it("7. nobody can squat an attestation key: registering or rotating needs the key's own signature", async () => {
    const ctx = await deployMarket(conn as never);
    const [victim, squatter] = ctx.others as Provider["wallet"][];
    const key = privateKeyToAccount(generatePrivateKey());
    const report = keccak256(toHex("report"));
    await fund(ctx, squatter, 1_000n * E18, ctx.registry.address);
    const otherKey = privateKeyToAccount(generatePrivateKey());
    const wrongProof = await keyProof(ctx, otherKey, squatter.account.address, report);
    await rejects(ctx.registry.write.register([1_000n * E18, key.address, report, "", wrongProof], { account: squatter.account }), "InvalidKeyProof");
    // a proof made for the victim cannot be replayed by the squatter
    const victimProof = await keyProof(ctx, key, victim.account.address, report);
    await rejects(ctx.registry.write.register([1_000n * E18, key.address, report, "", victimProof], { account: squatter.account }), "InvalidKeyProof");
    await fund(ctx, victim, 1_000n * E18, ctx.registry.address);
    await ctx.registry.write.register([1_000n * E18, key.address, report, "", victimProof], { account: victim.account });
    // the proof is single-use (nonce) and rotation also needs the new key's signature
    const next = privateKeyToAccount(generatePrivateKey());
    await rejects(ctx.registry.write.rotateAttestationKey([next.address, report, victimProof], { account: victim.account }), "InvalidKeyProof");
    await ctx.registry.write.rotateAttestationKey([next.address, report, await keyProof(ctx, next, victim.account.address, report)], { account: victim.account });
    assert.equal((await ctx.registry.read.providerOf([victim.account.address])).attestationSigner, next.address);
  });

  it("8. fraud costs at least half the bond even when the cheater challenges itself; bisection finds the forged step", async () => {
    const { ctx, poster, workers, referees, jobId } = await setup();
    const [cheat, b, c] = workers;
    const forged = traceFor(jobId, 0, cheat.address, { forkAt: 2 });
    await commit(ctx, cheat, jobId, 0, 2.5, undefined, undefined, forged);
    await commit(ctx, b, jobId, 0);
    await commit(ctx, c, jobId, 0);
    // the cheater's accomplice (not a worker) challenges first; an honest auditor challenges too:
    // several challenges of one commitment may be open at once
    const accomplice = ctx.others[7] as Provider["wallet"];
    const auditor = ctx.others[8] as Provider["wallet"];
    await challengeBond(ctx, accomplice);
    await challengeBond(ctx, auditor);
    await ctx.game.write.challengeStep([jobId, 0, cheat.address, forged.leaves[4], forged.root], { account: accomplice.account });
    await ctx.game.write.challengeStep([jobId, 0, cheat.address, forged.leaves[4], forged.root], { account: auditor.account });
    const [idA, idH] = [1n, 2n];
    // honest bisection on dispute 2: the auditor agrees with leaves it reproduces
    const truth = traceFor(jobId, 0, cheat.address);
    await ctx.game.write.startBisection([idH, 5, forged.proof(4)], { account: cheat.wallet.account });
    for (let i = 0; i < 8; i++) {
      if ((await ctx.game.read.disputeOf([idH])).phase === PHASE.Refereeing) break;
      const [, , mid] = await ctx.game.read.interval([idH]);
      await ctx.game.write.revealMidpoint([idH, forged.leaves[mid], forged.proof(mid)], { account: cheat.wallet.account });
      await ctx.game.write.respondMidpoint([idH, forged.leaves[mid] === truth.leaves[mid]], { account: auditor.account });
    }
    const d = await ctx.game.read.disputeOf([idH]);
    assert.equal(d.hi, 2, "bisection ends on the forged step (into leaf 2)");
    assert.equal(d.loLeaf, truth.leaves[1]);
    await panelVotesStep(ctx, referees, idH, false);
    // the accomplice's dispute: the cheater plays along and stops answering, so it loses by timeout
    await t.increase(2 * 86_400);
    await ctx.game.write.resolve([idA]);
    await ctx.game.write.resolve([idH]);
    const slot = await ctx.market.read.workerSlot([jobId, cheat.address]);
    assert.equal(slot.bond, 0n, "whole bond slashed");
    assert.equal(slot.active, false);
    const accompliceGain = (await ctx.market.read.balanceOf([accomplice.account.address])) + (await ctx.game.read.balanceOf([accomplice.account.address])) - 20n * E18;
    const cheaterLoss = 1_000n * E18 - (await stakeOf(ctx, cheat.address));
    assert.ok(cheaterLoss - accompliceGain >= 25n * E18, `fraud costs the pair at least half the bond (lost ${cheaterLoss}, got back ${accompliceGain})`);
    // the bounty cap keeps it that way: no job can be created with a bounty above 50%
    await rejects(ctx.market.write.setChallengeBounty([5_001]), "InvalidBounty");
    assert.ok((await ctx.market.read.balanceOf([poster.account.address])) >= 0n);
  });

  it("9. admin powers are delayed and bounded: no instant MARKET_ROLE, and a market slashes only what it bonded", async () => {
    const { ctx, workers, jobId } = await setup();
    const role = await ctx.registry.read.MARKET_ROLE();
    const admin = ctx.deployer;
    await rejects(ctx.registry.write.grantRole([role, admin.account.address], { account: admin.account }), "GrantNotScheduled");
    await ctx.registry.write.scheduleGrant([role, admin.account.address], { account: admin.account });
    await rejects(ctx.registry.write.grantRole([role, admin.account.address], { account: admin.account }), "GrantNotReady");
    await t.increase(2 * 86_400);
    await ctx.registry.write.grantRole([role, admin.account.address], { account: admin.account });
    // even with the role, the admin slashes nothing: it bonded nothing (free stake and the market's bonds are out of reach)
    const before = await stakeOf(ctx, workers[0].address);
    await ctx.registry.write.slash([workers[0].address, 900n * E18], { account: admin.account });
    assert.equal(await stakeOf(ctx, workers[0].address), before);
    await rejects(ctx.registry.write.releaseBond([workers[0].address, 50n * E18], { account: admin.account }), "InsufficientBond");
    assert.equal(await ctx.registry.read.bondedBy([workers[0].address, ctx.market.address]), 50n * E18);
    // the market keeps working: cancel and release still pay out
    assert.equal((await ctx.market.read.jobState([jobId])).status, 2);
    // the admin role itself only changes hands after a delay
    assert.equal(Number(await ctx.registry.read.defaultAdminDelay()), 2 * 86_400);
  });

  it("10. pauses never cost workers: every pause extends the deadlines; a worker below the job's minimum bond leaves", async () => {
    const { ctx, workers, jobId } = await setup();
    const before = await ctx.market.read.roundOf([jobId, 0]);
    await ctx.market.write.pause();
    await t.increase(3_600);
    await ctx.market.write.unpause();
    await ctx.market.write.pause();
    await t.increase(1_800);
    await ctx.market.write.unpause();
    const after = await ctx.market.read.roundOf([jobId, 0]);
    assert.ok(after.commitDeadline >= before.commitDeadline + 5_400n, "both pauses extend the commit deadline");
    for (const w of workers) await commit(ctx, w, jobId, 0); // all in time: nobody absent
    assert.equal((await ctx.market.read.jobState([jobId])).activeMask, 0b111);
  });

  it("10b. a worker penalised below half its bond leaves the job (LowBond); quorum is counted over the round's committers", async () => {
    const { ctx, workers, jobId } = await setup({ penaltyBps: 2_500, rounds: 3 });
    const [a, b, c] = workers;
    for (let r = 0; r < 3; r++) {
      const s = await ctx.market.read.jobState([jobId]);
      if (s.status !== 2) break;
      for (const w of [a, b, c]) if ((s.activeMask & (1 << (w === a ? 0 : w === b ? 1 : 2))) !== 0) await commit(ctx, w, jobId, r);
      const committed = (await ctx.market.read.roundOf([jobId, r])).committedMask;
      if ((s.activeMask & 4) !== 0) await vote(ctx, c, jobId, r, keccak256(toHex("dissent")), committed);
      await vote(ctx, a, jobId, r, modelHashFor(jobId, r), committed);
      await vote(ctx, b, jobId, r, modelHashFor(jobId, r), committed);
    }
    const slot = await ctx.market.read.workerSlot([jobId, c.address]);
    assert.equal(slot.active, false, "c left after its bond fell below half");
    assert.ok(slot.bond * 2n < 50n * E18);
  });
});
