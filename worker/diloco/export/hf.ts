/**
 * The trained model in the Hugging Face layout of its family, and back:
 *   llama → LlamaForCausalLM names (model.embed_tokens, model.layers.N.self_attn.{q,k,v,o}_proj,
 *           mlp.{gate,up,down}_proj, input_layernorm, post_attention_layernorm, model.norm, lm_head);
 *           nn.Linear weights are [out, in], so ours ([in, out]) are transposed; rotate-half rotary,
 *           θ = 10000, rms_norm_eps 1e-5, no biases: the file loads in transformers as is.
 *   gpt2  → GPT2LMHeadModel names (transformer.wte/wpe, h.N.ln_1, attn.c_attn, attn.c_proj, ln_2,
 *           mlp.c_fc, mlp.c_proj, ln_f; Conv1D weights are [in, out] like ours). Our GPT-2 family has an
 *           untied head with a bias: lm_head.weight is written with tie_word_embeddings = false, and the
 *           head bias as "lm_head.bias", which GPT2LMHeadModel does not have (transformers would drop it
 *           with a warning; our loader and `market generate` use it).
 */
import type { ModelConfig } from "../types.ts";
import { buildLayout } from "../model/layout.ts";
import { LLAMA_NORM_EPS, ROPE_THETA, modelFamily } from "../model/config.ts";
import type { NamedTensor } from "./safetensors.ts";

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** (our name, HF name, transpose?) for every tensor of the layout. */
function nameMap(config: ModelConfig): [string, string, boolean][] {
  const out: [string, string, boolean][] = [];
  if (modelFamily(config) === "llama") {
    out.push(["tok_emb", "model.embed_tokens.weight", false]);
    for (let l = 0; l < config.nLayers; l++) {
      const o = `layers.${l}.`;
      const h = `model.layers.${l}.`;
      out.push([o + "attn_norm.g", h + "input_layernorm.weight", false]);
      for (const x of ["q", "k", "v", "o"]) out.push([`${o}attn.${x}.w`, `${h}self_attn.${x}_proj.weight`, true]);
      out.push([o + "mlp_norm.g", h + "post_attention_layernorm.weight", false]);
      for (const x of ["gate", "up", "down"]) out.push([`${o}mlp.${x}.w`, `${h}mlp.${x}_proj.weight`, true]);
    }
    out.push(["norm_f.g", "model.norm.weight", false]);
    if (!config.tieEmbeddings) out.push(["head.w", "lm_head.weight", true]);
    return out;
  }
  out.push(["tok_emb", "transformer.wte.weight", false], ["pos_emb", "transformer.wpe.weight", false]);
  for (let l = 0; l < config.nLayers; l++) {
    const o = `layers.${l}.`;
    const h = `transformer.h.${l}.`;
    out.push(
      [o + "ln1.g", h + "ln_1.weight", false], [o + "ln1.b", h + "ln_1.bias", false],
      [o + "attn.qkv.w", h + "attn.c_attn.weight", false], [o + "attn.qkv.b", h + "attn.c_attn.bias", false],
      [o + "attn.proj.w", h + "attn.c_proj.weight", false], [o + "attn.proj.b", h + "attn.c_proj.bias", false],
      [o + "ln2.g", h + "ln_2.weight", false], [o + "ln2.b", h + "ln_2.bias", false],
      [o + "mlp.fc.w", h + "mlp.c_fc.weight", false], [o + "mlp.fc.b", h + "mlp.c_fc.bias", false],
      [o + "mlp.proj.w", h + "mlp.c_proj.weight", false], [o + "mlp.proj.b", h + "mlp.c_proj.bias", false],
    );
  }
  out.push(["ln_f.g", "transformer.ln_f.weight", false], ["ln_f.b", "transformer.ln_f.bias", false], ["head.w", "lm_head.weight", true], ["head.b", "lm_head.bias", false]);
  return out;
}

export function toHfTensors(config: ModelConfig, params: Float32Array): NamedTensor[] {
  const layout = buildLayout(config);
  const byName = new Map(layout.tensors.map((t) => [t.name, t]));
  return nameMap(config).map(([ours, hf, tr]) => {
    const t = byName.get(ours)!;
    const data = params.slice(t.offset, t.offset + t.size);
    if (!tr) return { name: hf, shape: t.shape, data };
    const [rows, cols] = t.shape;
    return { name: hf, shape: [cols, rows], data: transpose(data, rows, cols) };
  });
}

export function fromHfTensors(config: ModelConfig, tensors: Map<string, NamedTensor>): Float32Array {
  const layout = buildLayout(config);
  const byName = new Map(layout.tensors.map((t) => [t.name, t]));
  const out = new Float32Array(layout.size);
  for (const [ours, hf, tr] of nameMap(config)) {
    const t = byName.get(ours)!;
    const src = tensors.get(hf);
    if (!src) throw new Error(`model.safetensors lacks ${hf}`);
    const want = tr ? [t.shape[1], t.shape[0]] : t.shape;
    if (src.shape.join(",") !== want.join(",")) throw new Error(`model.safetensors: ${hf} has shape [${src.shape}], expected [${want}]`);
    out.set(tr ? transpose(src.data, want[0], want[1]) : src.data, t.offset);
  }
  return out;
}

/** config.json of the family (what transformers reads), plus our own fields under "diloco". */
export function hfConfig(config: ModelConfig): Record<string, unknown> {
  const diloco = { ...config };
  if (modelFamily(config) === "llama") {
    return {
      architectures: ["LlamaForCausalLM"], model_type: "llama", vocab_size: config.vocabSize, hidden_size: config.dModel,
      intermediate_size: config.dMlp, num_hidden_layers: config.nLayers, num_attention_heads: config.nHeads,
      num_key_value_heads: config.nHeads, max_position_embeddings: config.contextLength, rms_norm_eps: LLAMA_NORM_EPS,
      rope_theta: ROPE_THETA, hidden_act: "silu", tie_word_embeddings: !!config.tieEmbeddings, attention_bias: false,
      mlp_bias: false, torch_dtype: "float32", diloco,
    };
  }
  return {
    architectures: ["GPT2LMHeadModel"], model_type: "gpt2", vocab_size: config.vocabSize, n_embd: config.dModel,
    n_inner: config.dMlp, n_layer: config.nLayers, n_head: config.nHeads, n_positions: config.contextLength,
    n_ctx: config.contextLength, activation_function: "gelu_new", layer_norm_epsilon: 1e-5, tie_word_embeddings: false,
    torch_dtype: "float32", diloco,
  };
}

/** The ModelConfig of an exported config.json. */
export function modelConfigFromHf(json: Record<string, unknown>): ModelConfig {
  const d = json.diloco as ModelConfig | undefined;
  if (d) return d;
  if (json.model_type === "llama") {
    if (json.num_key_value_heads !== undefined && json.num_key_value_heads !== json.num_attention_heads) throw new Error("config.json: grouped-query attention is not supported by this loader");
    return { family: "llama", vocabSize: Number(json.vocab_size), contextLength: Number(json.max_position_embeddings), dModel: Number(json.hidden_size), nHeads: Number(json.num_attention_heads), nLayers: Number(json.num_hidden_layers), dMlp: Number(json.intermediate_size), tieEmbeddings: !!json.tie_word_embeddings };
  }
  throw new Error(`config.json: model_type ${String(json.model_type)} is not one this software exported`);
}
