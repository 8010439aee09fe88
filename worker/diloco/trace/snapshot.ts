/**
 * A worker's replayable state at the start of a round ("DLXR"), published to the blob store every
 * round and named by the round's update (format flag 4, `CompressedUpdate.stateRef`), so that an audit
 * of round r starts at round r: it replays round r from this snapshot, and checks the snapshot itself
 * by replaying only the worker's previous committed round from that round's snapshot. The global
 * parameters are not in it (public, by the start model hash).
 *
 * Version 1 (synchronous schedule), little-endian:
 *   "DLXR" | u8 1 | u32 headerLength | header (UTF-8 JSON) | m | v | residual
 *   header = { startModelHash, round, workerIndex, t, size, moments: boolean, residual: boolean }; m and v
 *   are present when the job keeps the inner AdamW state across rounds, residual with error feedback.
 * Version 2 (one-step-delay overlap, written only by overlapped jobs):
 *   "DLXR" | u8 2 | u32 headerLength | header | m | v | residual | lastStart | lastLocal
 *   header = the version-1 fields, then { start, workers, carry: boolean }, in exactly this key order
 *   (the decoder rejects any other encoding). `start` is the start rule, `workers` the K it divides by,
 *   `carry` whether the round starts from the worker's previous round (lastStart s_i^{r−1} and lastLocal
 *   θ_i^{r−1} follow) or, with `carry: false`, from the start model itself. `startModelHash` is then
 *   the model the start point derives from: round r − 1's start model when the worker committed round
 *   r − 1 (it trained round r right after that commit), round r's own otherwise (worker/node/overlap-start.ts).
 */
import type { Hex } from "viem";
import type { InnerState } from "../types.ts";
import type { OverlapMode } from "../round/index.ts";
import { decodeFrame, encodeFrame } from "./frame.ts";

/** What an overlapped round's start point needs besides the global state it derives from. */
export interface OverlapCarry {
  /** s_i^{r−1}: where the worker's previous round started. */
  lastStart: Float32Array;
  /** θ_i^{r−1}: the parameters that round trained to. */
  lastLocal: Float32Array;
}

export type OverlapRule = Exclude<OverlapMode, "off">;
const RULES: readonly OverlapRule[] = ["eager", "eager-own", "eager-mix", "local"];

export interface SnapshotOverlap {
  start: OverlapRule;
  /** K, the worker count the rule divides by. */
  workers: number;
  /** null: the round starts from the start model itself (round 0, or after a round without a commitment). */
  carry: OverlapCarry | null;
}

export interface StateSnapshot {
  startModelHash: Hex;
  round: number;
  workerIndex: number;
  /** Parameter count of the model. */
  size: number;
  /** AdamW moments carried into the round (null: fresh moments). */
  innerState: InnerState | null;
  /** Error-feedback residual carried into the round (null: none). */
  residual: Float32Array | null;
  /** Overlapped jobs only (version 2): the start rule and the state it starts from. */
  overlap?: SnapshotOverlap;
}

const MAGIC = "DLXR";

interface SnapshotHeader {
  startModelHash: string;
  round: number;
  workerIndex: number;
  t: number;
  size: number;
  moments: boolean;
  residual: boolean;
  start?: OverlapRule;
  workers?: number;
  carry?: boolean;
}

function headerOf(s: StateSnapshot): SnapshotHeader {
  const h: SnapshotHeader = { startModelHash: s.startModelHash.toLowerCase(), round: s.round, workerIndex: s.workerIndex, t: s.innerState?.t ?? 0, size: s.size, moments: s.innerState !== null, residual: s.residual !== null };
  if (s.overlap) Object.assign(h, { start: s.overlap.start, workers: s.overlap.workers, carry: s.overlap.carry !== null });
  return h;
}

