import type { ModelConfig, ParamLayout, TensorSpec } from "../types.ts";
import { modelFamily, validateModelConfig } from "./config.ts";

/**
 * Order and shapes of the transformer's tensors inside the flat parameter vector.
 * Weight matrices are stored [in, out] (y = x W + b); embeddings are [rows, dModel].
 *
 *   tok_emb [V, d]   pos_emb [T, d]
 *   per layer l: ln1.g [d] ln1.b [d]  attn.qkv.w [d, 3d] attn.qkv.b [3d]  attn.proj.w [d, d] attn.proj.b [d]
 *                ln2.g [d] ln2.b [d]  mlp.fc.w [d, m] mlp.fc.b [m]  mlp.proj.w [m, d] mlp.proj.b [d]
 *   ln_f.g [d] ln_f.b [d]   head.w [d, V] head.b [V]
 *
 * Llama family (no biases, no position table):
 *   tok_emb [V, d]
 *   per layer l: attn_norm.g [d]  attn.q.w [d, d] attn.k.w [d, d] attn.v.w [d, d] attn.o.w [d, d]
 *                mlp_norm.g [d]  mlp.gate.w [d, m] mlp.up.w [d, m] mlp.down.w [m, d]
 *   norm_f.g [d]   head.w [d, V] (absent when tieEmbeddings)
 */
export function buildLayout(config: ModelConfig): ParamLayout {
  validateModelConfig(config);
  const { vocabSize: V, contextLength: T, dModel: d, nLayers: L, dMlp: m } = config;
  const tensors: TensorSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, kind: shape.length === 2 ? "matrix" : "vector", offset, size });
    offset += size;
  };
  if (modelFamily(config) === "llama") {
    add("tok_emb", [V, d]);
    for (let l = 0; l < L; l++) {
      const p = `layers.${l}.`;
      add(p + "attn_norm.g", [d]);
      add(p + "attn.q.w", [d, d]);
      add(p + "attn.k.w", [d, d]);
      add(p + "attn.v.w", [d, d]);
      add(p + "attn.o.w", [d, d]);
      add(p + "mlp_norm.g", [d]);
      add(p + "mlp.gate.w", [d, m]);
      add(p + "mlp.up.w", [d, m]);
      add(p + "mlp.down.w", [m, d]);
    }
    add("norm_f.g", [d]);
    if (!config.tieEmbeddings) add("head.w", [d, V]);
    return { tensors, size: offset };
  }
  add("tok_emb", [V, d]);
  add("pos_emb", [T, d]);
  for (let l = 0; l < L; l++) {
    const p = `layers.${l}.`;
    add(p + "ln1.g", [d]);
    add(p + "ln1.b", [d]);
    add(p + "attn.qkv.w", [d, 3 * d]);
    add(p + "attn.qkv.b", [3 * d]);
    add(p + "attn.proj.w", [d, d]);
    add(p + "attn.proj.b", [d]);
    add(p + "ln2.g", [d]);
    add(p + "ln2.b", [d]);
    add(p + "mlp.fc.w", [d, m]);
    add(p + "mlp.fc.b", [m]);
    add(p + "mlp.proj.w", [m, d]);
    add(p + "mlp.proj.b", [d]);
  }
  add("ln_f.g", [d]);
  add("ln_f.b", [d]);
  add("head.w", [d, V]);
  add("head.b", [V]);
  return { tensors, size: offset };
}

/** Looks a tensor up by name; throws if absent. */
export function tensorByName(layout: ParamLayout, name: string): TensorSpec {
  const t = layout.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor named ${name} in layout`);
  return t;
}

/** Number of parameters of a config (same as buildLayout(config).size, computed without building it). */
export function paramCount(config: ModelConfig): number {
  const { vocabSize: V, contextLength: T, dModel: d, nLayers: L, dMlp: m } = config;
  if (modelFamily(config) === "llama") return V * d + L * (2 * d + 4 * d * d + 3 * d * m) + d + (config.tieEmbeddings ? 0 : d * V);
  return V * d + T * d + L * (5 * d + 3 * d + 3 * d * d + d * d + d * m + m + m * d + d) + 2 * d + d * V + V;
}

/** Throws if `params` does not match the layout's size. */
export function checkParams(layout: ParamLayout, params: Float32Array, what = "params"): void {
  if (!(params instanceof Float32Array)) throw new Error(`${what} must be a Float32Array`);
  if (params.length !== layout.size) throw new Error(`${what} has ${params.length} elements, the layout needs ${layout.size}`);
}
