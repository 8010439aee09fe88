/**
 * Entropy coding of quantisation codes: static-model rANS (range asymmetric numeral systems) with
 * 32-bit state and byte-wise renormalisation, integer arithmetic only (exact in float64), so every
 * engine produces the same bytes.
 *
 * Model: per code width k, a frequency table of 2^k u16 entries summing to M = 4096, derived from the
 * histogram of all codes of that width in the update by `normalizeFrequencies` (deterministic).
 * Stream: symbols are encoded last to first; the encoder emits renormalisation bytes and finally its
 * 4-byte state; the stream is that byte sequence reversed, so the decoder reads the state big-endian
 * and then consumes bytes forwards. Decoding ends in the initial state L (checked).
 */
import { FormatError } from "./errors.ts";

export const RANS_SCALE_BITS = 12;
export const RANS_M = 1 << RANS_SCALE_BITS;
/** Lower bound of the normalised state interval [L, 256·L). */
export const RANS_L = 2 ** 23;

/**
 * Frequencies summing to exactly M for a histogram: every present symbol gets ≥ 1; first
 * max(1, ⌊count·M/n⌋); then, while the sum is above M, the largest frequency (lowest symbol on ties)
 * loses 1; while below, the symbol with the largest count (lowest on ties) gains the rest.
 */
export function normalizeFrequencies(counts: ArrayLike<number>): Uint16Array {
  const k = counts.length;
  let n = 0;
  for (let s = 0; s < k; s++) n += counts[s];
  if (n === 0) throw new RangeError("normalizeFrequencies: empty histogram");
  let present = 0;
  for (let s = 0; s < k; s++) if (counts[s] > 0) present++;
  if (present > RANS_M) throw new RangeError(`normalizeFrequencies: ${present} symbols exceed M = ${RANS_M}`);
  const f = new Uint16Array(k);
  let sum = 0;
  for (let s = 0; s < k; s++) {
    if (counts[s] > 0) {
      f[s] = Math.max(1, Math.floor((counts[s] * RANS_M) / n));
      sum += f[s];
    }
  }
  while (sum > RANS_M) {
    let best = -1;
    for (let s = 0; s < k; s++) if (f[s] > 1 && (best < 0 || f[s] > f[best])) best = s;
    f[best]--;
    sum--;
  }
  if (sum < RANS_M) {
    let best = 0;
    for (let s = 1; s < k; s++) if (counts[s] > counts[best]) best = s;
    f[best] += RANS_M - sum;
  }
  return f;
}

export interface RansModel {
  freq: Uint16Array;
  /** cum[s] = Σ_{t<s} freq[t]; cum[k] = M. */
  cum: Uint32Array;
}

export function ransModel(freq: Uint16Array): RansModel {
  const cum = new Uint32Array(freq.length + 1);
  for (let s = 0; s < freq.length; s++) cum[s + 1] = cum[s] + freq[s];
  return { freq, cum };
}

/** Encodes `symbols[i]` with `models[i]` (by index into `modelOf`), returning the stream bytes. */
export function ransEncode(symbols: Uint8Array, modelOf: (i: number) => RansModel): Uint8Array {
  const out: number[] = [];
  let x = RANS_L;
  for (let i = symbols.length - 1; i >= 0; i--) {
    const m = modelOf(i);
    const s = symbols[i];
    const freq = m.freq[s];
    if (freq === 0) throw new RangeError(`ransEncode: symbol ${s} at ${i} has frequency 0`);
    const xMax = (RANS_L / RANS_M) * 256 * freq;
    while (x >= xMax) {
      out.push(x % 256);
      x = Math.floor(x / 256);
    }
    x = Math.floor(x / freq) * RANS_M + (x % freq) + m.cum[s];
  }
  for (let b = 0; b < 4; b++) {
    out.push(x % 256);
    x = Math.floor(x / 256);
  }
  out.reverse();
  return Uint8Array.from(out);
}

/**
 * Decodes `count` symbols (the i-th with `modelOf(i)`) from `stream`, which must be consumed exactly
 * and end in the initial state. Throws FormatError (TRUNCATED / NON_CANONICAL) naming `where`.
 */
export function ransDecode(stream: Uint8Array, count: number, modelOf: (i: number) => RansModel, lookupOf: (i: number) => Uint8Array, where: string): Uint8Array {
  if (stream.length < 4) throw new FormatError("TRUNCATED", `${where}: entropy-coded stream of ${stream.length} bytes is shorter than its 4-byte state`);
  let p = 0;
  let x = ((stream[0] * 256 + stream[1]) * 256 + stream[2]) * 256 + stream[3];
  p = 4;
  if (x < RANS_L || x >= RANS_L * 256) throw new FormatError("NON_CANONICAL", `${where}: entropy coder state ${x} outside [2^23, 2^31)`);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const m = modelOf(i);
    const slot = x % RANS_M;
    const s = lookupOf(i)[slot];
    out[i] = s;
    x = m.freq[s] * Math.floor(x / RANS_M) + slot - m.cum[s];
    while (x < RANS_L) {
      if (p >= stream.length) throw new FormatError("TRUNCATED", `${where}: entropy-coded stream ends after ${p} bytes while decoding symbol ${i} of ${count}`);
      x = x * 256 + stream[p++];
    }
  }
  if (p !== stream.length) throw new FormatError("NON_CANONICAL", `${where}: ${stream.length - p} byte(s) left in the entropy-coded stream after ${count} symbols`);
  if (x !== RANS_L) throw new FormatError("NON_CANONICAL", `${where}: entropy coder did not end in its initial state`);
  return out;
}

/** slot → symbol table of a model (M entries). */
export function ransLookup(m: RansModel): Uint8Array {
  const t = new Uint8Array(RANS_M);
  for (let s = 0; s < m.freq.length; s++) t.fill(s, m.cum[s], m.cum[s + 1]);
  return t;
}
