/** Model presets of the DiLoCo benchmarks: the default model, a half-width one for exploring, the test model. */
import type { ModelConfig } from "../../worker/diloco/types.ts";
import { DEFAULT_MODEL, TINY_MODEL } from "../../worker/diloco/trainer/index.ts";

/** Half the width of the default model (≈ 3.5× fewer FLOPs per step): for exploring settings quickly. */
export const HALF_MODEL: Readonly<ModelConfig> = Object.freeze({ ...DEFAULT_MODEL, dModel: 64, dMlp: 256 });

export function modelByName(name: string): ModelConfig {
  if (name === "default") return DEFAULT_MODEL;
  if (name === "half") return HALF_MODEL;
  if (name === "tiny") return TINY_MODEL;
  throw new Error(`--model must be default, half or tiny, got ${name}`);
}
