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

/** Largest model a job spec may ask for (parameters): beyond ~125M presets with room to spare. */
export const MAX_PARAMS = 1_000_000_000;
/** Largest vocabulary (token ids are stored in at most 32 bits; the one-hot embedding of the jax-js trainer bounds it in practice). */
export const MAX_VOCAB = 262_144;

/** RMSNorm / LayerNorm epsilon and rotary base of the Llama family (fixed; recorded in the exported config.json). */
export const LLAMA_NORM_EPS = 1e-5;
export const ROPE_THETA = 10000;

function positiveInt(config: ModelConfig, field: keyof ModelConfig): void {
  const v = config[field];
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new Error(`ModelConfig.${field} must be a positive integer, got ${String(v)}`);
  }
}

export function modelFamily(config: ModelConfig): "gpt2" | "llama" {
  return config.family ?? "gpt2";
}

/** Throws an Error naming the offending field when the config is unusable. */
export function validateModelConfig(config: ModelConfig): ModelConfig {
  if (config === null || typeof config !== "object") throw new Error("ModelConfig must be an object");
  for (const f of ["vocabSize", "contextLength", "dModel", "nHeads", "nLayers", "dMlp"] as const) positiveInt(config, f);
  if (config.vocabSize > MAX_VOCAB) throw new Error(`ModelConfig.vocabSize must be ≤ ${MAX_VOCAB}, got ${config.vocabSize}`);
  if (config.dModel % config.nHeads !== 0) {
    throw new Error(`ModelConfig.nHeads must divide ModelConfig.dModel (${config.dModel} % ${config.nHeads} ≠ 0)`);
  }
  if (config.family !== undefined && config.family !== "gpt2" && config.family !== "llama") throw new Error(`ModelConfig.family must be "gpt2" or "llama", got ${JSON.stringify(config.family)}`);
  if (config.tieEmbeddings !== undefined && typeof config.tieEmbeddings !== "boolean") throw new Error("ModelConfig.tieEmbeddings must be true or false");
  if (config.tieEmbeddings && modelFamily(config) !== "llama") throw new Error("ModelConfig.tieEmbeddings is only offered for the llama family (the gpt2 family has an untied head with a bias)");
  if (modelFamily(config) === "llama" && (config.dModel / config.nHeads) % 2 !== 0) throw new Error(`ModelConfig: rotary positions need an even head size, got dModel/nHeads = ${config.dModel / config.nHeads}`);
  return config;
}
