/**
 * Replay audit (DESIGN.md §3): recomputes a worker's committed update bit for bit from public data
 * (the spec, the global model each round started from, the worker's shard index) and compares its
 * hash with the commitment. Error feedback makes round r depend on the worker's earlier rounds, so
 * the replay runs every round the worker committed, from round 0 up to r; the first mismatch is the
 * finding. Optionally raises an on-chain challenge (posting the job's challenge bond).
 */
import { disputeGameAbi } from "../../shared/abis.ts";
import { getAddress, parseEventLogs, type Address, type Hex } from "viem";
import { testTokenAbi } from "../../shared/abis.ts";
import { gameAddress, pursueStepChallenge } from "./step-dispute.ts";
import { Verdict } from "./game-client.ts";
import type { RoundStart } from "./round-trace.ts";
import { decodeUpdate } from "../diloco/format/update.ts";
import { decodeSnapshot, sameCarriedState, type OverlapCarry, type SnapshotOverlap, type StateSnapshot } from "../diloco/trace/snapshot.ts";
import { basisRound, overlapOf, snapshotOverlap } from "./overlap-start.ts";
import { fetchGlobalState, loadJobContext, trainRound, type JobContext } from "./job-context.ts";
import type { Provider } from "./provider.ts";
import type { MarketReader } from "./market-reader.ts";
import type { BlobStore } from "../../blobstore/types.ts";
import type { InnerState } from "../diloco/types.ts";
import { JAX_BACKEND, probeCapabilities, type BackendChoice } from "./trainer-backend.ts";
import { toleranceCheck } from "./tolerance-audit.ts";
import { decodeJobSpec, trainerOf } from "../spec/job-spec.ts";
import { decodeLoss } from "../../shared/eip712.ts";

export interface AuditResult {
  jobId: bigint;
  round: number;
  worker: Address;
  committedHash: Hex;
  replayedHash: Hex;
  match: boolean;
  /** First round whose replay differs from the commitment (≤ round), if any. */
  firstMismatchRound?: number;
  /** "replay": bit-exact, the auditor is in the job's determinism class; "tolerance": another class,
   *  compared within the spec's `trainer.tolerance` (docs/training.md). */
  mode: "replay" | "tolerance";
  /** Tolerance mode: the measured distance of the audited round. */
  tolerance?: { relL2: number; lossDiff: number };
  challengeId?: bigint;
  /** With a challenge: how the dispute ended (the DisputeResolved verdict). */
  verdict?: "Upheld" | "Rejected" | "Dropped";
  /** Rounds the audit trained: from the snapshots the updates name, at most the audited round and the
   *  worker's previous committed one (constant in the round); otherwise every committed round from 0. */
  replayedRounds: number[];
  /** "snapshot": started from the state snapshot named by the audited round's update; "round 0": full replay. */
  from: "snapshot" | "round 0";
}

/** The auditor's own trace of the first mismatching round and the start state it was trained from. */
export interface ReplayEvidence {
  round: number;
  leaves: Hex[];
  start: RoundStart;
}

