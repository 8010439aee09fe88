/**
 * Content-addressed datasets: fixed-size token shards plus a manifest (DESIGN.md §5b).
 *
 * Packing (`packDataset`, deterministic, no randomness): documents in the given order; every
 * `evalEvery`-th document (positions evalEvery−1, 2·evalEvery−1, …) goes to the evaluation stream,
 * the others to the training stream; within a stream documents are joined by the tokenizer's
 * separator token. Each stream is cut into shards of exactly `shardTokens` tokens (the last one may be
 * shorter). Token width: uint16 when the vocabulary fits, else uint32.
 *
 * Shard blob ("DLXT" version 1), little-endian:
 *   0  magic "DLXT" | 4 version u16 = 1 | 6 bits u16 (16 | 32) | 8 count u32 | 12 reserved u32 = 0 | 16 tokens
 * Manifest blob: canonical JSON (sorted keys, no white space) of `DatasetManifest`; its keccak-256 is the
 * dataset's id, which a job spec names. Every shard is named by the keccak-256 of its blob.
 *
 * Round assignment (`assignShards`): for round r the training shards are permuted by a Fisher–Yates
 * shuffle keyed by (seed, round); worker i takes the k = shardsPerRound shards at permutation positions
 * i·k … i·k + k − 1 (mod n). Workers of a round get disjoint shards whenever K·k ≤ n. A worker's
 * round stream is its shards concatenated in that order; batches sample windows from it.
 */
import { keccak256, type Hex } from "viem";
import { rngFor } from "../rng.ts";
import type { TokenizerKind } from "./tokenizer.ts";

export const DATASET_FORMAT = "diloco-market/dataset";
export const DATASET_VERSION = 1;
const SHARD_MAGIC = [0x44, 0x4c, 0x58, 0x54]; // "DLXT"
const SHARD_HEADER = 16;

export interface ShardRef {
  hash: Hex;
  tokens: number;
}

export interface DatasetManifest {
  format: typeof DATASET_FORMAT;
  version: typeof DATASET_VERSION;
  name: string;
  tokenizer: {
    kind: TokenizerKind;
    hash: Hex;
    vocabSize: number;
    separatorId: number;
    /** Blob id of tokenizer.json ("hf" only; equal to `hash`). */
    blob?: Hex;
  };
  dtype: "uint16" | "uint32";
  shardTokens: number;
  documents: { train: number; eval: number };
  train: ShardRef[];
  eval: ShardRef[];
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatasetError";
  }
}

export type TokenArray = Uint16Array | Uint32Array;

export function encodeShard(tokens: TokenArray): Uint8Array {
  const bits = tokens instanceof Uint16Array ? 16 : 32;
  const out = new Uint8Array(SHARD_HEADER + tokens.length * (bits / 8));
  const dv = new DataView(out.buffer);
  out.set(SHARD_MAGIC, 0);
  dv.setUint16(4, 1, true);
  dv.setUint16(6, bits, true);
  dv.setUint32(8, tokens.length, true);
  for (let i = 0; i < tokens.length; i++) {
    if (bits === 16) dv.setUint16(SHARD_HEADER + 2 * i, tokens[i], true);
    else dv.setUint32(SHARD_HEADER + 4 * i, tokens[i], true);
  }
  return out;
}

/** Decodes a shard blob, checking it against what the manifest says (width, count, vocabulary). */
export function decodeShard(bytes: Uint8Array, expect: { dtype: "uint16" | "uint32"; tokens: number; vocabSize: number }): TokenArray {
  if (bytes.length < SHARD_HEADER || SHARD_MAGIC.some((b, i) => bytes[i] !== b)) throw new DatasetError("shard: not a DLXT token shard (bad magic)");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint16(4, true) !== 1) throw new DatasetError(`shard: unknown version ${dv.getUint16(4, true)}`);
  const bits = dv.getUint16(6, true);
  if (bits !== (expect.dtype === "uint16" ? 16 : 32)) throw new DatasetError(`shard: ${bits}-bit tokens, the manifest says ${expect.dtype}`);
  const count = dv.getUint32(8, true);
  if (count !== expect.tokens) throw new DatasetError(`shard: ${count} tokens, the manifest says ${expect.tokens}`);
  if (dv.getUint32(12, true) !== 0) throw new DatasetError("shard: reserved field is not zero");
  if (bytes.length !== SHARD_HEADER + count * (bits / 8)) throw new DatasetError(`shard: ${bytes.length} bytes, expected ${SHARD_HEADER + count * (bits / 8)}`);
  const out = bits === 16 ? new Uint16Array(count) : new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const v = bits === 16 ? dv.getUint16(SHARD_HEADER + 2 * i, true) : dv.getUint32(SHARD_HEADER + 4 * i, true);
    if (v >= expect.vocabSize) throw new DatasetError(`shard: token id ${v} at position ${i} is outside the vocabulary [0, ${expect.vocabSize})`);
    out[i] = v;
  }
  return out;
}

