/**
 * Wall-clock of a DiLoCo run from measured per-round compute and update sizes, for one link.
 * Per worker i and round r (links are full duplex; the trainer runs on the accelerator, compression,
 * decoding and aggregation on the host CPU):
 *   trainEnd  = start_i^r + train_i^r
 *   commit    = max(trainEnd, hostFree_i) + compress_i^r                 (Δ → compress → encode → hash)
 *   upEnd     = max(commit, upFree_i) + upload(U_i^r)
 *   allUp^r   = max_j upEnd_j
 *   downEnd   = max(allUp^r, downFree_i) + download(Σ_{j≠i} U_j^r)
 *   aggDone   = max(downEnd, hostFree_i) + aggregate_i^r                 (verify, decode, average, outer step)
 * The host does one thing at a time (hostFree_i: when its previous compression or aggregation ends).
 * synchronous: start_i^{r+1} = aggDone_i^r — everything is on the critical path;
 * overlap:     start_i^{r+1} = max(trainEnd_i^r, aggDone_i^{r−1}) — round r+1 needs Δ_i^r and x_r
 *              (the aggregate of round r−1); compression, exchange and aggregation of round r run on
 *              the host while the accelerator trains round r+1.
 * The run ends when every worker has applied the last aggregate.
 * Compute utilisation = Σ training seconds / (K × wall-clock).
 */
import { transferSeconds, type Link } from "./network.ts";

export interface WorkerRoundCost {
  trainSeconds: number;
  compressSeconds: number;
  uploadBytes: number;
  /** Decode + decompress + average + outer step on this worker. */
  aggregateSeconds: number;
}

export interface TimelineResult {
  link: string;
  wallSeconds: number;
  trainSeconds: number;
  utilization: number;
  /** Per round: time at which the last worker had that round's aggregate. */
  roundDone: number[];
}

export function simulateTimeline(rounds: WorkerRoundCost[][], link: Link, overlap: boolean): TimelineResult {
  if (rounds.length === 0) return { link: link.name, wallSeconds: 0, trainSeconds: 0, utilization: 0, roundDone: [] };
  const k = rounds[0].length;
  const start = new Array<number>(k).fill(0);
  const upFree = new Array<number>(k).fill(0);
  const downFree = new Array<number>(k).fill(0);
  const hostFree = new Array<number>(k).fill(0);
  let prevAggDone: number[] | null = null;
  let trainTotal = 0;
  const roundDone: number[] = [];
  let lastAggDone: number[] = new Array<number>(k).fill(0);
  for (const costs of rounds) {
    if (costs.length !== k) throw new RangeError("every round needs one cost entry per worker");
    const trainEnd = costs.map((c, i) => start[i] + c.trainSeconds);
    costs.forEach((c) => (trainTotal += c.trainSeconds));
    const commit = costs.map((c, i) => Math.max(trainEnd[i], hostFree[i]) + c.compressSeconds);
    commit.forEach((t, i) => (hostFree[i] = t));
    const upEnd = costs.map((c, i) => Math.max(commit[i], upFree[i]) + transferSeconds(c.uploadBytes, link));
    upEnd.forEach((t, i) => (upFree[i] = t));
    const allUp = Math.max(...upEnd);
    const totalBytes = costs.reduce((s, c) => s + c.uploadBytes, 0);
    const downEnd = costs.map((c, i) => {
      const others = totalBytes - c.uploadBytes;
      return Math.max(allUp, downFree[i]) + (k > 1 ? transferSeconds(others, link) : 0);
    });
    downEnd.forEach((t, i) => (downFree[i] = t));
    const aggDone = downEnd.map((t, i) => Math.max(t, hostFree[i]) + costs[i].aggregateSeconds);
    aggDone.forEach((t, i) => (hostFree[i] = t));
    roundDone.push(Math.max(...aggDone));
    lastAggDone = aggDone;
    for (let i = 0; i < k; i++) {
      start[i] = !overlap ? aggDone[i] : prevAggDone === null ? trainEnd[i] : Math.max(trainEnd[i], prevAggDone[i]);
    }
    prevAggDone = aggDone;
  }
  const wallSeconds = Math.max(...lastAggDone);
  return { link: link.name, wallSeconds, trainSeconds: trainTotal, utilization: trainTotal / (k * wallSeconds), roundDone };
}

/** Synchronous data parallel: compute and all-reduce alternate every step (no overlap). */
export function simulateSyncTimeline(stepComputeSeconds: number, steps: number, allReduceSeconds: number, link: Link): TimelineResult {
  const wallSeconds = steps * (stepComputeSeconds + allReduceSeconds);
  const trainSeconds = steps * stepComputeSeconds;
  return { link: link.name, wallSeconds, trainSeconds, utilization: wallSeconds > 0 ? trainSeconds / wallSeconds : 0, roundDone: [] };
}