/** Replays `worker`'s rounds 0..round and compares hashes (no transaction). */
export async function replayWorker(reader: MarketReader, blobs: BlobStore, jobId: bigint, round: number, workerIn: Address, backend?: BackendChoice): Promise<Omit<AuditResult, "challengeId"> & { evidence?: ReplayEvidence }> {
  const worker = getAddress(workerIn);
  const slot = await reader.slot(jobId, worker);
  if (!slot.joined) throw new Error(`${worker} is not a worker of job ${jobId}`);
  const job = await reader.jobState(jobId);
  if (round > job.currentRound) throw new Error(`round ${round} has not started (job ${jobId} is at round ${job.currentRound})`);
  const params = await reader.jobParams(jobId);
  const spec = decodeJobSpec(await blobs.get(params.specHash));
  const want = trainerOf(spec);
  const mine = await probeCapabilities(backend ?? JAX_BACKEND);
  const crossClass = mine.backend !== want.backend || mine.determinismClass !== want.determinism;
  if (crossClass && !want.tolerance) throw new Error(`job ${jobId} pins ${want.backend} "${want.determinism}" and declares no cross-class tolerance; this auditor runs ${mine.backend} "${mine.determinismClass}": audit it from a worker in the job's class`);
  const ctx = await loadJobContext({ jobId, params, workerCount: await reader.startWorkerCount(jobId), blobs, backend, crossClass });
  if (!crossClass) {
    // the snapshot audit runs on the job's determinism class only: it compares states bit for bit
    let fromSnapshot: ReplayOutcome | undefined;
    try {
      fromSnapshot = await replayFromSnapshot(ctx, reader, blobs, jobId, round, worker, slot.index);
    } catch (err) {
      await ctx.trainer.dispose();
      throw err;
    }
    if (fromSnapshot) {
      await ctx.trainer.dispose();
      return fromSnapshot;
    }
  }
  let tolerance: { relL2: number; lossDiff: number } | undefined;
  const starts = await reader.roundStartHashes(jobId);
  let residual: Float32Array | null = null;
  let innerState: InnerState | null = null;
  /** Overlap: the state the worker's last replayed round hands over, and that round. */
  let carry: OverlapCarry | null = null;
  let lastReplayed = -1;
  let committedHash: Hex | undefined;
  let replayedHash: Hex | undefined;
  let firstMismatchRound: number | undefined;
  let evidence: ReplayEvidence | undefined;
  const replayedRounds: number[] = [];
  for (let r = 0; r <= round; r++) {
    const commit = (await reader.commitments(jobId, r)).find((c) => c.worker === worker);
    if (!commit) {
      if (r === round) throw new Error(`${worker} committed nothing in round ${round} of job ${jobId}`);
      continue;
    }
    // under overlap a round right after a committed one starts from that round's state and start model
    const follows = lastReplayed === r - 1;
    const startHash = starts.get(basisRound(ctx, r, follows));
    if (!startHash) throw new Error(`no RoundStarted event for round ${basisRound(ctx, r, follows)} of job ${jobId}`);
    const global = await fetchGlobalState(ctx, blobs, startHash);
    replayedRounds.push(r);
    const out = await trainRound(ctx, { global, startModelHash: startHash, residual, innerState, carry: follows ? carry : null, round: r, workerIndex: slot.index });
    const startOf: RoundStart = { startModelHash: startHash, params: out.start, residual, innerState, round: r, workerIndex: slot.index };
    residual = out.nextState.residual;
    innerState = out.train.innerState ?? null;
    carry = out.carryOut;
    lastReplayed = r;
    let same = out.hash === commit.updateHash.toLowerCase();
    if (crossClass) {
      const check = toleranceCheck({ committed: await blobs.get(commit.updateHash), replayed: out.bytes, layout: ctx.trainer.layout, committedLoss: decodeLoss(commit.trainLoss), replayedLoss: out.train.losses.reduce((a, b) => a + b, 0) / out.train.losses.length, tolerance: want.tolerance! });
      same = check.pass;
      if (r === round) tolerance = { relL2: check.relL2, lossDiff: check.lossDiff };
    }
    if (!same && firstMismatchRound === undefined) {
      firstMismatchRound = r;
      if (!crossClass) evidence = { round: r, leaves: out.traceLeaves, start: startOf };
    }
    if (r === round) {
      committedHash = commit.updateHash;
      replayedHash = out.hash;
    }
  }
  await ctx.trainer.dispose();
  return { jobId, round, worker, committedHash: committedHash!, replayedHash: replayedHash!, match: firstMismatchRound === undefined, firstMismatchRound, mode: crossClass ? "tolerance" : "replay", ...(tolerance ? { tolerance } : {}), ...(evidence ? { evidence } : {}), replayedRounds, from: "round 0" };
}

type ReplayOutcome = Omit<AuditResult, "challengeId"> & { evidence?: ReplayEvidence };

/** The state snapshot named by a commitment's update blob, or undefined when the update names none. */
async function snapshotOf(ctx: JobContext, blobs: BlobStore, updateHash: Hex): Promise<StateSnapshot | undefined> {
  const update = decodeUpdate(await blobs.get(updateHash), { expectedLayout: ctx.trainer.layout });
  if (!update.stateRef) return undefined;
  return decodeSnapshot(await blobs.get(update.stateRef));
}

/**
 * Why a snapshot cannot be `round`'s start for this worker, or undefined. `startHash` is the model the
 * round's start derives from (its own start model; under overlap after a committed round, the previous
 * round's) and `follows` whether the worker committed the round before (an overlapped round then
 * carries that round's state).
 */
