/**
 * The inner AdamW state file of a worker (kept across rounds when the job spec says so): "DLXI"
 * version 1, u32 LE t, u32 LE n, then m and v as n float32 each. Written next to the residual and
 * adopted with it once the round's commitment is on chain.
 */
import type { InnerState } from "../diloco/types.ts";

export function encodeInnerState(s: InnerState): Uint8Array {
  const n = s.m.length;
  const out = new Uint8Array(14 + 8 * n);
  const dv = new DataView(out.buffer);
  out.set([0x44, 0x4c, 0x58, 0x49], 0);
  dv.setUint16(4, 1, true);
  dv.setUint32(6, s.t, true);
  dv.setUint32(10, n, true);
  for (let i = 0; i < n; i++) {
    dv.setFloat32(14 + 4 * i, s.m[i], true);
    dv.setFloat32(14 + 4 * (n + i), s.v[i], true);
  }
  return out;
}

export function decodeInnerState(bytes: Uint8Array, expectedSize: number): InnerState {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 14 || bytes[0] !== 0x44 || bytes[1] !== 0x4c || bytes[2] !== 0x58 || bytes[3] !== 0x49 || dv.getUint16(4, true) !== 1) throw new Error("inner-state file: not a DLXI v1 file");
  const n = dv.getUint32(10, true);
  if (n !== expectedSize || bytes.length !== 14 + 8 * n) throw new Error(`inner-state file: ${n} values, the model has ${expectedSize}`);
  const m = new Float32Array(n);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    m[i] = dv.getFloat32(14 + 4 * i, true);
    v[i] = dv.getFloat32(14 + 4 * (n + i), true);
  }
  return { m, v, t: dv.getUint32(6, true) };
}
