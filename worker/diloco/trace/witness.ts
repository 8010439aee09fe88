/**
 * A trace witness: the full training state behind one state leaf of a round trace, published to the
 * blob store when a dispute reaches the referees, so that they recompute the single disputed step
 * from it (docs/contracts.md "Round trace and bisection").
 *
 * Layout ("DLXW" version 1, little-endian):
 *   "DLXW" | u8 version = 1 | u32 headerLength | header (UTF-8 JSON) | params | m | v | residual?
 * header = { startModelHash, round, workerIndex, step, t, size, residual: boolean }; each array is
 * `size` float32 values. Referees recompute the leaf from the decoded witness (trace/index.ts) and
 * use it only when it equals the leaf both parties agreed on.
 */
import type { Hex } from "viem";
import { decodeFrame, encodeFrame } from "./frame.ts";

export interface TraceWitness {
  startModelHash: Hex;
  round: number;
  workerIndex: number;
  /** Inner steps done (0 = the round's start state). */
  step: number;
  /** AdamW steps the moments have seen. */
  t: number;
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** Error-feedback residual entering the round (null: none). */
  residual: Float32Array | null;
}

const MAGIC = "DLXW";
const VERSION = 1;

interface WitnessHeader {
  startModelHash: Hex;
  round: number;
  workerIndex: number;
  step: number;
  t: number;
  size: number;
  residual: boolean;
}

export function encodeWitness(w: TraceWitness): Uint8Array {
  const size = w.params.length;
  for (const [name, a] of [["m", w.m], ["v", w.v], ["residual", w.residual]] as const) {
    if (a && a.length !== size) throw new RangeError(`witness ${name} has ${a.length} values, params ${size}`);
  }
  const header: WitnessHeader = { startModelHash: w.startModelHash, round: w.round, workerIndex: w.workerIndex, step: w.step, t: w.t, size, residual: w.residual !== null };
  return encodeFrame(MAGIC, VERSION, header, [w.params, w.m, w.v, ...(w.residual ? [w.residual] : [])]);
}

/** Decodes a witness; throws a one-line error naming what is wrong with the bytes. */
export function decodeWitness(bytes: Uint8Array): TraceWitness {
  const { header: h, arrays } = decodeFrame<WitnessHeader>(bytes, MAGIC, VERSION, "trace witness", (h) => {
    for (const k of ["round", "workerIndex", "step", "t", "size"] as const) {
      if (!Number.isSafeInteger(h[k]) || h[k] < 0) throw new Error(`trace witness header field ${k} must be a non-negative integer`);
    }
    if (typeof h.startModelHash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(h.startModelHash)) throw new Error("trace witness header field startModelHash must be a 32-byte hex string");
    return { count: h.residual ? 4 : 3, size: h.size };
  });
  const [params, m, v, residual] = arrays;
  return { startModelHash: h.startModelHash.toLowerCase() as Hex, round: h.round, workerIndex: h.workerIndex, step: h.step, t: h.t, params, m, v, residual: residual ?? null };
}