function snapshotProblem(ctx: JobContext, s: StateSnapshot, round: number, index: number, startHash: Hex, follows: boolean): string | undefined {
  const t = ctx.spec.training;
  if (s.round !== round || s.workerIndex !== index) return `it names round ${s.round} of worker index ${s.workerIndex}`;
  if (s.startModelHash !== startHash.toLowerCase()) return `it starts from model ${s.startModelHash}, the round from ${startHash}`;
  if (s.size !== ctx.trainer.layout.size) return `it has ${s.size} parameters, the model ${ctx.trainer.layout.size}`;
  if (s.innerState && !t.keepInnerState) return "it carries AdamW moments the spec does not keep";
  if (s.residual && !t.compression.errorFeedback) return "it carries a residual without error feedback";
  const o = overlapOf(ctx);
  if (!o !== !s.overlap) return o ? "it has no overlap start state, and the job overlaps rounds" : "it has an overlap start state, and the job does not overlap rounds";
  if (o && s.overlap) {
    if (s.overlap.start !== o.start || s.overlap.workers !== o.workers) return `it starts by rule ${s.overlap.start} with K = ${s.overlap.workers}, the job by ${o.start} with K = ${o.workers}`;
    if ((s.overlap.carry !== null) !== (follows && round > 0)) return s.overlap.carry ? "it carries a previous round's state, and the worker did not commit the round before" : "it carries no previous round's state, and the worker committed the round before";
  }
  return undefined;
}

/**
 * Audit from the snapshots the updates name (issue 11): replays round `round` from the snapshot its
 * update names, and checks that snapshot by replaying the worker's previous committed round from that
 * round's own snapshot (its update must match and its end state must equal the snapshot bit for bit).
 * Two rounds of training whatever `round` is. Undefined when an update names no snapshot (older workers).
 */
async function replayFromSnapshot(ctx: JobContext, reader: MarketReader, blobs: BlobStore, jobId: bigint, round: number, worker: Address, index: number): Promise<ReplayOutcome | undefined> {
  const starts = await reader.roundStartHashes(jobId);
  const commitOf = async (r: number) => (await reader.commitments(jobId, r)).find((c) => c.worker === worker);
  const commit = await commitOf(round);
  if (!commit) throw new Error(`${worker} committed nothing in round ${round} of job ${jobId}`);
  let prev: number | undefined;
  for (let r = round - 1; r >= 0 && prev === undefined; r--) if (await commitOf(r)) prev = r;
  const snap = await snapshotOf(ctx, blobs, commit.updateHash);
  const prevCommit = prev !== undefined ? await commitOf(prev) : undefined;
  const prevSnap = prevCommit ? await snapshotOf(ctx, blobs, prevCommit.updateHash) : undefined;
  if (!snap || (prev !== undefined && !prevSnap)) return undefined;

  const replayedRounds: number[] = [];
  /** Whether the worker committed the round before `r` (under overlap, `r` then continues from it). */
  const follows = async (r: number) => r > 0 && (r - 1 === prev || (await commitOf(r - 1)) !== undefined);
  const basisHash = async (r: number) => {
    const b = basisRound(ctx, r, await follows(r));
    const h = starts.get(b);
    if (!h) throw new Error(`no RoundStarted event for round ${b} of job ${jobId}`);
    return h;
  };
  const run = async (r: number, s: { residual: Float32Array | null; innerState: InnerState | null; overlap?: SnapshotOverlap }) => {
    const startModelHash = await basisHash(r);
    const global = await fetchGlobalState(ctx, blobs, startModelHash);
    const out = await trainRound(ctx, { global, startModelHash, residual: s.residual, innerState: s.innerState, carry: s.overlap?.carry ?? null, round: r, workerIndex: index });
    const start: RoundStart = { startModelHash, params: out.start, residual: s.residual, innerState: s.innerState, round: r, workerIndex: index };
    replayedRounds.push(r);
    return { out, start, leaves: out.traceLeaves };
  };
  const base = { jobId, round, worker, committedHash: commit.updateHash, mode: "replay" as const, from: "snapshot" as const, replayedRounds };

  // 1. the previous committed round, from its snapshot: its update, then the state it hands over
  const fresh = snapshotOverlap(ctx, null);
  let carried: { residual: Float32Array | null; innerState: InnerState | null; overlap?: SnapshotOverlap } = { residual: null, innerState: null, ...(fresh ? { overlap: fresh } : {}) };
  if (prev !== undefined) {
    const problem = snapshotProblem(ctx, prevSnap!, prev, index, await basisHash(prev), await follows(prev));
    const p = await run(prev, problem ? carried : prevSnap!);
    if (problem || p.out.hash !== prevCommit!.updateHash.toLowerCase()) {
      return { ...base, replayedHash: p.out.hash, match: false, firstMismatchRound: prev, evidence: { round: prev, leaves: p.leaves, start: p.start } };
    }
    // under overlap the audited round continues from the previous one only when it directly follows it
    const overlap = snapshotOverlap(ctx, prev === round - 1 ? p.out.carryOut : null);
    carried = { residual: p.out.nextState.residual, innerState: ctx.spec.training.keepInnerState ? (p.out.train.innerState ?? null) : null, ...(overlap ? { overlap } : {}) };
  }
  // 2. the audited round must start from exactly that state
  const problem = snapshotProblem(ctx, snap, round, index, await basisHash(round), await follows(round)) ?? (sameCarriedState(carried, snap) ? undefined : "it is not the state the worker's previous round left");
  const r = await run(round, problem ? carried : snap);
  const match = !problem && r.out.hash === commit.updateHash.toLowerCase();
  return { ...base, replayedHash: r.out.hash, match, ...(match ? {} : { firstMismatchRound: round, evidence: { round, leaves: r.leaves, start: r.start } }) };
}

