/**
 * A market history that emits every kind of event: honest jobs, dissent, absence, cancellation,
 * a failed job, a deferred cancel, rewards credited at bond release, unbonding, key rotation, withdrawals. And a check
 * that the indexer's rows agree with the contracts' own views.
 */
import assert from "node:assert/strict";
import { encodeAbiParameters, getAddress, keccak256, parseAbiParameters, toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  commit,
  createJob,
  E18,
  fund,
  jobParams,
  keyProof,
  joinAll,
  modelHashFor,
  registerProvider,
  registerProviders,
  traceFor,
  vote,
  type Ctx,
  type Provider,
} from "../helpers/market.ts";
import type { Db } from "../../indexer/db/index.ts";
import { DisputeKind, DisputePhase, JobStatus, RoundStatus } from "../../shared/types.ts";

/**
 * test/helpers/market.ts types the deployed contracts as `never` under tsc here (the Ignition-viem
 * type extensions do not resolve); this view types them loosely for direct calls.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Contracts = { token: any; registry: any; market: any; game: any };
export const L = (ctx: Ctx) => ctx as unknown as Contracts;

export interface Scenario {
  providers: Provider[];
  poster: Provider["wallet"];
  arbiter: Provider["wallet"];
  jobIds: bigint[];
}

async function increaseTime(ctx: Ctx, seconds: number) {
  await ctx.conn.provider.request({ method: "evm_increaseTime", params: [seconds] });
  await ctx.conn.provider.request({ method: "evm_mine", params: [] });
}

/** Registers providers (others[1..n]); poster = others[0], arbiter = others[n+1]. */
export async function setupActors(ctx: Ctx, n = 4): Promise<Pick<Scenario, "providers" | "poster" | "arbiter">> {
  const providers = await registerProviders(ctx, n, 1);
  return { providers, poster: ctx.others[0] as Provider["wallet"], arbiter: ctx.others[n + 1] as Provider["wallet"] };
}

/** One honest job of `rounds` rounds with the given workers, driven to completion. */
export async function honestJob(ctx: Ctx, poster: Provider["wallet"], workers: Provider[], rounds: number, _arbiter?: Address, loss = (r: number, i: number) => 3 - r * 0.25 + i * 0.01): Promise<bigint> {
  const jobId = await createJob(ctx, poster, jobParams({ rounds, maxWorkers: workers.length, minWorkers: Math.min(2, workers.length) }));
  await joinAll(ctx, jobId, workers);
  const mask = (2 ** workers.length - 1) >>> 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < workers.length; i++) await commit(ctx, workers[i], jobId, r, loss(r, i));
    for (const p of workers) {
      const s = await L(ctx).market.read.jobState([jobId]);
      if (s.currentRound !== r || s.status !== 2) break;
      await vote(ctx, p, jobId, r, modelHashFor(jobId, r), mask);
    }
  }
  return jobId;
}

