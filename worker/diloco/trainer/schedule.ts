import type { InnerOptimizerConfig } from "../types.ts";

/**
 * cos(π·p) for p in [0, 1] using only + − × ÷ (correctly rounded in IEEE-754, hence the same bits
 * in every JavaScript engine; `Math.cos` is not specified to the last bit). Taylor series of sin
 * around π/2: cos(π·p) = −sin(π·(p − ½)), |π·(p − ½)| ≤ π/2, 14 terms (error < 1e-17).
 */
export function cosPi(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new Error(`cosPi: p must be in [0, 1], got ${p}`);
  const x = Math.PI * (p - 0.5);
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let k = 1; k <= 14; k++) {
    term = (-term * x2) / ((2 * k) * (2 * k + 1));
    sum += term;
  }
  return -sum;
}

/**
 * Learning rate at global step `step` (0-based, = stepOffset + local step):
 * - linear warm-up: lr · (step + 1) / warmupSteps for step < warmupSteps;
 * - then cosine decay from lr to lr · minLrRatio over the remaining totalSteps − warmupSteps steps;
 * - after totalSteps it stays at lr · minLrRatio.
 * Computed in float64 with engine-independent arithmetic; the trainer hands it to the library as float32.
 */
export function learningRateAt(opt: InnerOptimizerConfig, step: number): number {
  if (!Number.isInteger(step) || step < 0) throw new Error(`step must be a non-negative integer, got ${step}`);
  const { lr, warmupSteps, totalSteps, minLrRatio } = opt;
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return lr * (minLrRatio + (1 - minLrRatio) * 0.5 * (1 + cosPi(progress)));
}
