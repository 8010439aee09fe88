/**
 * Named model sizes. Parameter counts depend on the vocabulary: the names give the size with the
 * vocabulary noted (char = 96 symbols; gpt2 = 50,257 BPE tokens, tied embeddings for llama-125m).
 *
 * | preset      | family | d    | layers | heads | MLP  | context | params (vocab)            |
 * |-------------|--------|------|--------|-------|------|---------|---------------------------|
 * | gpt2-0.43m  | gpt2   | 128  | 2      | 4     | 512  | 64      | 429,664 (char)            |
 * | llama-0.43m | llama  | 128  | 2      | 4     | 352  | 64      | 426,624 (char)            |
 * | llama-10m   | llama  | 384  | 6      | 6     | 1024 | 256     | 10.70 M (char)            |
 * | llama-50m   | llama  | 640  | 10     | 10    | 1728 | 512     | 49.7 M (char)             |
 * | llama-125m  | llama  | 768  | 12     | 12    | 2048 | 1024    | 123.6 M (gpt2, tied)      |
 */
import type { ModelConfig } from "../types.ts";
import { DEFAULT_MODEL } from "./config.ts";

export const MODEL_PRESETS = ["gpt2-0.43m", "llama-0.43m", "llama-10m", "llama-50m", "llama-125m"] as const;
export type ModelPreset = (typeof MODEL_PRESETS)[number];

export function modelPreset(name: ModelPreset, vocabSize?: number): ModelConfig {
  switch (name) {
    case "gpt2-0.43m": return { ...DEFAULT_MODEL, vocabSize: vocabSize ?? DEFAULT_MODEL.vocabSize };
    case "llama-0.43m": return { family: "llama", vocabSize: vocabSize ?? 96, contextLength: 64, dModel: 128, nHeads: 4, nLayers: 2, dMlp: 352 };
    case "llama-10m": return { family: "llama", vocabSize: vocabSize ?? 96, contextLength: 256, dModel: 384, nHeads: 6, nLayers: 6, dMlp: 1024 };
    case "llama-50m": return { family: "llama", vocabSize: vocabSize ?? 96, contextLength: 512, dModel: 640, nHeads: 10, nLayers: 10, dMlp: 1728 };
    case "llama-125m": return { family: "llama", vocabSize: vocabSize ?? 50257, contextLength: 1024, dModel: 768, nHeads: 12, nLayers: 12, dMlp: 2048, tieEmbeddings: true };
    default: throw new Error(`unknown model preset "${String(name)}": one of ${MODEL_PRESETS.join(", ")}`);
  }
}