export async function runScenario(ctx: Ctx): Promise<Scenario> {
  const { providers, poster, arbiter } = await setupActors(ctx, 4);
  const [p0, p1, p2, p3] = providers;
  const arb = arbiter.account.address;
  const jobIds: bigint[] = [];

  // A: honest, 2 rounds, 3 workers → Completed
  const a = await honestJob(ctx, poster, [p0, p1, p2], 2, arb);
  jobIds.push(a);
  // rewards stay in the market until the bond is released after the challenge window
  await increaseTime(ctx, 86_401);
  for (const p of [p0, p1, p2]) await L(ctx).market.write.releaseBond([a, p.address], { account: p.wallet.account });
  await L(ctx).market.write.withdraw({ account: p0.wallet.account });
  assert.equal(await L(ctx).market.read.balanceOf([p1.address]), 2n * 10n * E18, "two rounds' rewards credited at release");

  // B: round 0 with a dissenter, then cancelled mid round 1 after one commitment
  const b = await createJob(ctx, poster, jobParams({ rounds: 3, maxWorkers: 3, minWorkers: 2 }));
  jobIds.push(b);
  await joinAll(ctx, b, [p0, p1, p3]);
  for (const p of [p0, p1, p3]) await commit(ctx, p, b, 0, 2.0);
  await vote(ctx, p0, b, 0, modelHashFor(b, 0), 0b111);
  await vote(ctx, p3, b, 0, keccak256(toHex("wrong")), 0b111);
  await vote(ctx, p1, b, 0, modelHashFor(b, 0), 0b111);
  await commit(ctx, p0, b, 1, 1.9);
  // a cancel during a commit window is deferred to the window's end (issue 13): the round in flight
  // stays open for its committers, and expireRound executes the cancel once the window has passed
  await L(ctx).market.write.cancelJob([b], { account: poster.account });
  assert.equal(JobStatus[(await L(ctx).market.read.jobState([b])).status], "Running", "cancel deferred");

  // (challenges moved to the DisputeGame in issue 13; the indexer does not follow its events yet)
  void arb;

  // provider 3: unbonding, stake, metadata, key rotation
  await L(ctx).registry.write.requestUnbond([10n * E18], { account: p3.wallet.account });
  await L(ctx).registry.write.cancelUnbond({ account: p3.wallet.account });
  await fund(ctx, p3.wallet, 5n * E18, L(ctx).registry.address);
  await L(ctx).registry.write.addStake([5n * E18], { account: p3.wallet.account });
  await L(ctx).registry.write.updateMetadata(["ipfs://meta-2"], { account: p3.wallet.account });
  const newKey = privateKeyToAccount(generatePrivateKey());
  await L(ctx).registry.write.rotateAttestationKey([newKey.address, keccak256(toHex("report-2")), await keyProof(ctx, newKey, p3.address, keccak256(toHex("report-2")))], { account: p3.wallet.account });
  p3.attestor = newKey;
  await L(ctx).registry.write.requestUnbond([7n * E18], { account: p3.wallet.account });

  // C: nobody joins → Failed after the join window; D: one absentee → removed, job Failed
  const c = await createJob(ctx, poster, jobParams({ rounds: 1, maxWorkers: 2, minWorkers: 2, joinWindow: 100 }));
  jobIds.push(c);
  const d = await createJob(ctx, poster, jobParams({ rounds: 2, maxWorkers: 2, minWorkers: 2, commitWindow: 300, voteWindow: 300 }));
  jobIds.push(d);
  await joinAll(ctx, d, [p2, p3]);
  await commit(ctx, p2, d, 0, 2.2);
  await increaseTime(ctx, 3_700);
  await L(ctx).market.write.expireRound([b], { account: poster.account });
  assert.equal(JobStatus[(await L(ctx).market.read.jobState([b])).status], "Cancelled", "deferred cancel executed");
  await L(ctx).market.write.expireRound([c], { account: poster.account });
  await L(ctx).market.write.expireRound([d], { account: poster.account });
  await L(ctx).market.write.withdraw({ account: poster.account });
  return { providers, poster, arbiter, jobIds };
}