export interface PackInput {
  name: string;
  tokenizer: { kind: TokenizerKind; hash: Hex; vocabSize: number; separatorId: number; json?: Uint8Array };
  /** Token ids per document, in order. */
  documents: ArrayLike<number>[];
  shardTokens: number;
  evalEvery: number;
}

export interface PackedDataset {
  manifest: DatasetManifest;
  manifestBytes: Uint8Array;
  manifestHash: Hex;
  /** Every blob (shards and, for "hf", tokenizer.json) by hash. */
  blobs: Map<Hex, Uint8Array>;
}

function streamOf(docs: ArrayLike<number>[], separator: number, Ctor: typeof Uint16Array | typeof Uint32Array): TokenArray {
  const total = docs.reduce((a, d) => a + d.length, 0) + Math.max(0, docs.length - 1);
  const out = new Ctor(total);
  let o = 0;
  docs.forEach((d, i) => {
    if (i > 0) out[o++] = separator;
    for (let j = 0; j < d.length; j++) out[o++] = d[j];
  });
  return out;
}

export function packDataset(inp: PackInput): PackedDataset {
  if (!Number.isInteger(inp.shardTokens) || inp.shardTokens < 2 || inp.shardTokens > 1 << 26) throw new DatasetError(`shard size must be an integer in [2, 2^26] tokens, got ${inp.shardTokens}`);
  if (!Number.isInteger(inp.evalEvery) || inp.evalEvery < 2) throw new DatasetError(`evalEvery must be an integer ≥ 2, got ${inp.evalEvery}`);
  const docs = inp.documents.filter((d) => d.length > 0);
  if (docs.length < 2) throw new DatasetError(`the input has ${docs.length} non-empty document(s); a dataset needs at least 2 (one is held out for evaluation)`);
  const evalDocs = docs.filter((_, i) => i % inp.evalEvery === inp.evalEvery - 1);
  const trainDocs = docs.filter((_, i) => i % inp.evalEvery !== inp.evalEvery - 1);
  if (evalDocs.length === 0) {
    // fewer documents than evalEvery: hold out the last one
    evalDocs.push(trainDocs.pop()!);
  }
  const dtype = inp.tokenizer.vocabSize <= 65536 ? "uint16" : "uint32";
  const Ctor = dtype === "uint16" ? Uint16Array : Uint32Array;
  const blobs = new Map<Hex, Uint8Array>();
  const cut = (stream: TokenArray): ShardRef[] => {
    const refs: ShardRef[] = [];
    for (let o = 0; o < stream.length; o += inp.shardTokens) {
      const piece = stream.slice(o, Math.min(stream.length, o + inp.shardTokens)) as TokenArray;
      for (let i = 0; i < piece.length; i++) if (piece[i] >= inp.tokenizer.vocabSize) throw new DatasetError(`token id ${piece[i]} ≥ the tokenizer's vocabulary ${inp.tokenizer.vocabSize}`);
      const bytes = encodeShard(piece);
      const hash = keccak256(bytes);
      blobs.set(hash, bytes);
      refs.push({ hash, tokens: piece.length });
    }
    return refs;
  };
  const tokenizer: DatasetManifest["tokenizer"] = { kind: inp.tokenizer.kind, hash: inp.tokenizer.hash, vocabSize: inp.tokenizer.vocabSize, separatorId: inp.tokenizer.separatorId };
  if (inp.tokenizer.json) {
    tokenizer.blob = keccak256(inp.tokenizer.json);
    blobs.set(tokenizer.blob, inp.tokenizer.json);
  }
  const manifest: DatasetManifest = {
    format: DATASET_FORMAT,
    version: DATASET_VERSION,
    name: inp.name,
    tokenizer,
    dtype,
    shardTokens: inp.shardTokens,
    documents: { train: trainDocs.length, eval: evalDocs.length },
    train: cut(streamOf(trainDocs, inp.tokenizer.separatorId, Ctor)),
    eval: cut(streamOf(evalDocs, inp.tokenizer.separatorId, Ctor)),
  };
  const manifestBytes = encodeManifest(manifest);
  const manifestHash = keccak256(manifestBytes);
  blobs.set(manifestHash, manifestBytes);
  return { manifest, manifestBytes, manifestHash, blobs };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

export function encodeManifest(m: DatasetManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(canonical(m)));
}

