/**
 * Baseline (1): fully synchronous data parallel. K workers each compute the gradient of their
 * batch of B sequences, all-reduce (average) the fp32 gradients every step, and apply the same
 * AdamW step. The mean of K equal-size batch-mean gradients is the gradient of the mean loss over
 * the union batch, so this is computed exactly (up to float summation order) as ONE trainer run
 * with batch K·B over the union of the shards and a persistent AdamW state over all S steps; the
 * existing `Trainer.train` expresses it without any interface change. Per-worker compute per step
 * is taken as measured seconds / (S · K) (each worker processes B of the K·B sequences).
 */
import type { DataShard, Trainer } from "../types.ts";
import { ringAllReduceBytesSent, ringAllReduceSeconds, type Link } from "./network.ts";
import { simulateSyncTimeline, type TimelineResult } from "./timeline.ts";

export interface SyncSimConfig {
  trainer: Trainer;
  shards: DataShard[];
  /** Total optimizer steps S (same total tokens as R rounds × H steps of DiLoCo). */
  steps: number;
  /** Per-worker batch size B. */
  batchSize: number;
  seed: number;
  initParams?: Float32Array;
  evalTokens?: Uint8Array | Uint16Array | Uint32Array;
  evalBatches?: number;
  evalBatchSize?: number;
  links?: Link[];
  /** As in DilocoSimConfig: "wall" (default) or "min-wall-cpu". */
  computeClock?: "wall" | "min-wall-cpu";
}

export interface SyncSimResult {
  params: Float32Array;
  initialEvalLoss?: number;
  finalEvalLoss?: number;
  trainLosses: number[];
  bytesSentPerWorker: number;
  bytesReceivedPerWorker: number;
  stepComputeSecondsPerWorker: number;
  timelines: TimelineResult[];
  tokens: number;
}

export function unionShard(shards: DataShard[]): DataShard {
  const total = shards.reduce((s, sh) => s + sh.tokens.length, 0);
  const wide = shards.some((s) => s.tokens instanceof Uint16Array);
  const out = wide ? new Uint16Array(total) : new Uint8Array(total);
  let o = 0;
  for (const s of shards) {
    out.set(s.tokens, o);
    o += s.tokens.length;
  }
  return { tokens: out };
}

export async function runSyncDataParallelSim(cfg: SyncSimConfig): Promise<SyncSimResult> {
  const k = cfg.shards.length;
  const { trainer } = cfg;
  const init = cfg.initParams ?? (await trainer.initParams(cfg.seed));
  const evaluate = async (p: Float32Array) =>
    cfg.evalTokens ? trainer.evaluate(p, cfg.evalTokens, { batches: cfg.evalBatches, batchSize: cfg.evalBatchSize }) : undefined;
  const initialEvalLoss = await evaluate(init);
  const cpu0 = process.cpuUsage();
  const res = await trainer.train({
    params: init,
    steps: cfg.steps,
    batchSize: cfg.batchSize * k,
    shard: unionShard(cfg.shards),
    seed: cfg.seed,
    round: 0,
    workerIndex: 0,
    stepOffset: 0,
  });
  const cpu = process.cpuUsage(cpu0);
  const charged = cfg.computeClock === "min-wall-cpu" ? Math.min(res.seconds, (cpu.user + cpu.system) / 1e6) : res.seconds;
  const finalEvalLoss = await evaluate(res.params);
  const gradBytes = trainer.layout.size * 4;
  const stepCompute = charged / cfg.steps / k;
  const timelines = (cfg.links ?? []).map((l) =>
    simulateSyncTimeline(stepCompute, cfg.steps, ringAllReduceSeconds(gradBytes, k, l), l),
  );
  const perStep = ringAllReduceBytesSent(gradBytes, k);
  return {
    params: res.params,
    initialEvalLoss,
    finalEvalLoss,
    trainLosses: res.losses,
    bytesSentPerWorker: perStep * cfg.steps,
    bytesReceivedPerWorker: perStep * cfg.steps,
    stepComputeSecondsPerWorker: stepCompute,
    timelines,
    tokens: res.tokensProcessed,
  };
}
