import type { InnerOptimizerConfig, ModelConfig } from "../types.ts";
import { JaxTrainer } from "./jax-trainer.ts";
import { initBackend, type FloatMode } from "./backend.ts";

export { initBackend, backendFloatMode, type FloatMode } from "./backend.ts";
export { JaxTrainer, toDevice, fromDevice, type TrainStats } from "./jax-trainer.ts";
export { DEFAULT_INNER_OPT, validateInnerOpt } from "./options.ts";
export { learningRateAt } from "./schedule.ts";
export { adamwUpdate, stepScalars, CLIP_EPS, type StepScalars } from "./adamw.ts";
export { DEFAULT_MODEL, TINY_MODEL, validateModelConfig } from "../model/config.ts";
export { buildLayout, paramCount, tensorByName } from "../model/layout.ts";
export { initParams } from "../model/init.ts";

export interface CreateTrainerOptions {
  /** Floating-point mode of the process's jax-js backend (default "strict": bit-identical on every CPU). */
  floatMode?: FloatMode;
}

/** The in-process trainer (jax-js, WebAssembly). Validates both configs (Errors name the bad field). */
export async function createTrainer(config: ModelConfig, opt: InnerOptimizerConfig, options: CreateTrainerOptions = {}): Promise<JaxTrainer> {
  const trainer = new JaxTrainer(config, opt, options.floatMode ?? "strict");
  await initBackend(trainer.floatMode);
  return trainer;
}
