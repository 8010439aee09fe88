/**
 * Deterministic split of a corpus into a held-out evaluation set and K disjoint worker shards.
 *
 * 1. Evaluation: every `evalEvery`-th document (positions evalEvery−1, 2·evalEvery−1, … in id order),
 *    whole documents, so no evaluation text is ever trained on. Spread over the whole time span.
 * 2. Training stream: the remaining documents joined by '\n', cut into chunks of `chunkSize` tokens;
 *    chunk c goes to worker c mod K. Each shard is its chunks concatenated in order. Every training
 *    token belongs to exactly one shard, and shards are statistically alike (each sees every era).
 * Depends only on (corpus, workers, chunkSize, evalEvery): no randomness.
 */
import type { DataShard } from "../types.ts";
import type { Corpus } from "./corpus.ts";
import { NEWLINE_ID } from "./vocab.ts";

export interface ShardOptions {
  /** K: number of workers (≥ 1). */
  workers: number;
  /** Tokens per interleaved chunk (default 4096). */
  chunkSize?: number;
  /** Every n-th document is held out for evaluation (default 10; ≥ 2). */
  evalEvery?: number;
}

export interface ShardedCorpus {
  /** Held-out evaluation tokens (the eval documents joined by '\n'). */
  eval: Uint8Array;
  evalDocumentIds: string[];
  trainDocumentIds: string[];
  /** shards[i] is worker i's data. */
  shards: DataShard[];
  /** Total training tokens (sum of shard lengths). */
  trainTokens: number;
}

function join(docs: Uint8Array[]): Uint8Array {
  const total = docs.reduce((a, d) => a + d.length, 0) + Math.max(0, docs.length - 1);
  const out = new Uint8Array(total);
  let o = 0;
  docs.forEach((d, i) => {
    if (i > 0) out[o++] = NEWLINE_ID;
    out.set(d, o);
    o += d.length;
  });
  return out;
}

function positiveInt(v: unknown, field: string, min = 1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new Error(`ShardOptions.${field} must be an integer ≥ ${min}, got ${String(v)}`);
  return v;
}

export function makeShards(corpus: Corpus, opts: ShardOptions): ShardedCorpus {
  const K = positiveInt(opts.workers, "workers");
  const chunkSize = positiveInt(opts.chunkSize ?? 4096, "chunkSize");
  const evalEvery = positiveInt(opts.evalEvery ?? 10, "evalEvery", 2);
  const evalDocs = corpus.documents.filter((_, i) => i % evalEvery === evalEvery - 1);
  const trainDocs = corpus.documents.filter((_, i) => i % evalEvery !== evalEvery - 1);
  if (evalDocs.length === 0) throw new Error(`corpus has ${corpus.documents.length} documents: too few to hold out every ${evalEvery}th`);
  const stream = join(trainDocs.map((d) => d.tokens));
  const nChunks = Math.ceil(stream.length / chunkSize);
  if (nChunks < K) throw new Error(`training stream has ${nChunks} chunks of ${chunkSize} tokens, fewer than ${K} workers`);
  const sizes = new Array<number>(K).fill(0);
  for (let c = 0; c < nChunks; c++) sizes[c % K] += Math.min(chunkSize, stream.length - c * chunkSize);
  const shards = sizes.map((n) => new Uint8Array(n));
  const filled = new Array<number>(K).fill(0);
  for (let c = 0; c < nChunks; c++) {
    const w = c % K;
    const piece = stream.subarray(c * chunkSize, Math.min(stream.length, (c + 1) * chunkSize));
    shards[w].set(piece, filled[w]);
    filled[w] += piece.length;
  }
  return {
    eval: join(evalDocs.map((d) => d.tokens)),
    evalDocumentIds: evalDocs.map((d) => d.id),
    trainDocumentIds: trainDocs.map((d) => d.id),
    shards: shards.map((tokens) => ({ tokens })),
    trainTokens: stream.length,
  };
}
