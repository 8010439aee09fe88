/**
 * Sampling text from a model with the jax-js forward pass: the last `contextLength` tokens are fed,
 * the next token is drawn from softmax(logits / temperature) with a seeded generator (temperature 0 =
 * greedy), repeated `tokens` times.
 */
import { numpy as np } from "@jax-js/jax";
import type { ModelConfig } from "../types.ts";
import { forwardLogits } from "./transformer.ts";
import { toDevice } from "../trainer/jax-trainer.ts";
import { buildLayout } from "./layout.ts";
import { initBackend } from "../trainer/backend.ts";
import { rngFor } from "../rng.ts";

/** Logits [T, V] of one sequence (T ≤ contextLength). */
export async function sequenceLogits(config: ModelConfig, params: Float32Array, ids: number[]): Promise<Float32Array> {
  await initBackend("strict");
  const x = np.array(Int32Array.from(ids), { dtype: np.int32 }).reshape([1, ids.length]);
  const out = forwardLogits(config, toDevice(buildLayout(config), params), x);
  return (await out.data()) as Float32Array;
}

export async function generateTokens(config: ModelConfig, params: Float32Array, prompt: number[], opts: { tokens: number; temperature: number; seed?: number }): Promise<number[]> {
  if (prompt.length === 0) throw new Error("the prompt encodes to no tokens");
  if (!(opts.temperature >= 0)) throw new Error(`temperature must be ≥ 0, got ${opts.temperature}`);
  const rng = rngFor("generate", opts.seed ?? 0);
  const seq = [...prompt];
  const V = config.vocabSize;
  for (let n = 0; n < opts.tokens; n++) {
    const window = seq.slice(-config.contextLength);
    const logits = await sequenceLogits(config, params, window);
    const row = logits.subarray((window.length - 1) * V, window.length * V);
    let next = 0;
    if (opts.temperature === 0) {
      for (let i = 1; i < V; i++) if (row[i] > row[next]) next = i;
    } else {
      let max = -Infinity;
      for (let i = 0; i < V; i++) max = Math.max(max, row[i]);
      const p = new Float64Array(V);
      let sum = 0;
      for (let i = 0; i < V; i++) sum += p[i] = Math.exp((row[i] - max) / opts.temperature);
      let u = rng.nextFloat() * sum;
      next = V - 1;
      for (let i = 0; i < V; i++) {
        u -= p[i];
        if (u <= 0) {
          next = i;
          break;
        }
      }
    }
    seq.push(next);
  }
  return seq.slice(prompt.length);
}
