import type { ModelConfig } from "../types.ts";

/**
 * Default model: the 0.43M-parameter character transformer measured in shared/notes/ml-in-typescript.md
 * (vocab 96, context 64, width 128, 4 heads, 2 layers, MLP 512) — 429,664 parameters.
 */
export const DEFAULT_MODEL: Readonly<ModelConfig> = Object.freeze({
  vocabSize: 96,
  contextLength: 64,
  dModel: 128,
  nHeads: 4,
  nLayers: 2,
  dMlp: 512,
});

/** A tiny model for tests: same vocabulary, everything else minimal but non-trivial (2 layers, 2 heads). */
export const TINY_MODEL: Readonly<ModelConfig> = Object.freeze({
  vocabSize: 96,
  contextLength: 8,
  dModel: 16,
  nHeads: 2,
  nLayers: 2,
  dMlp: 32,
});

function positiveInt(config: ModelConfig, field: keyof ModelConfig): void {
  const v = config[field];
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new Error(`ModelConfig.${field} must be a positive integer, got ${String(v)}`);
  }
}

/** Throws an Error naming the offending field when the config is unusable. */
export function validateModelConfig(config: ModelConfig): ModelConfig {
  if (config === null || typeof config !== "object") throw new Error("ModelConfig must be an object");
  for (const f of ["vocabSize", "contextLength", "dModel", "nHeads", "nLayers", "dMlp"] as const) positiveInt(config, f);
  if (config.vocabSize > 65536) throw new Error(`ModelConfig.vocabSize must be ≤ 65536 (tokens are Uint16), got ${config.vocabSize}`);
  if (config.dModel % config.nHeads !== 0) {
    throw new Error(`ModelConfig.nHeads must divide ModelConfig.dModel (${config.dModel} % ${config.nHeads} ≠ 0)`);
  }
  return config;
}
