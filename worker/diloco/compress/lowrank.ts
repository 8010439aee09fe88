/**
 * Adaptive-rank low-rank compression of one matrix (randomised SVD, Halko–Martinsson–Tropp):
 *   Ω (cols × l) Rademacher from the tensor's deterministic stream, l = min(maxRank + oversample, rows, cols)
 *   Y = M Ω, then `powerIters` rounds of  Q = orth(Y); Z = orth(Mᵀ Q); Y = M Z
 *   Q = orth(Y); B = Qᵀ M; eigen(B Bᵀ) = V diag(σ²) Vᵀ
 *   rank r = smallest r in [minRank, maxRank] with Σ_{j<r} σ_j² ≥ energy · ‖M‖²_F (else the largest allowed)
 *   u = (Q V)[:, :r]ᵀ quantised → û;  w = (û ûᵀ)⁻¹ û M (least squares given û) quantised → ŵ
 *   M̂ = ûᵀ ŵ, each element summed over j ascending in float64 then rounded to float32.
 * Optional warm start: the previous round's ŵ seed the first range-finder directions (the rest stay
 * keyed-random), which makes ŵ part of the worker's replayable state.
 */
import { choleskySolve, gram, orthonormalize, panelTimesM, panelTimesMt, symmetricEigen } from "./linalg.ts";
import { dequantize, quantize } from "./quantize.ts";
import type { Xoshiro128 } from "./rng.ts";
import type { QuantBlocks } from "./types.ts";

export interface LowRankOptions {
  bits: number;
  blockSize: number;
  energy: number;
  minRank: number;
  maxRank: number;
  oversample: number;
  powerIters: number;
}

/** Right factors ŵ (rank × cols, row-major) of a tensor's previous compression: the warm start. */
export interface WarmFactor {
  rank: number;
  cols: number;
  w: Float64Array;
}

export interface LowRankResult {
  rank: number;
  u: QuantBlocks;
  w: QuantBlocks;
  /** Fraction of ‖M‖²_F captured by the chosen rank before quantisation (Σ σ_j² / ‖M‖²). */
  energyCaptured: number;
}

export function lowRankCompress(
  m: Float64Array,
  rows: number,
  cols: number,
  opts: LowRankOptions,
  rng: Xoshiro128,
  warm: WarmFactor | null = null,
): LowRankResult {
  const maxRank = Math.max(1, Math.min(opts.maxRank, rows, cols));
  const l = Math.min(maxRank + opts.oversample, rows, cols);
  const omega = new Float64Array(l * cols);
  rng.fillRademacher(omega);
  // Warm start (PowerSGD): the previous round's right factors replace the first random directions,
  // so one power iteration per round keeps refining the same subspace. The rest stay random, so
  // directions the old subspace misses can still enter.
  if (warm !== null) {
    if (warm.cols !== cols) throw new RangeError(`warm factor has ${warm.cols} columns, matrix has ${cols}`);
    const take = Math.min(warm.rank, Math.max(0, l - Math.min(opts.oversample, l - 1)));
    omega.set(warm.w.subarray(0, take * cols), 0);
  }
  let y = panelTimesMt(m, rows, cols, omega, l); // l × rows
  for (let it = 0; it < opts.powerIters; it++) {
    orthonormalize(y, l, rows);
    const z = panelTimesM(m, rows, cols, y, l); // l × cols
    orthonormalize(z, l, cols);
    y = panelTimesMt(m, rows, cols, z, l);
  }
  orthonormalize(y, l, rows);
  const b = panelTimesM(m, rows, cols, y, l); // l × cols  (B = Qᵀ M)
  const { values, vectors } = symmetricEigen(gram(b, l, cols), l);

  let total = 0;
  for (let i = 0; i < m.length; i++) total += m[i] * m[i];
  let rank = Math.min(Math.max(1, opts.minRank), maxRank);
  let captured = 0;
  for (let j = 0; j < rank; j++) captured += Math.max(0, values[j]);
  while (rank < maxRank && captured < opts.energy * total) {
    captured += Math.max(0, values[rank]);
    rank++;
  }

  // u_j = Σ_k V[j][k] Q_k  (Q_k = rows of y)
  const uRaw = new Float64Array(rank * rows);
  for (let j = 0; j < rank; j++) {
    for (let k = 0; k < l; k++) {
      const coef = vectors[j * l + k];
      if (coef === 0) continue;
      for (let i = 0; i < rows; i++) uRaw[j * rows + i] += coef * y[k * rows + i];
    }
  }
  const u = quantize(uRaw, opts.bits, opts.blockSize);
  const uHat = dequantize(u, opts.blockSize);
  const rhs = panelTimesM(m, rows, cols, uHat, rank); // rank × cols
  const wRaw = choleskySolve(gram(uHat, rank, rows), rank, rhs, cols);
  const w = quantize(wRaw, opts.bits, opts.blockSize);
  return { rank, u, w, energyCaptured: total > 0 ? Math.min(1, captured / total) : 1 };
}

/** The warm start a compressed low-rank tensor leaves for the next round: its dequantised ŵ. */
export function warmFactorOf(w: QuantBlocks, rank: number, cols: number, blockSize: number): WarmFactor {
  return { rank, cols, w: dequantize(w, blockSize) };
}

/** M̂[i][c] = fround(Σ_j û[j][i] · ŵ[j][c]) written into out[offset + i·cols + c]. */
export function lowRankExpandInto(
  u: QuantBlocks,
  w: QuantBlocks,
  rank: number,
  rows: number,
  cols: number,
  blockSize: number,
  out: Float32Array,
  offset: number,
): void {
  const uHat = dequantize(u, blockSize);
  const wHat = dequantize(w, blockSize);
  const acc = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    acc.fill(0);
    for (let j = 0; j < rank; j++) {
      const uij = uHat[j * rows + i];
      if (uij === 0) continue;
      const wo = j * cols;
      for (let c = 0; c < cols; c++) acc[c] += uij * wHat[wo + c];
    }
    const oo = offset + i * cols;
    for (let c = 0; c < cols; c++) out[oo + c] = acc[c];
  }
}