/**
 * Audits and, when asked and the replay differs, challenges the worker's commitment of the first
 * mismatching round, then plays the challenger's side of the dispute until it is closed (a missed
 * move loses the challenge bond): agrees with a revealed midpoint exactly when it equals its own
 * replay's leaf, publishes the witness of the agreed state for the referees, and resolves.
 */
export async function auditRound(p: Provider, opts: { jobId: bigint; round: number; worker: Address; challenge: boolean; signal?: AbortSignal }): Promise<AuditResult> {
  const { evidence, ...result }: AuditResult & { evidence?: ReplayEvidence } = await replayWorker(p.reader, p.blobs, opts.jobId, opts.round, opts.worker, p.config.backend);
  p.log(result.match ? "audit: commitment reproduced" : "audit: MISMATCH", { jobId: opts.jobId, round: opts.round, worker: result.worker, committed: result.committedHash, replayed: result.replayedHash, firstMismatchRound: result.firstMismatchRound });
  if (!result.match && opts.challenge) {
    // bisection needs the auditor's own bit-exact trace: only an auditor of the job's determinism class can pursue it
    if (!evidence) throw new Error(`a step challenge needs a bit-exact replay, and this auditor is outside the job's determinism class (${result.mode} audit): report the finding, or audit from a worker in the job's class`);
    const challengeRound = evidence.round;
    const params = await p.reader.jobParams(opts.jobId);
    const game = await gameAddress(p);
    if (!game) throw new Error("this deployment has no DisputeGame address (set GAME_ADDRESS or redeploy with Ignition)");
    const commitment = await p.reader.commitment(opts.jobId, challengeRound, result.worker);
    if (!commitment) throw new Error(`no commitment of ${result.worker} in round ${challengeRound}`);
    await p.sender.send({ address: p.config.addresses.token, abi: testTokenAbi, functionName: "approve", args: [game, params.challengeBond] });
    const receipt = await p.sender.send({ address: game, abi: disputeGameAbi, functionName: "challengeStep", args: [opts.jobId, challengeRound, result.worker, commitment.updateHash, commitment.traceRoot] });
    const opened = parseEventLogs({ abi: disputeGameAbi, logs: receipt.logs, eventName: "StepChallenged" });
    const id = opened[0].args.id;
    result.challengeId = id;
    p.log("challenge raised", { challengeId: id, jobId: opts.jobId, round: challengeRound, worker: result.worker });
    const job = await p.reader.jobState(opts.jobId);
    const ctx = await loadJobContext({ jobId: opts.jobId, params, workerCount: await p.reader.startWorkerCount(opts.jobId), blobs: p.blobs, backend: p.config.backend });
    try {
      await pursueStepChallenge(p, game, id, evidence.leaves, ctx, evidence.start, { pollMs: p.config.pollMs, signal: opts.signal });
    } finally {
      await ctx.trainer.dispose();
    }
    const resolved = await p.reader.client.getContractEvents({ address: game, abi: disputeGameAbi, eventName: "DisputeResolved", args: { id }, fromBlock: receipt.blockNumber });
    result.verdict = Verdict[resolved[0]?.args.verdict ?? 2];
    p.log("challenge closed", { challengeId: id, verdict: result.verdict });
  }
  return result;
}
