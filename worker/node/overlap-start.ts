/**
 * The one-step-delay overlap in the node (`training.overlap: true`, docs/training.md "The overlapped
 * schedule in the node"): which global state a round's training starts from, and the start point.
 *
 * A worker that committed round r − 1 trains round r right after that commit, while round r − 1 is
 * still being voted on, so the newest global state it has is round r − 1's start model x_{r−1}; it
 * starts from trainingStart(x_{r−1}, its state after round r − 1, the spec's rule) — the engine's rule
 * (worker/diloco/round/index.ts), exactly as the simulation runs it. A worker without a commitment in
 * round r − 1 (round 0, a missed round) has nothing to continue from and trains round r from x_r, as
 * in the synchronous schedule. Both cases are decided by public chain data, so every replayer (the
 * worker, the replay and snapshot audits, the referees) computes the same start.
 *
 * K (the worker count "eager-own" divides by) is the number of workers the job started with.
 */
import type { Address, Hex } from "viem";
import { trainingStart } from "../diloco/round/index.ts";
import type { GlobalState } from "../diloco/outer/index.ts";
import type { OverlapCarry, SnapshotOverlap } from "../diloco/trace/snapshot.ts";
import { overlapModeOf, type OverlapStart } from "../spec/job-spec.ts";
import type { JobContext } from "./job-context.ts";
import type { MarketReader } from "./market-reader.ts";

/** The job's overlap rule and K (the worker count at the start, fixed for the job whoever joins later), or undefined for the synchronous schedule. */
export function overlapOf(ctx: JobContext): { start: OverlapStart; workers: number } | undefined {
  const mode = overlapModeOf(ctx.spec);
  return mode === "off" ? undefined : { start: mode, workers: ctx.workerCount };
}

/** The round whose start model round `round`'s training derives from. */
export function basisRound(ctx: JobContext, round: number, committedPrevious: boolean): number {
  return overlapOf(ctx) && round > 0 && committedPrevious ? round - 1 : round;
}

/**
 * Where round training starts: the basis model's parameters (synchronous schedule, or no carried
 * state), else the spec's rule applied to the basis model and the carried state.
 */
export function startPoint(ctx: JobContext, basis: GlobalState, carry: OverlapCarry | null): Float32Array {
  const o = overlapOf(ctx);
  if (!o || !carry) return basis.params;
  return trainingStart(basis, { residual: null, lastStart: carry.lastStart, lastLocal: carry.lastLocal }, o.start, ctx.spec.training.outer, { workers: o.workers });
}

/** The overlap part of a round's snapshot (undefined for the synchronous schedule). */
export function snapshotOverlap(ctx: JobContext, carry: OverlapCarry | null): SnapshotOverlap | undefined {
  const o = overlapOf(ctx);
  return o ? { ...o, carry } : undefined;
}

/** The basis round of `worker`'s round `round` and its start model hash, from the chain. */
export async function roundBasis(ctx: JobContext, reader: MarketReader, jobId: bigint, round: number, worker: Address, starts?: Map<number, Hex>): Promise<{ round: number; hash: Hex }> {
  const prevCommitted = overlapOf(ctx) !== undefined && round > 0 && (await reader.commitment(jobId, round - 1, worker)) !== undefined;
  const r = basisRound(ctx, round, prevCommitted);
  const hash = (starts ?? (await reader.roundStartHashes(jobId))).get(r);
  if (!hash) throw new Error(`no RoundStarted event for round ${r} of job ${jobId}`);
  return { round: r, hash };
}
