/**
 * Wall-clock of a DiLoCo run from measured per-round compute and update sizes, for one link.
 * Per worker i and round r (foreground = the worker's compute; links are full duplex):
 *   trainEnd  = start_i^r + train_i^r + compress_i^r                    (then commit)
 *   upEnd     = max(trainEnd, upFree_i) + upload(U_i^r)
 *   allUp^r   = max_j upEnd_j
 *   downEnd   = max(allUp^r, downFree_i) + download(Σ_{j≠i} U_j^r)
 * synchronous: start_i^{r+1} = downEnd_i^r + aggregate_i^r
 * overlap:     start_i^{r+1} = max(trainEnd_i^r, downEnd_i^{r−1}) + aggregate_i^{r−1}
 *              (round r+1 needs x_r, the aggregate of round r−1; aggregation runs on the worker's CPU)
 * The run ends when every worker has the final model (all aggregates applied).
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
  let prevDownEnd: number[] | null = null;
  let prevAgg: number[] | null = null;
  let trainTotal = 0;
  const roundDone: number[] = [];
  let lastAggDone: number[] = new Array<number>(k).fill(0);
  for (const costs of rounds) {
    if (costs.length !== k) throw new RangeError("every round needs one cost entry per worker");
    const trainEnd = costs.map((c, i) => start[i] + c.trainSeconds + c.compressSeconds);
    costs.forEach((c) => (trainTotal += c.trainSeconds));
    const upEnd = costs.map((c, i) => Math.max(trainEnd[i], upFree[i]) + transferSeconds(c.uploadBytes, link));
    upEnd.forEach((t, i) => (upFree[i] = t));
    const allUp = Math.max(...upEnd);
    const totalBytes = costs.reduce((s, c) => s + c.uploadBytes, 0);
    const downEnd = costs.map((c, i) => {
      const others = totalBytes - c.uploadBytes;
      return Math.max(allUp, downFree[i]) + (k > 1 ? transferSeconds(others, link) : 0);
    });
    downEnd.forEach((t, i) => (downFree[i] = t));
    const aggDone = downEnd.map((t, i) => t + costs[i].aggregateSeconds);
    roundDone.push(Math.max(...aggDone));
    lastAggDone = aggDone;
    for (let i = 0; i < k; i++) {
      if (!overlap) start[i] = aggDone[i];
      else start[i] = prevDownEnd === null ? trainEnd[i] : Math.max(trainEnd[i], prevDownEnd[i]) + prevAgg![i];
    }
    prevDownEnd = downEnd;
    prevAgg = costs.map((c) => c.aggregateSeconds);
  }
  // Every worker finishes when it has applied the last aggregate (and, overlapped, the one before).
  const wallSeconds = Math.max(...lastAggDone, ...start);
  return { link: link.name, wallSeconds, trainSeconds: trainTotal, utilization: trainTotal / (k * wallSeconds), roundDone };
}

/** Synchronous data parallel: compute and all-reduce alternate every step (no overlap). */
export function simulateSyncTimeline(stepComputeSeconds: number, steps: number, allReduceSeconds: number, link: Link): TimelineResult {
  const wallSeconds = steps * (stepComputeSeconds + allReduceSeconds);
  const trainSeconds = steps * stepComputeSeconds;
  return { link: link.name, wallSeconds, trainSeconds, utilization: wallSeconds > 0 ? trainSeconds / wallSeconds : 0, roundDone: [] };
}