/** Compares the indexed rows with the contracts' views. */
export async function verifyAgainstChain(db: Db, ctx: Ctx): Promise<void> {
  const { prisma } = db;
  const count = await L(ctx).market.read.jobCount();
  assert.equal(await prisma.job.count(), Number(count), "job count");
  const accounts = new Set<Address>();
  for (let id = 1n; id <= count; id++) {
    const s = await L(ctx).market.read.jobState([id]);
    const p = await L(ctx).market.read.jobParams([id]);
    const row = await prisma.job.findUnique({ where: { id } });
    assert.ok(row, `job ${id}`);
    assert.equal(row.status, JobStatus[s.status], `job ${id} status`);
    assert.equal(row.poster, getAddress(s.poster));
    accounts.add(getAddress(s.poster));
    assert.equal(row.escrow, s.escrow.toString(), `job ${id} escrow`);
    assert.equal(row.modelHash, s.modelHash, `job ${id} model hash`);
    assert.equal(row.workerCount, s.workerCount, `job ${id} workers`);
    assert.equal(row.rewardPerRound, p.rewardPerRound.toString());
    assert.equal(row.token, getAddress(await L(ctx).market.read.token()));
    if (row.startedAt !== null) assert.equal(row.currentRound, s.currentRound, `job ${id} round`);
    assert.equal(row.endedAt === null ? 0n : row.endedAt, s.endedAt, `job ${id} endedAt`);
    assert.equal(row.createdAt, s.createdAt, `job ${id} createdAt`);
    assert.equal(row.openDisputes, await L(ctx).market.read.openDisputesOf([id]), `job ${id} open disputes`);
    assert.equal(row.reserved, (await L(ctx).market.read.reservedOf([id])).toString(), `job ${id} reserved escrow`);
    const cancelAt = await L(ctx).market.read.cancelAt([id]);
    if (cancelAt !== 0n) assert.equal(row.cancelAt, cancelAt, `job ${id} cancelAt`);
    const workers = await L(ctx).market.read.workersOf([id]);
    for (const w of workers) {
      accounts.add(getAddress(w));
      const slot = await L(ctx).market.read.workerSlot([id, w]);
      const wr = await prisma.jobWorker.findUnique({ where: { id: `${id}-${getAddress(w)}` } });
      assert.ok(wr, `worker ${w} of job ${id}`);
      assert.equal(wr.index, slot.index);
      assert.equal(wr.active, slot.active, `job ${id} worker ${w} active`);
      assert.equal(wr.bondReleased, slot.bondReleased);
      assert.equal(BigInt(wr.bond), slot.bond, `job ${id} worker ${w} bond (the slot as on chain: penalties subtracted, 0 once released)`);
    }
    const rounds = await prisma.round.findMany({ where: { jobId: id }, orderBy: { round: "asc" } });
    for (const r of rounds) {
      const onchain = await L(ctx).market.read.roundOf([id, r.round]);
      assert.equal(r.status, RoundStatus[onchain.status], `job ${id} round ${r.round} status`);
      assert.equal(r.committedMask, BigInt(onchain.committedMask), `job ${id} round ${r.round} committed`);
      assert.equal(r.votedMask, BigInt(onchain.votedMask), `job ${id} round ${r.round} voted`);
      // the chain's view extends a round's deadlines by every pause since it started
      const net = await prisma.network.findUniqueOrThrow({ where: { id: 1 } });
      assert.equal(net.pausedTotal, BigInt(await L(ctx).market.read.pausedTotal()), "paused time");
      assert.equal(r.commitDeadline + net.pausedTotal - r.pauseBase, onchain.commitDeadline, `job ${id} round ${r.round} commit deadline`);
      if (r.voteDeadline !== null) assert.equal(r.voteDeadline + net.pausedTotal - r.pauseBase, onchain.voteDeadline, `job ${id} round ${r.round} vote deadline`);
      const commits = await prisma.commitment.findMany({ where: { jobId: id, round: r.round } });
      assert.equal(commits.length, r.commitCount);
      // the trace root binds the commitment on chain: commitmentOf[keccak(job, round, update)] = keccak(worker, traceRoot)
      for (const c of commits) {
        const key = keccak256(encodeAbiParameters(parseAbiParameters("uint256, uint32, bytes32"), [id, r.round, c.updateHash as Hex]));
        const binding = keccak256(encodeAbiParameters(parseAbiParameters("address, bytes32"), [c.worker as Address, c.traceRoot as Hex]));
        assert.equal(await L(ctx).market.read.commitmentOf([key]), binding, `commitment ${c.id} trace root`);
      }
      const reserved = await L(ctx).market.read.reservedFor([id, r.round]);
      assert.equal(r.reserved !== null && r.verdict === null && r.reserveRefunded === null ? BigInt(r.reserved) : 0n, reserved, `job ${id} round ${r.round} reserve`);
    }
  }
  await verifyDisputes(db, ctx, accounts);
  for (const p of await prisma.provider.findMany()) {
    const onchain = await L(ctx).registry.read.providerOf([p.address as Address]);
    assert.equal(p.stake, onchain.stake.toString(), `provider ${p.address} stake`);
    assert.equal(p.bonded, onchain.bonded.toString(), `provider ${p.address} bonded`);
    assert.equal(p.unbonding, onchain.unbonding.toString(), `provider ${p.address} unbonding`);
    assert.equal(p.attestationSigner, getAddress(onchain.attestationSigner));
  }
  const treasury = await L(ctx).market.read.treasury();
  accounts.add(getAddress(treasury));
  for (const acc of accounts) {
    const row = await prisma.account.findUnique({ where: { address: acc } });
    const bal = await L(ctx).market.read.balanceOf([acc]);
    assert.equal(row?.balance ?? "0", bal.toString(), `balance of ${acc}`);
  }
  // escrow invariant: Σ live escrow == network.escrowed
  const net = await prisma.network.findUnique({ where: { id: 1 } });
  const live = await prisma.job.findMany({ where: { status: { in: ["Open", "Running"] } } });
  assert.equal(net?.escrowed, live.reduce((s, j) => s + BigInt(j.escrow), 0n).toString(), "network escrow");
}

