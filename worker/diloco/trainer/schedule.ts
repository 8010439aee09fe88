import type { InnerOptimizerConfig } from "../types.ts";

/**
 * Learning rate at global step `step` (0-based, = stepOffset + local step):
 * - linear warm-up: lr · (step + 1) / warmupSteps for step < warmupSteps;
 * - then cosine decay from lr to lr · minLrRatio over the remaining totalSteps − warmupSteps steps;
 * - after totalSteps it stays at lr · minLrRatio.
 * Computed in float64; the trainer hands it to the library as float32.
 */
export function learningRateAt(opt: InnerOptimizerConfig, step: number): number {
  if (!Number.isInteger(step) || step < 0) throw new Error(`step must be a non-negative integer, got ${step}`);
  const { lr, warmupSteps, totalSteps, minLrRatio } = opt;
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return lr * (minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
