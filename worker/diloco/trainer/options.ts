import type { InnerOptimizerConfig } from "../types.ts";

/**
 * Default inner optimiser: the usual recipe for small character-level transformers
 * (AdamW lr 1e-3, β2 0.99, weight decay 0.1, warm-up 100 steps, cosine to 10 %, clip 1.0).
 * `totalSteps` is job-specific (rounds × H); 5000 is only a placeholder.
 */
export const DEFAULT_INNER_OPT: Readonly<InnerOptimizerConfig> = Object.freeze({
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-8,
  weightDecay: 0.1,
  warmupSteps: 100,
  totalSteps: 5000,
  minLrRatio: 0.1,
  clipNorm: 1.0,
});

function finite(opt: InnerOptimizerConfig, field: keyof InnerOptimizerConfig): number {
  const v = opt[field];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`InnerOptimizerConfig.${field} must be a finite number, got ${String(v)}`);
  return v;
}

/** Throws an Error naming the offending field when the config is unusable. */
export function validateInnerOpt(opt: InnerOptimizerConfig): InnerOptimizerConfig {
  if (opt === null || typeof opt !== "object") throw new Error("InnerOptimizerConfig must be an object");
  if (!(finite(opt, "lr") > 0)) throw new Error(`InnerOptimizerConfig.lr must be > 0, got ${opt.lr}`);
  for (const f of ["beta1", "beta2"] as const) {
    const v = finite(opt, f);
    if (!(v >= 0 && v < 1)) throw new Error(`InnerOptimizerConfig.${f} must be in [0, 1), got ${v}`);
  }
  if (!(finite(opt, "eps") > 0)) throw new Error(`InnerOptimizerConfig.eps must be > 0, got ${opt.eps}`);
  if (!(finite(opt, "weightDecay") >= 0)) throw new Error(`InnerOptimizerConfig.weightDecay must be ≥ 0, got ${opt.weightDecay}`);
  for (const f of ["warmupSteps", "totalSteps"] as const) {
    const v = finite(opt, f);
    if (!Number.isInteger(v) || v < 0) throw new Error(`InnerOptimizerConfig.${f} must be a non-negative integer, got ${v}`);
  }
  if (opt.totalSteps < 1) throw new Error(`InnerOptimizerConfig.totalSteps must be ≥ 1, got ${opt.totalSteps}`);
  const r = finite(opt, "minLrRatio");
  if (!(r >= 0 && r <= 1)) throw new Error(`InnerOptimizerConfig.minLrRatio must be in [0, 1], got ${r}`);
  if (!(finite(opt, "clipNorm") >= 0)) throw new Error(`InnerOptimizerConfig.clipNorm must be ≥ 0 (0 disables), got ${opt.clipNorm}`);
  return opt;
}
