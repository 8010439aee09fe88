/**
 * The whole training step — forward, backward, clipping and AdamW — as one jit-compiled jax-js function.
 * jax-js compiles it once per batch shape (first call: about a second for the default model).
 */
import { jit, valueAndGrad, numpy as np, type OwnedFunction } from "@jax-js/jax";
import type { InnerOptimizerConfig, ModelConfig, ParamLayout } from "../types.ts";
import { lossFn } from "../model/transformer.ts";
import { adamwUpdate } from "./adamw.ts";

type Arr = np.Array;

/** A type alias, not an interface: jax-js only treats type aliases as pytrees (JsTree). */
export type StepState = {
  params: Arr[];
  m: Arr[];
  v: Arr[];
};

/** (state, x, y, lr, stepSize, sqrtBc2) → [new state, [loss, gradNorm]]. Consumes every argument. */
export type TrainStepFn = OwnedFunction<
  (state: StepState, x: Arr, y: Arr, lr: Arr, stepSize: Arr, sqrtBc2: Arr) => [StepState, Arr]
>;

/** Weight decay applies to "matrix" tensors (weights and embeddings), not to biases or layer norms. */
export function decayMask(layout: ParamLayout): boolean[] {
  return layout.tensors.map((t) => t.kind === "matrix");
}

export function makeTrainStep(config: ModelConfig, layout: ParamLayout, opt: InnerOptimizerConfig): TrainStepFn {
  const decay = decayMask(layout);
  return jit((state: StepState, x: Arr, y: Arr, lr: Arr, stepSize: Arr, sqrtBc2: Arr): [StepState, Arr] => {
    const [loss, grads] = valueAndGrad((p: Arr[]) => lossFn(config, p, x, y))(state.params.map((a) => a.ref));
    const out = adamwUpdate(opt, decay, state.params, grads, state.m, state.v, lr, stepSize, sqrtBc2);
    const stats = np.stack([loss, out.gradNorm]);
    return [{ params: out.params, m: out.m, v: out.v }, stats];
  });
}

/** Jitted mean loss (no gradient), for evaluation. Consumes its arguments. */
export type LossEvalFn = OwnedFunction<(params: Arr[], x: Arr, y: Arr) => Arr>;

export function makeLossEval(config: ModelConfig): LossEvalFn {
  return jit((params: Arr[], x: Arr, y: Arr): Arr => lossFn(config, params, x, y));
}