// ------------------------------------------------------------------ disputes (DisputeGame)

export const PHASE = Object.fromEntries(DisputePhase.map((p, i) => [p, i])) as Record<(typeof DisputePhase)[number], number>;

export interface DisputeScenario {
  jobId: bigint;
  workers: Provider[];
  referees: Provider[];
  cheater: Provider;
  /** The step dispute's challenger (the job's poster). */
  poster: Address;
  /** The fraud dispute on the cheater's round-0 commitment (upheld by a 2-1 panel). */
  stepId: bigint;
  /** A challenge of the finalized round 0 that the panel rejects. */
  rejectedId: bigint;
  /** The settlement of round 1, which expired with split votes. */
  settleId: bigint;
  /** A second job whose round 0 a Sybil majority finalized with garbage: overturned, the job failed. */
  overturnedJob: bigint;
  overturnId: bigint;
  /** A third job whose expired round's reserve nobody settled: released to the poster. */
  releasedJob: bigint;
}

/**
 * A job with disputes in the DisputeGame: three referees (registered providers outside the job)
 * join the game; worker 2 commits a forged trace in round 0, the poster challenges it and bisects
 * down to the forged step, the panel upholds it 2-1 (the minority referee is slashed); a challenge of
 * the finalized round 0 is rejected; round 1 expires with split votes and is settled by referees
 * (the wrong voter slashed, its reward clawed back); in a second job a Sybil majority finalizes
 * garbage and the referees overturn it (the job fails); in a third an expired round's reserve is
 * released to the poster after the challenge window; the market is paused and unpaused; a referee
 * leaves and a challenger withdraws. Uses spare wallets others[6..12] (others[first..first + 6] with
 * `first`).
 */
