/**
 * A worker's replayable state at the start of a round ("DLXR" version 1), published to the blob store
 * every round and named by the round's update (format flag 4, `CompressedUpdate.stateRef`), so that
 * an audit of round r starts at round r: it replays round r from this snapshot, and checks the snapshot
 * itself by replaying only the worker's previous committed round from that round's snapshot. The
 * global parameters are not in it (public, by the round's start model hash).
 *
 * Layout (little-endian): "DLXR" | u8 version = 1 | u32 headerLength | header (UTF-8 JSON) | m | v | residual
 * header = { startModelHash, round, workerIndex, t, size, moments: boolean, residual: boolean }; m and v
 * are present when the job keeps the inner AdamW state across rounds, residual with error feedback.
 */
import type { Hex } from "viem";
import type { InnerState } from "../types.ts";
import { decodeFrame, encodeFrame } from "./frame.ts";

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
}

const MAGIC = "DLXR";
const VERSION = 1;

interface SnapshotHeader {
  startModelHash: string;
  round: number;
  workerIndex: number;
  t: number;
  size: number;
  moments: boolean;
  residual: boolean;
}

export function encodeSnapshot(s: StateSnapshot): Uint8Array {
  const arrays = [...(s.innerState ? [s.innerState.m, s.innerState.v] : []), ...(s.residual ? [s.residual] : [])];
  for (const a of arrays) if (a.length !== s.size) throw new RangeError(`snapshot array has ${a.length} values, the model ${s.size}`);
  const header: SnapshotHeader = { startModelHash: s.startModelHash.toLowerCase(), round: s.round, workerIndex: s.workerIndex, t: s.innerState?.t ?? 0, size: s.size, moments: s.innerState !== null, residual: s.residual !== null };
  return encodeFrame(MAGIC, VERSION, header, arrays);
}

/** Decodes a snapshot; throws a one-line error naming what is wrong with the bytes. */
export function decodeSnapshot(bytes: Uint8Array): StateSnapshot {
  const { header: h, arrays } = decodeFrame<SnapshotHeader>(bytes, MAGIC, VERSION, "state snapshot", (h) => {
    for (const k of ["round", "workerIndex", "t", "size"] as const) {
      if (!Number.isSafeInteger(h[k]) || h[k] < 0) throw new Error(`state snapshot header field ${k} must be a non-negative integer`);
    }
    if (typeof h.startModelHash !== "string" || !/^0x[0-9a-f]{64}$/.test(h.startModelHash)) throw new Error("state snapshot header field startModelHash must be a lower-case 32-byte hex string");
    return { count: (h.moments ? 2 : 0) + (h.residual ? 1 : 0), size: h.size };
  });
  const innerState = h.moments ? { m: arrays[0], v: arrays[1], t: h.t } : null;
  const residual = h.residual ? arrays[h.moments ? 2 : 0] : null;
  return { startModelHash: h.startModelHash as Hex, round: h.round, workerIndex: h.workerIndex, size: h.size, innerState, residual };
}

/** Bit-for-bit equality of two carried states (what a snapshot must equal after the previous round). */
export function sameCarriedState(a: { innerState: InnerState | null; residual: Float32Array | null }, b: { innerState: InnerState | null; residual: Float32Array | null }): boolean {
  const eq = (x: Float32Array | null | undefined, y: Float32Array | null | undefined) => {
    if (!x || !y) return !x && !y;
    return x.length === y.length && Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
  };
  if ((a.innerState === null) !== (b.innerState === null)) return false;
  if (a.innerState && b.innerState && (a.innerState.t !== b.innerState.t || !eq(a.innerState.m, b.innerState.m) || !eq(a.innerState.v, b.innerState.v))) return false;
  return eq(a.residual, b.residual);
}
