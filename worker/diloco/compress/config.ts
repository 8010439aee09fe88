/** Compression settings (part of the job spec: every worker and auditor must use the same). */
import { assertBits } from "./quantize.ts";

export interface CompressionConfig {
  /**
   * "none": raw float32 pseudo-gradients; "quant": every tensor block-quantised to `bits`;
   * "lowrank": matrices low-rank (adaptive rank) with `bits`-bit factors, vectors quantised to `vectorBits`.
   */
  method: "none" | "quant" | "lowrank";
  /** Bits for dense quantisation ("quant") and for low-rank factors ("lowrank"), 2..8. */
  bits: number;
  /** Bits for "vector" tensors under "lowrank", 2..8. */
  vectorBits: number;
  /** Values per quantisation block (one float32 scale each). */
  blockSize: number;
  /** Adaptive rank: smallest rank whose singular values capture this fraction of ‖Δ+e‖²_F, in (0, 1]. */
  energy: number;
  minRank: number;
  /** Rank cap per matrix. */
  maxRank: number;
  /** Extra random directions for the range finder. */
  oversample: number;
  /** Power iterations of the range finder. */
  powerIters: number;
  /** Keep and add the error-feedback residual e. */
  errorFeedback: boolean;
  /**
   * Warm-start the range finder with the previous round's right factors (PowerSGD); they become part
   * of the worker's replayable state. Absent = false.
   */
  warmStart?: boolean;
  /** Wire format: entropy-code every quantisation code (rANS; "DLXU" version 2, flag 1). Absent = false. */
  entropyCoding?: boolean;
  /** Wire format: name the layout by its keccak-256 instead of writing it out ("DLXU" version 2, flag 2). Absent = false. */
  layoutHash?: boolean;
}

const BASE: CompressionConfig = {
  method: "none",
  bits: 8,
  vectorBits: 8,
  blockSize: 64,
  energy: 0.5,
  minRank: 1,
  maxRank: 8,
  oversample: 4,
  powerIters: 1,
  errorFeedback: false,
};

/** Plain DiLoCo: float32 pseudo-gradients. */
export const FP32_COMPRESSION: CompressionConfig = { ...BASE };

/** DiLoCo with int8 pseudo-gradients (per-block scales), no error feedback. */
export const INT8_COMPRESSION: CompressionConfig = { ...BASE, method: "quant", bits: 8, vectorBits: 8 };

/**
 * DiLoCoX: adaptive low-rank (smallest rank in 8..32 capturing ≥ 90 % of the energy) + 4-bit factors
 * + 4-bit vectors, with error feedback. The floor of 8 matters: the output head's pseudo-gradient has
 * 92 % of its energy in one direction, yet dropping the rest costs 5 % eval loss after one round.
 */
export const DILOCOX_COMPRESSION: CompressionConfig = {
  ...BASE,
  method: "lowrank",
  bits: 4,
  vectorBits: 4,
  blockSize: 64,
  energy: 0.9,
  minRank: 8,
  maxRank: 32,
  errorFeedback: true,
};

export function validateCompressionConfig(c: CompressionConfig): void {
  if (c.method !== "none" && c.method !== "quant" && c.method !== "lowrank") throw new RangeError(`unknown compression method ${String(c.method)}`);
  if (c.method !== "none") {
    assertBits(c.bits);
    if (c.method === "lowrank") assertBits(c.vectorBits);
  }
  if (!Number.isInteger(c.blockSize) || c.blockSize < 1 || c.blockSize > 65536) throw new RangeError(`blockSize must be in 1..65536, got ${c.blockSize}`);
  if (!(c.energy > 0 && c.energy <= 1)) throw new RangeError(`energy must be in (0, 1], got ${c.energy}`);
  if (!Number.isInteger(c.minRank) || c.minRank < 1) throw new RangeError(`minRank must be an integer ≥ 1, got ${c.minRank}`);
  if (!Number.isInteger(c.maxRank) || c.maxRank < c.minRank || c.maxRank > 65535) throw new RangeError(`maxRank must be an integer in minRank..65535, got ${c.maxRank}`);
  if (!Number.isInteger(c.oversample) || c.oversample < 0) throw new RangeError(`oversample must be an integer ≥ 0, got ${c.oversample}`);
  if (!Number.isInteger(c.powerIters) || c.powerIters < 0 || c.powerIters > 8) throw new RangeError(`powerIters must be in 0..8, got ${c.powerIters}`);
  for (const f of ["warmStart", "entropyCoding", "layoutHash"] as const) {
    if (c[f] !== undefined && typeof c[f] !== "boolean") throw new RangeError(`${f} must be a boolean, got ${String(c[f])}`);
  }
  if (c.entropyCoding && c.method === "none") throw new RangeError(`entropyCoding needs quantised codes: method "none" has none`);
}