export async function runDisputeScenario(ctx: Ctx, hooks: { beforeSettlement?: () => Promise<void>; first?: number } = {}): Promise<DisputeScenario> {
  const game = L(ctx).game;
  const f = hooks.first ?? 6;
  const poster = ctx.others[f] as Provider["wallet"];
  const workers: Provider[] = [];
  for (const i of [f + 1, f + 2, f + 3]) workers.push(await registerProvider(ctx, ctx.others[i] as Provider["wallet"]));
  const referees: Provider[] = [];
  for (const i of [f + 4, f + 5, f + 6]) {
    const r = await registerProvider(ctx, ctx.others[i] as Provider["wallet"]);
    await fund(ctx, r.wallet, 100n * E18, game.address);
    await game.write.registerReferee({ account: r.wallet.account });
    referees.push(r);
  }
  const [w0, w1, cheat] = workers;
  const jobId = await createJob(ctx, poster, jobParams({ rounds: 2, maxWorkers: 3, minWorkers: 2 }));
  await joinAll(ctx, jobId, workers);
  // round 0: the cheater's trace forks at step 2 (its update differs too); everyone votes the same model
  const truth = traceFor(jobId, 0, cheat.address);
  const forged = traceFor(jobId, 0, cheat.address, { forkAt: 2 });
  await commit(ctx, w0, jobId, 0, 2.5);
  await commit(ctx, w1, jobId, 0, 2.5);
  await commit(ctx, cheat, jobId, 0, 2.5, undefined, undefined, forged);
  for (const w of workers) {
    if ((await L(ctx).market.read.jobState([jobId])).currentRound !== 0) break; // finalized by the quorum
    await vote(ctx, w, jobId, 0, modelHashFor(jobId, 0), 0b111);
  }

  // the poster challenges the cheater's commitment and bisects
  await fund(ctx, poster, 20n * E18, game.address);
  const last = forged.leaves.length - 1;
  await game.write.challengeStep([jobId, 0, cheat.address, forged.leaves[last], forged.root], { account: poster.account });
  const stepId: bigint = await game.read.disputeCount();
  await game.write.startBisection([stepId, forged.leaves.length, forged.proof(last)], { account: cheat.wallet.account });
  for (let i = 0; i < 8; i++) {
    if ((await game.read.disputeOf([stepId])).phase === PHASE.Refereeing) break;
    const [, , mid] = await game.read.interval([stepId]);
    await game.write.revealMidpoint([stepId, forged.leaves[mid], forged.proof(mid)], { account: cheat.wallet.account });
    await game.write.respondMidpoint([stepId, forged.leaves[mid] === truth.leaves[mid]], { account: poster.account });
  }
  assert.equal((await game.read.disputeOf([stepId])).phase, PHASE.Refereeing, "bisection ended on one step");
  // both sides publish the witness of the agreed state for the panel
  await game.write.postWitness([stepId, keccak256(toHex("witness by the worker"))], { account: cheat.wallet.account });
  await game.write.postWitness([stepId, keccak256(toHex("witness by the challenger"))], { account: poster.account });
  // two referees find the step wrong, one votes with the worker (and is slashed as the minority)
  const panel = (await game.read.panelOf([stepId])) as Address[];
  for (const [i, a] of panel.entries()) {
    const r = referees.find((x) => x.address.toLowerCase() === a.toLowerCase())!;
    await game.write.voteStep([stepId, i === 0], { account: r.wallet.account });
  }
  await game.write.resolve([stepId]);
  assert.equal((await L(ctx).market.read.workerSlot([jobId, cheat.address])).active, false, "the cheater was removed");

  // a challenge of the finalized round 0 that the referees reject (they recompute the same result)
  await fund(ctx, w0.wallet, 20n * E18, game.address);
  await game.write.challengeRound([jobId, 0], { account: w0.wallet.account });
  const rejectedId: bigint = await game.read.disputeCount();
  for (const a of (await game.read.panelOf([rejectedId])) as Address[]) {
    const r = referees.find((x) => x.address.toLowerCase() === a.toLowerCase())!;
    await game.write.voteRound([rejectedId, modelHashFor(jobId, 0), 0b111], { account: r.wallet.account });
  }
  await game.write.resolve([rejectedId]);

  // round 1: the two remaining workers vote different results; the round expires and is settled
  await commit(ctx, w0, jobId, 1, 2.4);
  await commit(ctx, w1, jobId, 1, 2.4);
  await vote(ctx, w0, jobId, 1, modelHashFor(jobId, 1), 0b011);
  await vote(ctx, w1, jobId, 1, keccak256(toHex("wrong aggregate")), 0b011);
  await increaseTime(ctx, 400);
  await L(ctx).market.write.expireRound([jobId], { account: poster.account });
  assert.ok((await L(ctx).market.read.reservedFor([jobId, 1])) > 0n, "the voters' escrow is reserved");
  await hooks.beforeSettlement?.();
  await fund(ctx, w0.wallet, 20n * E18, game.address);
  await game.write.challengeRound([jobId, 1], { account: w0.wallet.account });
  const settleId: bigint = await game.read.disputeCount();
  for (const a of (await game.read.panelOf([settleId])) as Address[]) {
    const r = referees.find((x) => x.address.toLowerCase() === a.toLowerCase())!;
    await game.write.voteRound([settleId, modelHashFor(jobId, 1), 0b011], { account: r.wallet.account });
  }
  await game.write.resolve([settleId]);
  assert.equal((await L(ctx).market.read.workerSlot([jobId, w1.address])).active, false, "the wrong voter was removed");

  // a Sybil majority (w1 and the cheater) finalizes garbage that excludes w0; w0 has it overturned
  const overturnedJob = await createJob(ctx, poster, jobParams({ rounds: 2, maxWorkers: 3, minWorkers: 2 }));
  await joinAll(ctx, overturnedJob, workers);
  for (const w of workers) await commit(ctx, w, overturnedJob, 0, 2.2);
  const garbage = keccak256(toHex("sybil model"));
  await vote(ctx, w0, overturnedJob, 0, modelHashFor(overturnedJob, 0), 0b111);
  await vote(ctx, w1, overturnedJob, 0, garbage, 0b110);
  await vote(ctx, cheat, overturnedJob, 0, garbage, 0b110);
  assert.equal(RoundStatus[(await L(ctx).market.read.roundOf([overturnedJob, 0])).status], "Finalized");
  await fund(ctx, w0.wallet, 20n * E18, game.address);
  await game.write.challengeRound([overturnedJob, 0], { account: w0.wallet.account });
  const overturnId: bigint = await game.read.disputeCount();
  for (const a of (await game.read.panelOf([overturnId])) as Address[]) {
    const r = referees.find((x) => x.address.toLowerCase() === a.toLowerCase())!;
    await game.write.voteRound([overturnId, modelHashFor(overturnedJob, 0), 0b111], { account: r.wallet.account });
  }
  await game.write.resolve([overturnId]);
  assert.equal(JobStatus[(await L(ctx).market.read.jobState([overturnedJob])).status], "Failed", "a job built on a wrong model fails");

  // an expired round's reserve that nobody asks referees to settle goes back to the poster
  const releasedJob = await createJob(ctx, poster, jobParams({ rounds: 1, maxWorkers: 2, minWorkers: 2 }));
  await joinAll(ctx, releasedJob, [w0, w1]);
  await commit(ctx, w0, releasedJob, 0, 2.1);
  await commit(ctx, w1, releasedJob, 0, 2.1);
  await vote(ctx, w0, releasedJob, 0, modelHashFor(releasedJob, 0), 0b11);
  await vote(ctx, w1, releasedJob, 0, garbage, 0b11);
  await increaseTime(ctx, 400);
  await L(ctx).market.write.expireRound([releasedJob], { account: poster.account });
  await increaseTime(ctx, 86_401);
  await ctx.marketModule.write.releaseReserve([releasedJob, 0], { account: poster.account });
  assert.equal(await L(ctx).market.read.reservedFor([releasedJob, 0]), 0n);
  await L(ctx).market.write.pause({ account: ctx.deployer.account });
  await L(ctx).market.write.unpause({ account: ctx.deployer.account });

  // a referee leaves (its stake credited in the game) and the poster withdraws its game balance
  await game.write.leaveReferees({ account: referees[2].wallet.account });
  await game.write.withdraw({ account: poster.account });
  return { jobId, workers, referees, cheater: cheat, poster: poster.account.address, stepId, rejectedId, settleId, overturnedJob, overturnId, releasedJob };
}

