/**
 * One worker's side of a round, and the deterministic finalisation every replica runs.
 *
 * Worker state between rounds (replayable given the job spec and the global states):
 *   - `residual`: error-feedback buffer e_i (null when error feedback is off);
 *   - overlap mode only: `lastStart` s_i and `lastLocal` θ_i of the previous round, to rebase.
 *
 * Start point of round r (`trainingStart`):
 *   - synchronous schedule ("off"): s_i^r = x_r (the global params after r outer steps);
 *   - one-step-delay overlap: round r trains while round r−1 is being exchanged and aggregated, so the
 *     newest global state a worker has is (x_{r−1}, b_{r−1}); x_r arrives one round late. Two rules:
 *       "eager" (default): s_i^r = outer(x_{r−1}, b_{r−1}, Δ_i^{r−1}) — the worker applies the outer
 *         step locally with its own last pseudo-gradient standing in for the not-yet-known average,
 *         i.e. it continues from its local progress and, when the real aggregate arrives one round
 *         later, the prediction is replaced by it (Kale et al. 2025, "eager updates");
 *       "local": s_i^r = θ_i^{r−1} + (x_{r−1} − s_i^{r−1}) — its local params rebased on the newest
 *         global model (for r = 1 exactly θ_i^0), i.e. the aggregate of round r−2 folded in one round
 *         late. Measured to diverge with outer momentum 0.9 (the global model, extrapolated by the
 *         momentum, runs away from where the workers compute their pseudo-gradients); kept for study.
 *     In both, s_i^0 = x_0 and the worker's own progress is never counted twice.
 * Pseudo-gradient: Δ_i^r = s_i^r − θ_i^r (= global − local in the synchronous schedule).
 */
import type { Hex } from "viem";
import { compressUpdate, pseudoGradient, type CompressionConfig, type CompressResult, type WarmFactor } from "../compress/index.ts";
import { encodeUpdate } from "../format/update.ts";
import { blobId } from "../hash.ts";
import { outerStep, type GlobalState, type OuterConfig } from "../outer/index.ts";
import { aggregateBlobs, type WorkerBlob } from "../aggregate/index.ts";
import type { DataShard, InnerState, ParamLayout, Trainer, TrainResult } from "../types.ts";
import { digestF32, roundTraceLeaves, zeroDigest } from "../trace/index.ts";

export interface WorkerState {
  residual: Float32Array | null;
  lastStart: Float32Array | null;
  lastLocal: Float32Array | null;
  /** Warm-start factors of the previous round's compression (`compression.warmStart`). */
  warm?: (WarmFactor | null)[] | null;
}

export function initWorkerState(): WorkerState {
  return { residual: null, lastStart: null, lastLocal: null, warm: null };
}

/**
 * Schedules: "off" = synchronous (train from x_r); "eager" and "local" = one-step-delay overlap with
 * two ways of starting round r before x_r is known (see the module comment).
 */
export type OverlapMode = "off" | "eager" | "eager-mix" | "eager-own" | "local";

/** What a worker knows besides the newest global state when it picks its start point under overlap. */
export interface StartContext {
  /** The newest aggregate D it has (the one that produced `newest`); null before any. */
  lastAggregate?: Float32Array | null;
  /** K, the number of workers whose updates make up an aggregate. */
  workers?: number;
}

/**
 * Where worker training starts in round r. `newest` is the newest global state the worker has:
 * x_r for "off", x_{r−1} (with its momentum) under overlap.
 */
export function trainingStart(newest: GlobalState, ws: WorkerState, mode: OverlapMode, outer: OuterConfig, ctx: StartContext = {}): Float32Array {
  if (mode === "off" || ws.lastLocal === null || ws.lastStart === null) return newest.params.slice();
  const n = newest.params.length;
  if (mode === "local") {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = ws.lastLocal[i] + Math.fround(newest.params[i] - ws.lastStart[i]);
    return out;
  }
  // eager: predict x_r with the worker's own last pseudo-gradient standing in for the average
  const own = new Float32Array(n);
  for (let i = 0; i < n; i++) own[i] = ws.lastStart[i] - ws.lastLocal[i];
  if (mode === "eager-own" && (ctx.workers ?? 1) > 1) {
    // eager-own: only the worker's own share Δ_i/K of the missing average is applied early
    const k = ctx.workers!;
    for (let i = 0; i < n; i++) own[i] = Math.fround(own[i] / k);
  }
  if (mode === "eager-mix" && ctx.lastAggregate && (ctx.workers ?? 1) > 1) {
    // eager-mix: the missing K − 1 updates are estimated by the last known average (Kale et al. 2025):
    // D̃ = Δ_i / K + (K − 1)/K · D_prev
    const f = Math.fround;
    const k = ctx.workers!;
    const rest = f((k - 1) / k);
    const prev = ctx.lastAggregate;
    if (prev.length !== n) throw new RangeError(`trainingStart: last aggregate has ${prev.length} elements, params ${n}`);
    for (let i = 0; i < n; i++) own[i] = f(own[i] / k) + f(prev[i] * rest);
  }
  return outerStep(newest, own, outer).params;
}

export interface WorkerRoundInput {
  trainer: Trainer;
  start: Float32Array;
  state: WorkerState;
  compression: CompressionConfig;
  /** Keep the previous start point / local params for the next round's start (overlap modes). */
  overlap: boolean;
  seed: bigint | number;
  round: number;
  workerIndex: number;
  steps: number;
  batchSize: number;
  shard: DataShard;
  /** Inner AdamW state to continue from (absent = fresh); the new one is `train.innerState`. */
  innerState?: InnerState;
  /** Inner-step progress (passed to the trainer). */
  onStep?: (done: number, loss: number) => void;
  /** Build the round trace (worker/diloco/trace) for a round that started from this global model hash. */
  trace?: { startModelHash: Hex };
  /** Blob id of the worker's state snapshot for the round, named in the update (format flag 4). */
  stateRef?: Hex;
}

