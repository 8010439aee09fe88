/**
 * Symmetric "mid-rise" block quantisation to k bits (2..8). In a block with scale s, code q in
 * 0 .. 2^k − 1 stands for s × (q − c) with c = (2^k − 1)/2, so all 2^k codes are used and
 * |x − x̂| ≤ s/2 inside the block. s = fround(max|x| / c) (float32), forced to 0 below the smallest
 * normal float32 so every non-zero scale has full precision. Pure float64 arithmetic with
 * correctly rounded operations only: bit-identical on every IEEE-754 engine.
 */
import type { QuantBlocks } from "./types.ts";

export const MIN_BITS = 2;
export const MAX_BITS = 8;
/** Smallest normal float32; scales below it are stored as 0. */
export const MIN_SCALE = 2 ** -126;

export function assertBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new RangeError(`quantisation bits must be an integer in ${MIN_BITS}..${MAX_BITS}, got ${bits}`);
  }
}

export function blockCount(count: number, blockSize: number): number {
  return Math.ceil(count / blockSize);
}

/** Quantises `values` (any finite numbers) block by block. */
export function quantize(values: ArrayLike<number>, bits: number, blockSize: number): QuantBlocks {
  assertBits(bits);
  const count = values.length;
  const nBlocks = blockCount(count, blockSize);
  const scales = new Float32Array(nBlocks);
  const codes = new Uint8Array(count);
  const maxCode = (1 << bits) - 1;
  const c = maxCode / 2;
  for (let b = 0; b < nBlocks; b++) {
    const start = b * blockSize;
    const end = Math.min(count, start + blockSize);
    let maxAbs = 0;
    for (let i = start; i < end; i++) {
      const a = Math.abs(values[i]);
      if (a > maxAbs) maxAbs = a;
    }
    let s = Math.fround(maxAbs / c);
    if (!(s >= MIN_SCALE)) s = 0;
    scales[b] = s;
    if (s === 0) continue; // codes stay 0
    for (let i = start; i < end; i++) {
      let q = Math.floor(values[i] / s + c + 0.5);
      if (q < 0) q = 0;
      else if (q > maxCode) q = maxCode;
      codes[i] = q;
    }
  }
  return { bits, count, scales, codes };
}

/** Writes the dequantised values (float32-rounded) into `out[offset ..]`. */
export function dequantizeInto(q: QuantBlocks, blockSize: number, out: Float32Array | Float64Array, offset = 0): void {
  const c = ((1 << q.bits) - 1) / 2;
  for (let b = 0; b < q.scales.length; b++) {
    const s = q.scales[b];
    const start = b * blockSize;
    const end = Math.min(q.count, start + blockSize);
    if (s === 0) {
      for (let i = start; i < end; i++) out[offset + i] = 0;
    } else {
      for (let i = start; i < end; i++) out[offset + i] = Math.fround(s * (q.codes[i] - c));
    }
  }
}

export function dequantize(q: QuantBlocks, blockSize: number): Float64Array {
  const out = new Float64Array(q.count);
  dequantizeInto(q, blockSize, out);
  return out;
}

/** Bytes the codes take on the wire (packed, LSB first, zero-padded to a byte). */
export function packedCodeBytes(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

/** Packs codes LSB-first into a byte string; padding bits are 0. */
export function packCodes(codes: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(packedCodeBytes(codes.length, bits));
  let bitPos = 0;
  for (let i = 0; i < codes.length; i++, bitPos += bits) {
    const byte = bitPos >>> 3;
    const shift = bitPos & 7;
    const v = codes[i] << shift;
    out[byte] |= v & 0xff;
    if (shift + bits > 8) out[byte + 1] |= v >>> 8;
  }
  return out;
}

/** Inverse of packCodes. Returns null if any padding bit is set (non-canonical). */
export function unpackCodes(packed: Uint8Array, count: number, bits: number): Uint8Array | null {
  const codes = new Uint8Array(count);
  const mask = (1 << bits) - 1;
  let bitPos = 0;
  for (let i = 0; i < count; i++, bitPos += bits) {
    const byte = bitPos >>> 3;
    const shift = bitPos & 7;
    let v = packed[byte] >>> shift;
    if (shift + bits > 8) v |= packed[byte + 1] << (8 - shift);
    codes[i] = v & mask;
  }
  const usedBits = count * bits;
  if (usedBits % 8 !== 0) {
    const last = packed[packed.length - 1];
    if (last >>> (usedBits % 8) !== 0) return null;
  }
  return codes;
}