const ZERO = "0x0000000000000000000000000000000000000000";
const ZERO32 = `0x${"0".repeat(64)}`;

/** Compares the dispute, panel, referee and game-balance rows with the DisputeGame's views. */
export async function verifyDisputes(db: Db, ctx: Ctx, accounts: Set<Address> = new Set()): Promise<void> {
  const { prisma } = db;
  const game = L(ctx).game;
  const count: bigint = await game.read.disputeCount();
  assert.equal(await prisma.dispute.count(), Number(count), "dispute count");
  for (let id = 1n; id <= count; id++) {
    const d = await game.read.disputeOf([id]);
    const row = await prisma.dispute.findUnique({ where: { id } });
    assert.ok(row, `dispute ${id}`);
    assert.equal(row.kind, DisputeKind[d.kind], `dispute ${id} kind`);
    assert.equal(row.phase, DisputePhase[d.phase], `dispute ${id} phase`);
    assert.equal(row.jobId, d.jobId);
    assert.equal(row.round, d.round);
    assert.equal(row.worker, d.worker === ZERO ? null : getAddress(d.worker), `dispute ${id} worker`);
    assert.equal(row.challenger, getAddress(d.challenger));
    assert.equal(row.bond, d.bond.toString(), `dispute ${id} bond`);
    assert.equal(row.traceRoot, d.traceRoot === ZERO32 ? null : d.traceRoot, `dispute ${id} trace root`);
    assert.equal(row.panelCount, d.panels, `dispute ${id} panels`);
    assert.equal(row.votes, d.votes, `dispute ${id} votes`);
    assert.equal(row.deadline, d.deadline, `dispute ${id} deadline`);
    assert.equal(row.pauseBase, d.pauseBase, `dispute ${id} pause base`);
    assert.equal(row.phase === "Closed", row.verdict !== null, `dispute ${id}: a verdict exactly when closed`);
    accounts.add(getAddress(d.challenger));
    if (d.worker !== ZERO) accounts.add(getAddress(d.worker));
    if (d.kind === 0 && row.lo !== null) {
      const [lo, hi] = await game.read.interval([id]);
      assert.equal(BigInt(row.lo), lo, `dispute ${id} agreed index`);
      if (row.hi !== null) assert.equal(row.hi, hi, `dispute ${id} disputed index`);
      assert.equal(row.hiLeaf, d.hiLeaf, `dispute ${id} disputed leaf`);
      assert.equal(row.loLeaf ?? ZERO32, d.loLeaf, `dispute ${id} agreed leaf`);
    }
    const moves = await prisma.disputeMove.count({ where: { disputeId: id, kind: "Answered" } });
    assert.equal(moves, row.moveCount);
    // the current panel: the same referees as the game's
    const panel = ((await game.read.panelOf([id])) as Address[]).map((a) => getAddress(a)).sort();
    const members = await prisma.panelMember.findMany({ where: { disputeId: id, panelNumber: row.panelCount } });
    assert.deepEqual(members.map((m) => m.referee).sort(), panel, `dispute ${id} panel`);
    const p = await prisma.disputePanel.findUnique({ where: { id: `${id}-${row.panelCount}` } });
    if (row.panelCount > 0) {
      assert.equal(p?.size, panel.length);
      assert.equal(p?.votes, members.filter((m) => m.vote !== null).length);
    }
  }
  const registered = new Set(((await game.read.referees()) as Address[]).map((a) => getAddress(a)));
  assert.equal(await prisma.referee.count({ where: { registered: true } }), registered.size, "registered referees");
  for (const r of await prisma.referee.findMany()) {
    const onchain = await game.read.refereeOf([r.address as Address]);
    assert.equal(r.registered, onchain.registered, `referee ${r.address} registered`);
    assert.equal(r.registered, registered.has(r.address as Address));
    assert.equal(r.openPanels, onchain.openPanels, `referee ${r.address} open panels`);
    assert.equal(r.stake, onchain.stake.toString(), `referee ${r.address} stake`);
    accounts.add(r.address as Address);
  }
  accounts.add(getAddress(await L(ctx).market.read.treasury()));
  for (const acc of accounts) {
    const row = await prisma.account.findUnique({ where: { address: acc } });
    assert.equal(row?.gameBalance ?? "0", (await game.read.balanceOf([acc])).toString(), `game balance of ${acc}`);
  }
  const net = await prisma.network.findUnique({ where: { id: 1 } });
  if (net) {
    assert.equal(net.disputeGame, getAddress(game.address));
    assert.equal(net.disputesOpened, Number(count));
    assert.equal(net.referees, registered.size);
  }
}
