/**
 * Round traces: what a worker commits about its training so that a dispute can be narrowed to one
 * inner step (DisputeGame bisection, docs/contracts.md "Round trace and bisection").
 *
 * A worker's trace for round r has H + 2 leaves:
 *   leaf 0      the round's start state: the global parameters x_r, the inner AdamW moments carried
 *               from earlier rounds (zero when the spec does not keep them) and their step count t;
 *   leaf i      the full training state after inner step i (parameters, AdamW m and v, t), 1 ≤ i ≤ H;
 *   leaf H + 1  the compressed update's blob id (the committed update hash).
 * Every state leaf also binds the round's context: the global model hash the round started from,
 * the round, the worker's index and the error-feedback residual the update will be compressed with.
 *
 *   stateLeaf = keccak256("DLCX-TRACE-1" ‖ context ‖ uint32 step ‖ uint64 t ‖ sha256(params) ‖ sha256(m) ‖ sha256(v))
 *   context   = keccak256("DLCX-CTX-1" ‖ startModelHash ‖ uint32 round ‖ uint32 workerIndex ‖ sha256(residual))
 *
 * The big arrays are digested with SHA-256 (native, ~1 GB/s: negligible next to a training step) over
 * their IEEE-754 float32 little-endian bytes in the layout's flat order; keccak only hashes the small
 * header, so the leaves are cheap for both backends (the PyTorch subprocess digests its own tensors).
 * A missing residual (no error feedback, or the first round) digests as sha256 of no bytes.
 */
import { createHash } from "node:crypto";
import { concat, keccak256, numberToHex, stringToHex, type Hex } from "viem";

/** SHA-256 digests of the three arrays of a training state (parameters, AdamW m, AdamW v). */
export interface StateDigests {
  params: Hex;
  m: Hex;
  v: Hex;
}

const TRACE_MAGIC = stringToHex("DLCX-TRACE-1");
const CTX_MAGIC = stringToHex("DLCX-CTX-1");

/** SHA-256 of a float32 array's little-endian bytes (this engine only runs on little-endian hosts). */
export function digestF32(a: Float32Array | null | undefined): Hex {
  const h = createHash("sha256");
  if (a) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return `0x${h.digest("hex")}`;
}

/** Digest of an all-zero array of `n` floats (fresh AdamW moments). */
export function zeroDigest(n: number): Hex {
  return digestF32(new Float32Array(n));
}

export interface TraceContext {
  startModelHash: Hex;
  round: number;
  workerIndex: number;
  /** Digest of the error-feedback residual entering the round (digestF32(null) when there is none). */
  residualDigest: Hex;
}

export function contextHash(c: TraceContext): Hex {
  return keccak256(concat([CTX_MAGIC, c.startModelHash, numberToHex(c.round, { size: 4 }), numberToHex(c.workerIndex, { size: 4 }), c.residualDigest]));
}

/** The leaf of the training state after `step` inner steps (0 = the start state). */
export function stateLeaf(ctx: Hex, step: number, t: number, d: StateDigests): Hex {
  if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`stateLeaf: AdamW step count must be a non-negative integer, got ${t}`);
  return keccak256(concat([TRACE_MAGIC, ctx, numberToHex(step, { size: 4 }), numberToHex(t, { size: 8 }), d.params, d.m, d.v]));
}

/**
 * The H + 2 leaves of a round trace from the start state's digests, the per-step digests the trainer
 * reported, the AdamW step count at the start, and the committed update hash.
 */
export function roundTraceLeaves(opts: { context: TraceContext; start: StateDigests; t0: number; steps: readonly StateDigests[]; updateHash: Hex }): Hex[] {
  const ctx = contextHash(opts.context);
  const leaves: Hex[] = [stateLeaf(ctx, 0, opts.t0, opts.start)];
  opts.steps.forEach((d, i) => leaves.push(stateLeaf(ctx, i + 1, opts.t0 + i + 1, d)));
  leaves.push(opts.updateHash);
  return leaves;
}

export { encodeWitness, decodeWitness, type TraceWitness } from "./witness.ts";
