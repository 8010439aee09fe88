/**
 * Deterministic aggregation of the workers' compressed updates of one round:
 * sort by worker address (ascending, as 20-byte numbers), reject duplicates, decompress each,
 * accumulate in float32 in that order (acc ← f32(acc + Δ̂_i)), then divide: D = f32(acc / K).
 * The result is independent of the order in which updates arrive and bit-identical everywhere.
 */
import { decompressUpdate, type CompressedUpdate } from "../compress/index.ts";
import { decodeUpdate, type DecodeUpdateOptions } from "../format/update.ts";
import { assertSameLayout } from "../format/layout.ts";
import { blobId } from "../hash.ts";
import type { ParamLayout } from "../types.ts";

export interface WorkerUpdate {
  /** The worker's address (0x + 40 hex digits, any case). */
  worker: string;
  update: CompressedUpdate;
}

export interface WorkerBlob {
  worker: string;
  bytes: Uint8Array;
  /** The hash committed on chain; the blob is rejected unless keccak256(bytes) equals it. */
  committedHash?: string;
}

export class AggregationError extends Error {
  readonly worker?: string;
  constructor(message: string, worker?: string) {
    super(message);
    this.name = "AggregationError";
    this.worker = worker;
  }
}

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/** Lowercased addresses sorted ascending; throws on malformed or duplicate addresses. */
export function canonicalOrder<T extends { worker: string }>(entries: readonly T[]): T[] {
  for (const e of entries) {
    if (!ADDRESS_RE.test(e.worker)) throw new AggregationError(`'${e.worker}' is not a 20-byte hex address`, e.worker);
  }
  const sorted = [...entries].sort((a, b) => {
    const x = a.worker.toLowerCase();
    const y = b.worker.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].worker.toLowerCase() === sorted[i - 1].worker.toLowerCase()) {
      throw new AggregationError(`duplicate update from ${sorted[i].worker}`, sorted[i].worker);
    }
  }
  return sorted;
}

/** Float32 mean of dense vectors, summed in the given order. */
export function meanInOrder(vectors: readonly Float32Array[]): Float32Array {
  if (vectors.length === 0) throw new AggregationError("nothing to aggregate");
  const n = vectors[0].length;
  const acc = new Float32Array(n);
  for (const v of vectors) {
    if (v.length !== n) throw new AggregationError(`vector lengths differ (${v.length} vs ${n})`);
    for (let i = 0; i < n; i++) acc[i] = acc[i] + v[i];
  }
  const k = vectors.length;
  for (let i = 0; i < n; i++) acc[i] = acc[i] / k;
  return acc;
}

/** Averages already-decoded updates in canonical worker order. */
export function aggregateUpdates(entries: readonly WorkerUpdate[], layout: ParamLayout): Float32Array {
  const sorted = canonicalOrder(entries);
  const dense = sorted.map((e) => {
    try {
      assertSameLayout(e.update.layout, layout);
    } catch (err) {
      throw new AggregationError(`update of ${e.worker}: ${(err as Error).message}`, e.worker);
    }
    return decompressUpdate(e.update);
  });
  return meanInOrder(dense);
}

/**
 * Verifies (hash), decodes (strictly, against the job's layout) and averages raw update blobs.
 * Any bad blob aborts with an AggregationError naming the worker; the caller decides whether to
 * exclude that worker (it has then provably committed garbage) and retry.
 */
export function aggregateBlobs(
  blobs: readonly WorkerBlob[],
  layout: ParamLayout,
  decodeOpts: Omit<DecodeUpdateOptions, "expectedLayout"> = {},
): Float32Array {
  const decoded: WorkerUpdate[] = blobs.map((b) => {
    if (b.committedHash !== undefined) {
      const id = blobId(b.bytes);
      if (id !== b.committedHash.toLowerCase()) {
        throw new AggregationError(`update of ${b.worker} hashes to ${id}, committed ${b.committedHash}`, b.worker);
      }
    }
    try {
      return { worker: b.worker, update: decodeUpdate(b.bytes, { ...decodeOpts, expectedLayout: layout }) };
    } catch (err) {
      throw new AggregationError(`update of ${b.worker} rejected: ${(err as Error).message}`, b.worker);
    }
  });
  return aggregateUpdates(decoded, layout);
}
