import type { ModelConfig } from "../types.ts";
import { rngFor } from "../rng.ts";
import { buildLayout } from "./layout.ts";

/** Standard deviation of the initial weights (GPT-2). */
export const INIT_STD = 0.02;

/**
 * Deterministic GPT-2-style initialisation, computed in plain JavaScript (no ML library), so the
 * initial model of a job depends only on (config, seed):
 * - matrices and embeddings ~ N(0, 0.02²); residual output projections (attn.proj.w, mlp.proj.w)
 *   ~ N(0, (0.02 / √(2·nLayers))²);
 * - layer-norm gains 1, every bias and layer-norm shift 0.
 * Llama family: the same rule (residual outputs are attn.o.w and mlp.down.w; RMSNorm gains 1).
 * Each tensor draws from its own stream keyed by (seed, tensor name).
 */
export function initParams(config: ModelConfig, seed: number | bigint): Float32Array {
  const layout = buildLayout(config);
  const out = new Float32Array(layout.size);
  const residualStd = INIT_STD / Math.sqrt(2 * config.nLayers);
  for (const t of layout.tensors) {
    const view = out.subarray(t.offset, t.offset + t.size);
    if (t.kind === "vector") {
      if (t.name.endsWith(".g")) view.fill(1);
      continue;
    }
    const residual = t.name.endsWith("attn.proj.w") || t.name.endsWith("mlp.proj.w") || t.name.endsWith("attn.o.w") || t.name.endsWith("mlp.down.w");
    const std = residual ? residualStd : INIT_STD;
    const rng = rngFor("init", seed, t.name);
    for (let i = 0; i < view.length; i++) view[i] = rng.normal() * std;
  }
  return out;
}
