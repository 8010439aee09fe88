/**
 * Deterministic batch sampling. The batch of local step `step` in round `round` of worker
 * `workerIndex` depends only on (seed, round, workerIndex, step) and the shard: each of its
 * `batchSize` rows is a window of contextLength + 1 tokens starting at a uniformly drawn offset.
 */
import type { DataShard } from "../types.ts";
import { rngFor, type Rng } from "../rng.ts";

export interface Batch {
  /** Inputs, row-major [batchSize, contextLength]. */
  x: Int32Array<ArrayBuffer>;
  /** Next-token targets, same shape (x shifted by one). */
  y: Int32Array<ArrayBuffer>;
  batchSize: number;
  contextLength: number;
}

export interface BatchKey {
  seed: bigint | number;
  round: number;
  workerIndex: number;
  step: number;
}

/** Fills a batch from windows starting at the given offsets. */
export function batchAt(tokens: Uint8Array | Uint16Array | Uint32Array, offsets: readonly number[], contextLength: number): Batch {
  const B = offsets.length;
  const x = new Int32Array(B * contextLength);
  const y = new Int32Array(B * contextLength);
  offsets.forEach((o, b) => {
    if (!Number.isInteger(o) || o < 0 || o + contextLength + 1 > tokens.length) {
      throw new Error(`window offset ${o} out of range for ${tokens.length} tokens and context ${contextLength}`);
    }
    for (let t = 0; t < contextLength; t++) {
      x[b * contextLength + t] = tokens[o + t];
      y[b * contextLength + t] = tokens[o + t + 1];
    }
  });
  return { x, y, batchSize: B, contextLength };
}

/** `batchSize` uniformly random window offsets in a stream of `length` tokens. */
export function randomOffsets(rng: Rng, length: number, batchSize: number, contextLength: number): number[] {
  const span = length - contextLength; // offsets 0 … length − contextLength − 1
  if (span < 1) throw new Error(`shard has ${length} tokens; it needs at least contextLength + 1 = ${contextLength + 1}`);
  return Array.from({ length: batchSize }, () => rng.nextInt(span));
}

function checkKey(key: BatchKey): void {
  for (const f of ["round", "workerIndex", "step"] as const) {
    const v = key[f];
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${f} must be a non-negative integer, got ${String(v)}`);
  }
}

/** The training batch for (seed, round, workerIndex, step). */
export function sampleBatch(shard: DataShard, key: BatchKey, batchSize: number, contextLength: number): Batch {
  checkKey(key);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const rng = rngFor("batch", key.seed, key.round, key.workerIndex, key.step);
  return batchAt(shard.tokens, randomOffsets(rng, shard.tokens.length, batchSize, contextLength), contextLength);
}

/**
 * Evaluation windows: `count` windows spread evenly over the stream (deterministic, no randomness);
 * non-overlapping whenever the stream is long enough.
 */
export function evalOffsets(length: number, count: number, contextLength: number): number[] {
  const span = length - contextLength;
  if (span < 1) throw new Error(`evaluation stream has ${length} tokens; it needs at least contextLength + 1 = ${contextLength + 1}`);
  const n = Math.min(count, span);
  return Array.from({ length: n }, (_, i) => Math.floor((i * span) / n));
}
