/**
 * Compression of pseudo-gradients with error feedback, and the matching decompression.
 *
 *   v = fround(Δ + e)                      (e = 0 without error feedback or in the first round)
 *   C = compress(v)  per tensor: raw | block quantisation | adaptive low-rank + quantised factors
 *   e' = fround(v − decompress(C))         (the new residual; kept by the worker)
 *
 * Deterministic: the random projection of tensor t is keyed by (seed, round, worker, t).
 */
import { matrixDims, validateLayout } from "../format/layout.ts";
import type { ParamLayout } from "../types.ts";
import { validateCompressionConfig, type CompressionConfig } from "./config.ts";
import { lowRankCompress, lowRankExpandInto, warmFactorOf, type WarmFactor } from "./lowrank.ts";

export type { WarmFactor } from "./lowrank.ts";
import { dequantizeInto, quantize } from "./quantize.ts";
import { Xoshiro128 } from "./rng.ts";
import type { CompressedTensor, CompressedUpdate } from "./types.ts";

export type { CompressedTensor, CompressedUpdate, QuantBlocks } from "./types.ts";
export * from "./config.ts";

export interface CompressContext {
  seed: bigint | number;
  round: number;
  /** Worker index in the job (keys the random projections). */
  worker: number;
  /** Warm-start factors per layout tensor from the previous round (`config.warmStart`); null entries = none. */
  warm?: readonly (WarmFactor | null)[] | null;
}

export interface TensorStats {
  name: string;
  mode: CompressedTensor["mode"];
  rank: number;
  /** Energy captured by the chosen rank (1 for non-low-rank tensors). */
  energyCaptured: number;
  /** ‖v − decompress(C)‖ / ‖v‖ for this tensor (0 when v = 0). */
  relError: number;
}

export interface CompressResult {
  update: CompressedUpdate;
  /** New error-feedback residual e' (null when error feedback is off). */
  residual: Float32Array | null;
  /** decompress(update), already computed (what the aggregate will see from this worker). */
  decompressed: Float32Array;
  stats: TensorStats[];
  /** Per layout tensor, the warm start for the next round (only with `config.warmStart`; null when not low-rank). */
  warm: (WarmFactor | null)[] | null;
}

/** Δ = global − local, elementwise in float32. */
export function pseudoGradient(global: Float32Array, local: Float32Array): Float32Array {
  if (global.length !== local.length) throw new RangeError(`pseudoGradient: lengths differ (${global.length} vs ${local.length})`);
  const out = new Float32Array(global.length);
  for (let i = 0; i < out.length; i++) out[i] = global[i] - local[i];
  return out;
}

export function compressUpdate(
  delta: Float32Array,
  residual: Float32Array | null,
  layout: ParamLayout,
  config: CompressionConfig,
  ctx: CompressContext,
): CompressResult {
  validateLayout(layout);
  validateCompressionConfig(config);
  if (delta.length !== layout.size) throw new RangeError(`delta has ${delta.length} elements, layout has ${layout.size}`);
  const useResidual = config.errorFeedback && residual !== null;
  if (useResidual && residual.length !== layout.size) throw new RangeError(`residual has ${residual.length} elements, layout has ${layout.size}`);
  for (let i = 0; i < delta.length; i++) {
    if (!Number.isFinite(delta[i])) throw new RangeError(`delta[${i}] is ${delta[i]}: refusing to compress a non-finite pseudo-gradient`);
  }
  const v = new Float32Array(layout.size);
  if (useResidual) for (let i = 0; i < v.length; i++) v[i] = delta[i] + residual[i];
  else v.set(delta);

  const tensors: CompressedTensor[] = [];
  const stats: TensorStats[] = [];
  const decompressed = new Float32Array(layout.size);
  const bs = config.blockSize;
  const warmStart = config.warmStart === true;
  if (warmStart && ctx.warm && ctx.warm.length !== layout.tensors.length) {
    throw new RangeError(`warm start has ${ctx.warm.length} entries, layout has ${layout.tensors.length} tensors`);
  }
  const nextWarm: (WarmFactor | null)[] | null = warmStart ? layout.tensors.map(() => null) : null;
  layout.tensors.forEach((t, ti) => {
    const x = v.subarray(t.offset, t.offset + t.size);
    let ct: CompressedTensor;
    let rank = 0;
    let energyCaptured = 1;
    if (config.method === "none") {
      ct = { mode: "raw", values: x.slice() };
    } else if (config.method === "quant" || t.kind === "vector") {
      ct = { mode: "quant", q: quantize(x, config.method === "quant" ? config.bits : config.vectorBits, bs) };
    } else {
      const { rows, cols } = matrixDims(t);
      let allZero = true;
      for (let i = 0; i < x.length && allZero; i++) if (x[i] !== 0) allZero = false;
      const capRank = Math.min(config.maxRank, rows, cols);
      // Low rank only pays off when the factors are smaller than the matrix.
      if (allZero || Math.max(1, Math.min(config.minRank, capRank)) * (rows + cols) >= rows * cols) {
        ct = { mode: "quant", q: quantize(x, config.bits, bs) };
      } else {
        const rng = Xoshiro128.fromKey({ seed: ctx.seed, round: ctx.round, worker: ctx.worker, tensor: ti });
        const m = Float64Array.from(x);
        const lr = lowRankCompress(m, rows, cols, { ...config, maxRank: capRank }, rng, warmStart ? (ctx.warm?.[ti] ?? null) : null);
        if (nextWarm) nextWarm[ti] = warmFactorOf(lr.w, lr.rank, cols, bs);
        rank = lr.rank;
        energyCaptured = lr.energyCaptured;
        ct = { mode: "lowrank", rank: lr.rank, rows, cols, u: lr.u, w: lr.w };
      }
    }
    expandTensorInto(ct, bs, decompressed, t.offset);
    let err = 0;
    let norm = 0;
    for (let i = 0; i < t.size; i++) {
      const d = x[i] - decompressed[t.offset + i];
      err += d * d;
      norm += x[i] * x[i];
    }
    tensors.push(ct);
    stats.push({ name: t.name, mode: ct.mode, rank, energyCaptured, relError: norm > 0 ? Math.sqrt(err / norm) : 0 });
  });

  let newResidual: Float32Array | null = null;
  if (config.errorFeedback) {
    newResidual = new Float32Array(layout.size);
    for (let i = 0; i < v.length; i++) newResidual[i] = v[i] - decompressed[i];
  }
  return { update: { layout, blockSize: bs, tensors }, residual: newResidual, decompressed, stats, warm: nextWarm };
}

/** Writes the dense float32 reconstruction of one compressed tensor into out[offset ..]. */
export function expandTensorInto(ct: CompressedTensor, blockSize: number, out: Float32Array, offset: number): void {
  switch (ct.mode) {
    case "raw":
      out.set(ct.values, offset);
      return;
    case "quant":
      dequantizeInto(ct.q, blockSize, out, offset);
      return;
    case "lowrank":
      lowRankExpandInto(ct.u, ct.w, ct.rank, ct.rows, ct.cols, blockSize, out, offset);
      return;
  }
}

/** The dense float32 pseudo-gradient a compressed update stands for. */
export function decompressUpdate(update: CompressedUpdate): Float32Array {
  const out = new Float32Array(update.layout.size);
  update.layout.tensors.forEach((t, i) => expandTensorInto(update.tensors[i], update.blockSize, out, t.offset));
  return out;
}
