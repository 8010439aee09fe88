/**
 * One worker's side of a round, and the deterministic finalisation every replica runs.
 *
 * Worker state between rounds (replayable given the job spec and the global states):
 *   - `residual`: error-feedback buffer e_i (null when error feedback is off);
 *   - overlap mode only: `lastStart` s_i and `lastLocal` θ_i of the previous round, to rebase.
 *
 * Start point of round r:
 *   - synchronous schedule: s_i^r = x_r (the global params after r outer steps);
 *   - one-step-delay overlap: round r trains while round r−1 is being aggregated, so the newest
 *     global model known is x_{r−1}:  s_i^0 = x_0,  s_i^r = θ_i^{r−1} + (x_{r−1} − s_i^{r−1})
 *     i.e. the worker continues from its own local params and swaps its stale base s_i^{r−1} for
 *     the newest global model; round r−2's aggregate (x_{r−1} − x_{r−2}) is thereby applied one
 *     round late. For r = 1 this is exactly θ_i^0. The worker's own not-yet-aggregated progress
 *     (θ − s) is kept, never double counted (x_{r−1} already contains the average of round r−2).
 * Pseudo-gradient: Δ_i^r = s_i^r − θ_i^r (= global − local in the synchronous schedule).
 */
import type { Hex } from "viem";
import { compressUpdate, pseudoGradient, type CompressionConfig, type CompressResult } from "../compress/index.ts";
import { encodeUpdate } from "../format/update.ts";
import { blobId } from "../hash.ts";
import { outerStep, type GlobalState, type OuterConfig } from "../outer/index.ts";
import { aggregateBlobs, type WorkerBlob } from "../aggregate/index.ts";
import type { DataShard, ParamLayout, Trainer, TrainResult } from "../types.ts";

export interface WorkerState {
  residual: Float32Array | null;
  lastStart: Float32Array | null;
  lastLocal: Float32Array | null;
}

export function initWorkerState(): WorkerState {
  return { residual: null, lastStart: null, lastLocal: null };
}

/** Where worker training starts (see module comment). `newestGlobal` is x_r (sync) or x_{r−1} (overlap). */
export function trainingStart(newestGlobal: Float32Array, ws: WorkerState, overlap: boolean): Float32Array {
  if (!overlap || ws.lastLocal === null || ws.lastStart === null) return newestGlobal.slice();
  const out = new Float32Array(newestGlobal.length);
  for (let i = 0; i < out.length; i++) out[i] = ws.lastLocal[i] + Math.fround(newestGlobal[i] - ws.lastStart[i]);
  return out;
}

export interface WorkerRoundInput {
  trainer: Trainer;
  start: Float32Array;
  state: WorkerState;
  compression: CompressionConfig;
  overlap: boolean;
  seed: bigint | number;
  round: number;
  workerIndex: number;
  steps: number;
  batchSize: number;
  shard: DataShard;
}

export interface WorkerRoundOutput {
  train: TrainResult;
  compressed: CompressResult;
  /** Canonical encoding of the compressed update and its blob id (what gets uploaded and committed). */
  bytes: Uint8Array;
  hash: Hex;
  /** Seconds spent computing Δ, compressing and encoding. */
  compressSeconds: number;
  nextState: WorkerState;
}

export async function runWorkerRound(inp: WorkerRoundInput): Promise<WorkerRoundOutput> {
  const train = await inp.trainer.train({
    params: inp.start,
    steps: inp.steps,
    batchSize: inp.batchSize,
    shard: inp.shard,
    seed: inp.seed,
    round: inp.round,
    workerIndex: inp.workerIndex,
    stepOffset: inp.round * inp.steps,
  });
  const t0 = performance.now();
  const delta = pseudoGradient(inp.start, train.params);
  const compressed = compressUpdate(delta, inp.state.residual, inp.trainer.layout, inp.compression, {
    seed: inp.seed,
    round: inp.round,
    worker: inp.workerIndex,
  });
  const bytes = encodeUpdate(compressed.update);
  const hash = blobId(bytes);
  const compressSeconds = (performance.now() - t0) / 1000;
  const nextState: WorkerState = {
    residual: compressed.residual,
    lastStart: inp.overlap ? inp.start : null,
    lastLocal: inp.overlap ? train.params : null,
  };
  return { train, compressed, bytes, hash, compressSeconds, nextState };
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
