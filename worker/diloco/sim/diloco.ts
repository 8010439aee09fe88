/**
 * In-process simulation of K DiLoCo(X) workers for R rounds with a real `Trainer`: every worker
 * trains, compresses (with its own error-feedback residual), encodes; the blobs are verified,
 * decoded, averaged in canonical address order and the outer step applied, exactly as a replica
 * would. Compute is measured; communication is modelled (network.ts, timeline.ts).
 */
import type { Hex } from "viem";
import type { CompressionConfig } from "../compress/config.ts";
import { blobId } from "../hash.ts";
import { aggregateBlobs } from "../aggregate/index.ts";
import { encodeGlobalState, initGlobalState, outerStep, type GlobalState, type OuterConfig, DEFAULT_OUTER } from "../outer/index.ts";
import { initWorkerState, runWorkerRound, trainingStart, type OverlapMode, type WorkerState } from "../round/index.ts";
import type { DataShard, InnerState, Trainer } from "../types.ts";
import type { Link } from "./network.ts";
import { simulateTimeline, type TimelineResult, type WorkerRoundCost } from "./timeline.ts";

export interface DilocoSimConfig {
  trainer: Trainer;
  /** One shard per worker (K = shards.length). */
  shards: DataShard[];
  rounds: number;
  /** H: inner steps per round. */
  innerSteps: number;
  batchSize: number;
  seed: number;
  compression: CompressionConfig;
  outer?: OuterConfig;
  /** One-step-delay overlap (DiLoCoX). */
  overlap: boolean;
  /** Start rule under overlap (default "eager"; see round/index.ts). */
  overlapStart?: "eager" | "eager-mix" | "eager-own" | "local";
  /** Keep each worker's inner AdamW moments across rounds (DiLoCo); default false (fresh every round). */
  keepInnerState?: boolean;
  /** Initial parameters (default: trainer.initParams(seed)). */
  initParams?: Float32Array;
  evalTokens?: Uint8Array | Uint16Array;
  /** Evaluate the global model every this many rounds (and always after the last); 0 = only at the end. */
  evalEvery?: number;
  evalBatches?: number;
  evalBatchSize?: number;
  links?: Link[];
  /**
   * Compute time charged per round (training, and the host's compression and aggregation): "wall" =
   * measured seconds; "min-wall-cpu" = min(wall, process CPU seconds), which discounts time lost to
   * other processes on a shared machine (never larger than wall). Default "wall".
   */
  computeClock?: "wall" | "min-wall-cpu";
  /** Worker addresses (default: deterministic fake addresses 0x…01, 0x…02, …). */
  addresses?: string[];
  onRound?: (r: RoundRecord) => void;
}

export interface RoundRecord {
  round: number;
  /** Mean over workers of the mean inner training loss of the round. */
  trainLoss: number;
  /** Eval loss of the global model after this round's aggregate (undefined when not evaluated). */
  evalLoss?: number;
  /** Update sizes in bytes, per worker. */
  updateBytes: number[];
  updateHashes: Hex[];
  /** Charged compute seconds per worker (see computeClock). */
  trainSeconds: number[];
  compressSeconds: number[];
  aggregateSeconds: number;
  /** Mean over matrix tensors and workers of the chosen rank (0 when no low-rank tensor). */
  meanRank: number;
  /** Mean over workers and tensors of the relative compression error ‖v − v̂‖/‖v‖ (v = Δ + e). */
  relError: number;
  /**
   * Overlap only: how far the workers' start points are from the global model they stand in for,
   * mean_i ‖s_i^r − x_r‖ / ‖x_r − x_{r−1}‖ (0 without overlap, and in round 0).
   */
  startError: number;
  /** Cumulative bytes sent (uploaded) per worker, mean over workers. */
  cumBytesSentPerWorker: number;
  globalHash: Hex;
}

export interface DilocoSimResult {
  rounds: RoundRecord[];
  finalState: GlobalState;
  finalHash: Hex;
  initialEvalLoss?: number;
  finalEvalLoss?: number;
  /** Per worker over the whole run. */
  bytesSentPerWorker: number;
  bytesReceivedPerWorker: number;
  timelines: TimelineResult[];
  /** Per round, per worker: the measured costs the timelines were built from (to re-time with another step time). */
  costs: WorkerRoundCost[][];
  tokens: number;
}

export function defaultAddresses(k: number): string[] {
  return Array.from({ length: k }, (_, i) => "0x" + (i + 1).toString(16).padStart(40, "0"));
}

