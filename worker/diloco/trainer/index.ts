import type { InnerOptimizerConfig, ModelConfig } from "../types.ts";
import { JaxTrainer, initBackend } from "./jax-trainer.ts";

export { JaxTrainer, initBackend, toDevice, fromDevice, type TrainStats } from "./jax-trainer.ts";
export { DEFAULT_INNER_OPT, validateInnerOpt } from "./options.ts";
export { learningRateAt } from "./schedule.ts";
export { adamwUpdate, stepScalars, CLIP_EPS, type StepScalars } from "./adamw.ts";
export { DEFAULT_MODEL, TINY_MODEL, validateModelConfig } from "../model/config.ts";
export { buildLayout, paramCount, tensorByName } from "../model/layout.ts";
export { initParams } from "../model/init.ts";

/** The in-process trainer (jax-js, WebAssembly). Validates both configs (Errors name the bad field). */
export async function createTrainer(config: ModelConfig, opt: InnerOptimizerConfig): Promise<JaxTrainer> {
  const trainer = new JaxTrainer(config, opt);
  await initBackend();
  return trainer;
}