export interface WorkerRoundOutput {
  train: TrainResult;
  /** CPU seconds (user + system) of this process during `train`: on a loaded machine, closer to the
   *  work done than wall-clock for a single-threaded trainer (an out-of-process trainer reports ~0). */
  trainCpuSeconds: number;
  compressed: CompressResult;
  /** Canonical encoding of the compressed update and its blob id (what gets uploaded and committed). */
  bytes: Uint8Array;
  hash: Hex;
  /** Seconds spent computing Δ, compressing and encoding. */
  compressSeconds: number;
  /** Process CPU seconds of the same work (on a shared machine, closer to the work done). */
  compressCpuSeconds: number;
  nextState: WorkerState;
  /** With `trace`: the H + 2 leaves of the round trace (start state, each step's state, update hash). */
  traceLeaves?: Hex[];
}

/** Everything a compressed update depends on besides the trained parameters (a referee recomputes it from a witness). */
export interface CompressInput {
  start: Float32Array;
  trained: Float32Array;
  residual: Float32Array | null;
  warm?: WorkerState["warm"];
  layout: ParamLayout;
  compression: CompressionConfig;
  seed: bigint | number;
  round: number;
  workerIndex: number;
  stateRef?: Hex;
}

/** Δ = trained − start, compressed with error feedback, and its canonical bytes and blob id. */
export function compressWorkerUpdate(inp: CompressInput): { compressed: CompressResult; bytes: Uint8Array; hash: Hex } {
  const delta = pseudoGradient(inp.start, inp.trained);
  const compressed = compressUpdate(delta, inp.residual, inp.layout, inp.compression, { seed: inp.seed, round: inp.round, worker: inp.workerIndex, warm: inp.warm ?? null });
  if (inp.stateRef !== undefined) compressed.update.stateRef = inp.stateRef;
  const bytes = encodeUpdate(compressed.update, { entropyCoding: inp.compression.entropyCoding, layoutHash: inp.compression.layoutHash });
  return { compressed, bytes, hash: blobId(bytes) };
}

export async function runWorkerRound(inp: WorkerRoundInput): Promise<WorkerRoundOutput> {
  const cpu0 = process.cpuUsage();
  const train = await inp.trainer.train({
    params: inp.start,
    steps: inp.steps,
    batchSize: inp.batchSize,
    shard: inp.shard,
    seed: inp.seed,
    round: inp.round,
    workerIndex: inp.workerIndex,
    stepOffset: inp.round * inp.steps,
    ...(inp.innerState ? { innerState: inp.innerState } : {}),
    onStep: inp.onStep,
    ...(inp.trace ? { traceDigests: true } : {}),
  });
  const cpu = process.cpuUsage(cpu0);
  const trainCpuSeconds = (cpu.user + cpu.system) / 1e6;
  const t0 = performance.now();
  const cpuC0 = process.cpuUsage();
  const { compressed, bytes, hash } = compressWorkerUpdate({ start: inp.start, trained: train.params, residual: inp.state.residual, warm: inp.state.warm, layout: inp.trainer.layout, compression: inp.compression, seed: inp.seed, round: inp.round, workerIndex: inp.workerIndex, ...(inp.stateRef ? { stateRef: inp.stateRef } : {}) });
  const compressSeconds = (performance.now() - t0) / 1000;
  const cpuC = process.cpuUsage(cpuC0);
  const compressCpuSeconds = (cpuC.user + cpuC.system) / 1e6;
  const nextState: WorkerState = {
    residual: compressed.residual,
    lastStart: inp.overlap ? inp.start : null,
    lastLocal: inp.overlap ? train.params : null,
    warm: compressed.warm,
  };
  let traceLeaves: Hex[] | undefined;
  if (inp.trace) {
    if (!train.stateDigests || train.stateDigests.length !== inp.steps) throw new Error("the trainer did not report the state digests a round trace needs");
    const n = inp.start.length;
    const zero = inp.innerState ? null : zeroDigest(n);
    traceLeaves = roundTraceLeaves({
      context: { startModelHash: inp.trace.startModelHash, round: inp.round, workerIndex: inp.workerIndex, residualDigest: digestF32(inp.state.residual) },
      start: { params: digestF32(inp.start), m: zero ?? digestF32(inp.innerState!.m), v: zero ?? digestF32(inp.innerState!.v) },
      t0: inp.innerState?.t ?? 0,
      steps: train.stateDigests,
      updateHash: hash,
    });
  }
  return { train, trainCpuSeconds, compressed, bytes, hash, compressSeconds, compressCpuSeconds, nextState, ...(traceLeaves ? { traceLeaves } : {}) };
}

/** Verify, decode, average (canonical order) and apply the outer step: x_{r+1} from x_r. */
export function finalizeRound(
  global: GlobalState,
  blobs: readonly WorkerBlob[],
  layout: ParamLayout,
  outer: OuterConfig,
  opts: { expectedBlockSize?: number; maxRank?: number } = {},
): GlobalState {
  const avg = aggregateBlobs(blobs, layout, {
    expectedBlockSize: opts.expectedBlockSize,
    limits: opts.maxRank !== undefined ? { maxRank: opts.maxRank } : undefined,
  });
  return outerStep(global, avg, outer);
}