export async function runDilocoSim(cfg: DilocoSimConfig): Promise<DilocoSimResult> {
  const { trainer, shards } = cfg;
  const k = shards.length;
  if (k < 1) throw new RangeError("need at least one worker shard");
  const outer = cfg.outer ?? DEFAULT_OUTER;
  const layout = trainer.layout;
  const addresses = cfg.addresses ?? defaultAddresses(k);
  if (addresses.length !== k) throw new RangeError(`${addresses.length} addresses for ${k} workers`);
  const init = cfg.initParams ?? (await trainer.initParams(cfg.seed));
  let global = initGlobalState(init);
  /** x_{r−1} for overlap mode: the newest global state a worker has at the start of round r. */
  let previousGlobal = global;
  /** The aggregate that produced `previousGlobal` (known to every worker when round r starts under overlap). */
  let previousAggregate: Float32Array | null = null;
  let lastAggregate: Float32Array | null = null;
  const mode: OverlapMode = cfg.overlap ? (cfg.overlapStart ?? "eager") : "off";
  const workers: WorkerState[] = Array.from({ length: k }, initWorkerState);
  /** Each worker's inner AdamW state (kept across rounds with `keepInnerState`). */
  const innerStates: (InnerState | undefined)[] = new Array(k).fill(undefined);
  const evaluate = async (p: Float32Array) =>
    cfg.evalTokens ? trainer.evaluate(p, cfg.evalTokens, { batches: cfg.evalBatches, batchSize: cfg.evalBatchSize }) : undefined;
  const initialEvalLoss = await evaluate(global.params);
  const records: RoundRecord[] = [];
  const costs: WorkerRoundCost[][] = [];
  let cumSent = 0;
  let received = 0;
  let tokens = 0;
  for (let r = 0; r < cfg.rounds; r++) {
    const newestKnown = cfg.overlap ? previousGlobal : global;
    const outs = [];
    const startErrors: number[] = [];
    for (let i = 0; i < k; i++) {
      const start = trainingStart(newestKnown, workers[i], mode, outer, { lastAggregate: previousAggregate, workers: k });
      if (cfg.overlap && r > 0) startErrors.push(distance(start, global.params) / distance(global.params, previousGlobal.params));
      const out = await runWorkerRound({
        trainer,
        start,
        state: workers[i],
        compression: cfg.compression,
        overlap: cfg.overlap,
        seed: cfg.seed,
        round: r,
        workerIndex: i,
        steps: cfg.innerSteps,
        batchSize: cfg.batchSize,
        shard: shards[i],
        innerState: innerStates[i],
      });
      workers[i] = out.nextState;
      if (cfg.keepInnerState) innerStates[i] = out.train.innerState;
      tokens += out.train.tokensProcessed;
      outs.push(out);
    }
    const charged = outs.map((o) =>
      cfg.computeClock === "min-wall-cpu" ? Math.min(o.train.seconds, o.trainCpuSeconds) : o.train.seconds,
    );
    const t0 = performance.now();
    const cpuA0 = process.cpuUsage();
    const blobs = outs.map((o, i) => ({ worker: addresses[i], bytes: o.bytes, committedHash: o.hash }));
    const avg = aggregateBlobs(blobs, layout, { expectedBlockSize: cfg.compression.blockSize });
    const next = outerStep(global, avg, outer);
    const aggWall = (performance.now() - t0) / 1000;
    const cpuA = process.cpuUsage(cpuA0);
    const minWallCpu = cfg.computeClock === "min-wall-cpu";
    const aggregateSeconds = minWallCpu ? Math.min(aggWall, (cpuA.user + cpuA.system) / 1e6) : aggWall;
    previousGlobal = global;
    previousAggregate = lastAggregate;
    lastAggregate = avg;
    global = next;
    const globalHash = blobId(encodeGlobalState(global, layout));
    const sizes = outs.map((o) => o.bytes.length);
    const totalBytes = sizes.reduce((a, b) => a + b, 0);
    cumSent += totalBytes / k;
    received += ((k - 1) * totalBytes) / k;
    const compressCharged = outs.map((o) => (minWallCpu ? Math.min(o.compressSeconds, o.compressCpuSeconds) : o.compressSeconds));
    costs.push(
      outs.map((o, i) => ({
        trainSeconds: charged[i],
        compressSeconds: compressCharged[i],
        uploadBytes: sizes[i],
        aggregateSeconds,
      })),
    );
    const lowRank = outs.flatMap((o) => o.compressed.stats.filter((s) => s.mode === "lowrank"));
    const isLast = r === cfg.rounds - 1;
    const evalNow = isLast || (cfg.evalEvery !== undefined && cfg.evalEvery > 0 && (r + 1) % cfg.evalEvery === 0);
    const rec: RoundRecord = {
      round: r,
      trainLoss: mean(outs.map((o) => mean(o.train.losses))),
      evalLoss: evalNow ? await evaluate(global.params) : undefined,
      updateBytes: sizes,
      updateHashes: outs.map((o) => o.hash),
      trainSeconds: charged,
      compressSeconds: compressCharged,
      aggregateSeconds,
      meanRank: lowRank.length ? mean(lowRank.map((s) => s.rank)) : 0,
      relError: mean(outs.flatMap((o) => o.compressed.stats.map((s) => s.relError))),
      startError: mean(startErrors),
      cumBytesSentPerWorker: cumSent,
      globalHash,
    };
    records.push(rec);
    cfg.onRound?.(rec);
  }
  const timelines = (cfg.links ?? []).map((l) => simulateTimeline(costs, l, cfg.overlap));
  const finalEvalLoss = records.length ? records[records.length - 1].evalLoss : initialEvalLoss;
  return {
    rounds: records,
    finalState: global,
    finalHash: blobId(encodeGlobalState(global, layout)),
    initialEvalLoss,
    finalEvalLoss,
    bytesSentPerWorker: cumSent,
    bytesReceivedPerWorker: received,
    timelines,
    costs,
    tokens,
  };
}

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