export function encodeSnapshot(s: StateSnapshot): Uint8Array {
  const o = s.overlap;
  if (o && (!RULES.includes(o.start) || !Number.isSafeInteger(o.workers) || o.workers < 1)) throw new RangeError(`snapshot overlap needs a start rule and a positive worker count, got ${o.start} / ${o.workers}`);
  const arrays = [...(s.innerState ? [s.innerState.m, s.innerState.v] : []), ...(s.residual ? [s.residual] : []), ...(o?.carry ? [o.carry.lastStart, o.carry.lastLocal] : [])];
  for (const a of arrays) if (a.length !== s.size) throw new RangeError(`snapshot array has ${a.length} values, the model ${s.size}`);
  return encodeFrame(MAGIC, o ? 2 : 1, headerOf(s), arrays);
}

/** Decodes a snapshot; throws a one-line error naming what is wrong with the bytes. */
export function decodeSnapshot(bytes: Uint8Array): StateSnapshot {
  const { header: h, arrays, version, headerBytes } = decodeFrame<SnapshotHeader>(bytes, MAGIC, [1, 2], "state snapshot", (h, version) => {
    for (const k of ["round", "workerIndex", "t", "size"] as const) {
      if (!Number.isSafeInteger(h[k]) || h[k] < 0) throw new Error(`state snapshot header field ${k} must be a non-negative integer`);
    }
    if (typeof h.startModelHash !== "string" || !/^0x[0-9a-f]{64}$/.test(h.startModelHash)) throw new Error("state snapshot header field startModelHash must be a lower-case 32-byte hex string");
    if (version === 2) {
      for (const k of ["moments", "residual", "carry"] as const) if (typeof h[k] !== "boolean") throw new Error(`state snapshot header field ${k} must be true or false`);
      if (!RULES.includes(h.start as OverlapRule)) throw new Error(`state snapshot header field start must be one of ${RULES.join(", ")}`);
      if (!Number.isSafeInteger(h.workers) || h.workers! < 1) throw new Error("state snapshot header field workers must be a positive integer");
    }
    return { count: (h.moments ? 2 : 0) + (h.residual ? 1 : 0) + (version === 2 && h.carry ? 2 : 0), size: h.size };
  });
  const innerState = h.moments ? { m: arrays[0], v: arrays[1], t: h.t } : null;
  const residual = h.residual ? arrays[h.moments ? 2 : 0] : null;
  const next = (h.moments ? 2 : 0) + (h.residual ? 1 : 0);
  const snap: StateSnapshot = { startModelHash: h.startModelHash as Hex, round: h.round, workerIndex: h.workerIndex, size: h.size, innerState, residual };
  if (version === 2) {
    snap.overlap = { start: h.start!, workers: h.workers!, carry: h.carry ? { lastStart: arrays[next], lastLocal: arrays[next + 1] } : null };
    // one encoding per state: the header must be exactly what the encoder writes
    const canonical = new TextEncoder().encode(JSON.stringify(headerOf(snap)));
    if (canonical.length !== headerBytes.length || canonical.some((b, i) => b !== headerBytes[i])) throw new Error("state snapshot version 2 header is not in canonical form (its fields, in the encoder's order, nothing else)");
  }
  return snap;
}

/** Bit-for-bit equality of two carried states (what a snapshot must equal after the previous round). */
export function sameCarriedState(a: { innerState: InnerState | null; residual: Float32Array | null; overlap?: SnapshotOverlap }, b: { innerState: InnerState | null; residual: Float32Array | null; overlap?: SnapshotOverlap }): boolean {
  const eq = (x: Float32Array | null | undefined, y: Float32Array | null | undefined) => {
    if (!x || !y) return !x && !y;
    return x.length === y.length && Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
  };
  if ((a.innerState === null) !== (b.innerState === null)) return false;
  if (a.innerState && b.innerState && (a.innerState.t !== b.innerState.t || !eq(a.innerState.m, b.innerState.m) || !eq(a.innerState.v, b.innerState.v))) return false;
  if ((a.overlap === undefined) !== (b.overlap === undefined)) return false;
  if (a.overlap && b.overlap) {
    const [x, y] = [a.overlap, b.overlap];
    if (x.start !== y.start || x.workers !== y.workers || (x.carry === null) !== (y.carry === null)) return false;
    if (x.carry && y.carry && (!eq(x.carry.lastStart, y.carry.lastStart) || !eq(x.carry.lastLocal, y.carry.lastLocal))) return false;
  }
  return eq(a.residual, b.residual);
}