const HASH_RE = /^0x[0-9a-f]{64}$/;

/** Validates manifest bytes (fetched by hash): every field, canonical form. Errors name the field. */
export function decodeManifest(bytes: Uint8Array): DatasetManifest {
  let m: DatasetManifest;
  try {
    m = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new DatasetError(`dataset manifest is not UTF-8 JSON: ${(err as Error).message}`);
  }
  const bad = (field: string, why: string): never => {
    throw new DatasetError(`dataset manifest: ${field} ${why}`);
  };
  if (!m || typeof m !== "object") bad("$", "must be an object");
  if (m.format !== DATASET_FORMAT) bad("format", `must be "${DATASET_FORMAT}", got ${JSON.stringify(m.format)}`);
  if (m.version !== DATASET_VERSION) bad("version", `must be ${DATASET_VERSION}, got ${JSON.stringify(m.version)}`);
  const t = m.tokenizer;
  if (!t || typeof t !== "object") bad("tokenizer", "is missing");
  if (!["char", "byte", "gpt2", "hf"].includes(t.kind)) bad("tokenizer.kind", `is unknown (${JSON.stringify(t.kind)}): this worker knows char, byte, gpt2 and hf`);
  if (typeof t.hash !== "string" || !HASH_RE.test(t.hash)) bad("tokenizer.hash", "must be a 0x-prefixed keccak-256");
  if (!Number.isInteger(t.vocabSize) || t.vocabSize < 2 || t.vocabSize > 2 ** 32) bad("tokenizer.vocabSize", `must be an integer ≥ 2, got ${t.vocabSize}`);
  if (!Number.isInteger(t.separatorId) || t.separatorId < 0 || t.separatorId >= t.vocabSize) bad("tokenizer.separatorId", "must be a token id of the vocabulary");
  if (t.kind === "hf" && (t.blob !== t.hash)) bad("tokenizer.blob", "must be the tokenizer.json blob id (= tokenizer.hash) for an hf tokenizer");
  if (m.dtype !== (t.vocabSize <= 65536 ? "uint16" : "uint32")) bad("dtype", `must be ${t.vocabSize <= 65536 ? "uint16" : "uint32"} for a vocabulary of ${t.vocabSize}`);
  if (!Number.isInteger(m.shardTokens) || m.shardTokens < 2) bad("shardTokens", "must be an integer ≥ 2");
  for (const split of ["train", "eval"] as const) {
    const list = m[split];
    if (!Array.isArray(list) || list.length === 0) bad(split, "must list at least one shard");
    list.forEach((s, i) => {
      if (!s || typeof s.hash !== "string" || !HASH_RE.test(s.hash)) bad(`${split}[${i}].hash`, "must be a 0x-prefixed keccak-256");
      if (!Number.isInteger(s.tokens) || s.tokens < 1 || s.tokens > m.shardTokens) bad(`${split}[${i}].tokens`, `must be in [1, ${m.shardTokens}], got ${s.tokens} (empty shard?)`);
      if (i < list.length - 1 && s.tokens !== m.shardTokens) bad(`${split}[${i}].tokens`, `must be ${m.shardTokens} (only the last shard may be shorter)`);
    });
  }
  const again = encodeManifest(m);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) bad("$", "is not in canonical form (sorted keys, no white space)");
  return m;
}

/** Indices (into manifest.train) of the shards worker `workerIndex` trains on in `round`. */
export function assignShards(shardCount: number, opts: { seed: bigint | number; round: number; workerIndex: number; shardsPerRound: number }): number[] {
  if (shardCount < 1) throw new DatasetError("the dataset has no training shards");
  const perm = Array.from({ length: shardCount }, (_, i) => i);
  const rng = rngFor("shards", opts.seed, opts.round);
  for (let i = shardCount - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const k = opts.shardsPerRound;
  return Array.from({ length: k }, (_, j) => perm[(opts.workerIndex * k + j) % shardCount]);
}

/** Concatenates shards into one stream (uint16 when every id fits). */
export function concatTokens(parts: TokenArray[]): Uint16Array | Uint32Array {
  const total = parts.reduce((a, p) => a + p.length, 0);
  const wide = parts.some((p) => p instanceof Uint32Array);
  const out = wide ? new Uint32Array(total) : new Uint16Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
