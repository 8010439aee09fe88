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

const MAGIC = [0x44, 0x4c, 0x58, 0x57]; // "DLXW"
const VERSION = 1;
const MAX_HEADER = 4096;

export function encodeWitness(w: TraceWitness): Uint8Array {
  const size = w.params.length;
  for (const [name, a] of [["m", w.m], ["v", w.v], ["residual", w.residual]] as const) {
    if (a && a.length !== size) throw new RangeError(`witness ${name} has ${a.length} values, params ${size}`);
  }
  const header = new TextEncoder().encode(JSON.stringify({ startModelHash: w.startModelHash, round: w.round, workerIndex: w.workerIndex, step: w.step, t: w.t, size, residual: w.residual !== null }));
  const arrays = [w.params, w.m, w.v, ...(w.residual ? [w.residual] : [])];
  const out = new Uint8Array(9 + header.length + arrays.length * size * 4);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  new DataView(out.buffer).setUint32(5, header.length, true);
  out.set(header, 9);
  let off = 9 + header.length;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  return out;
}

/** Decodes a witness; throws a one-line error naming what is wrong with the bytes. */
export function decodeWitness(bytes: Uint8Array): TraceWitness {
  if (bytes.length < 9 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error("not a trace witness (missing the DLXW magic)");
  if (bytes[4] !== VERSION) throw new Error(`trace witness version ${bytes[4]} is not supported (this software reads version ${VERSION})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hl = dv.getUint32(5, true);
  if (hl > MAX_HEADER || 9 + hl > bytes.length) throw new Error(`trace witness header length ${hl} is out of range`);
  let h: { startModelHash: Hex; round: number; workerIndex: number; step: number; t: number; size: number; residual: boolean };
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(9, 9 + hl)));
  } catch {
    throw new Error("trace witness header is not valid JSON");
  }
  for (const k of ["round", "workerIndex", "step", "t", "size"] as const) {
    if (!Number.isSafeInteger(h[k]) || h[k] < 0) throw new Error(`trace witness header field ${k} must be a non-negative integer`);
  }
  if (typeof h.startModelHash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(h.startModelHash)) throw new Error("trace witness header field startModelHash must be a 32-byte hex string");
  const count = h.residual ? 4 : 3;
  const body = 9 + hl;
  if (bytes.length !== body + count * h.size * 4) throw new Error(`trace witness has ${bytes.length} bytes, its header implies ${body + count * h.size * 4}`);
  const arr = (i: number) => new Float32Array(bytes.slice(body + i * h.size * 4, body + (i + 1) * h.size * 4).buffer);
  return { startModelHash: h.startModelHash.toLowerCase() as Hex, round: h.round, workerIndex: h.workerIndex, step: h.step, t: h.t, params: arr(0), m: arr(1), v: arr(2), residual: h.residual ? arr(3) : null };
}
