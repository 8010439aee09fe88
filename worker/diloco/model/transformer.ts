/**
 * The decoder-only transformer language model, written with jax-js array operations.
 *
 * Pre-LN blocks: h += Attn(LN1(h)); h += MLP(LN2(h)); logits = LN_f(h) W_head + b_head.
 * Causal multi-head self-attention, GELU (tanh approximation) MLP, learned absolute positions,
 * untied output head. Loss: mean next-token cross-entropy in nats.
 *
 * Parameters come in as a list of arrays in `ParamLayout` order (see layout.ts). The token
 * embedding is a one-hot matmul rather than a gather: inside `jit`, jax-js 0.1.25 cannot
 * differentiate `take` ("scatter input is not imm"), and for a 96-symbol vocabulary the matmul is cheap.
 *
 * jax-js uses reference-counted ownership: every function here consumes its array arguments;
 * `.ref` is taken for every use but the last.
 */
import { numpy as np, nn } from "@jax-js/jax";
import type { ModelConfig } from "../types.ts";
import { llamaForwardLogits } from "./llama.ts";

type Arr = np.Array;

export const LN_EPS = 1e-5;

/** The model's tensors by role, in layout order. */
interface LayerParams {
  ln1g: Arr; ln1b: Arr; qkvW: Arr; qkvB: Arr; projW: Arr; projB: Arr;
  ln2g: Arr; ln2b: Arr; fcW: Arr; fcB: Arr; mlpW: Arr; mlpB: Arr;
}
interface Params {
  tokEmb: Arr; posEmb: Arr; layers: LayerParams[]; lnfG: Arr; lnfB: Arr; headW: Arr; headB: Arr;
}

/** Number of tensors in the layout of a config. */
export function tensorCount(config: ModelConfig): number {
  return 2 + 12 * config.nLayers + 4;
}

function unpack(config: ModelConfig, list: Arr[]): Params {
  if (list.length !== tensorCount(config)) throw new Error(`expected ${tensorCount(config)} parameter tensors, got ${list.length}`);
  let i = 0;
  const next = (): Arr => list[i++];
  const tokEmb = next();
  const posEmb = next();
  const layers: LayerParams[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    layers.push({
      ln1g: next(), ln1b: next(), qkvW: next(), qkvB: next(), projW: next(), projB: next(),
      ln2g: next(), ln2b: next(), fcW: next(), fcB: next(), mlpW: next(), mlpB: next(),
    });
  }
  return { tokEmb, posEmb, layers, lnfG: next(), lnfB: next(), headW: next(), headB: next() };
}

/** Layer norm over the last axis of x [N, d]. */
function layerNorm(x: Arr, g: Arr, b: Arr): Arr {
  const mu = x.ref.mean(-1, { keepdims: true });
  const xc = x.sub(mu);
  const variance = np.square(xc.ref).mean(-1, { keepdims: true });
  return xc.mul(np.reciprocal(np.sqrt(variance.add(LN_EPS)))).mul(g).add(b);
}

/** x [N, in] W [in, out] + b [out]. */
function linear(x: Arr, w: Arr, b: Arr): Arr {
  return np.matmul(x, w).add(b);
}

/** One-hot rows of `ids` (int32, any shape) as `dtype`, shape [...ids.shape, n]. */
export function oneHotRows(ids: Arr, n: number, dtype: np.DType): Arr {
  const classes = np.arange(0, n, 1, { dtype: np.int32 });
  return np.equal(np.expandDims(ids, -1), classes).astype(dtype);
}

/**
 * Causal multi-head self-attention on a [B·T, d]. The fused qkv weight is sliced (cheap: [d, 3d])
 * rather than its output (the backward pass of an activation slice costs a padded [B·T, 3d] sum);
 * heads are moved next to the batch axis so both products are plain batched matmuls. Both choices
 * were measured faster in jax-js 0.1.25 than the straightforward einsum form.
 */
function attention(config: ModelConfig, a: Arr, p: LayerParams, B: number, T: number): Arr {
  const { dModel: d, nHeads: H } = config;
  const dh = d / H;
  const heads = (i: number, last: boolean): Arr => {
    const w = (last ? p.qkvW : p.qkvW.ref).slice([], [i * d, (i + 1) * d]);
    const b = (last ? p.qkvB : p.qkvB.ref).slice([i * d, (i + 1) * d]);
    return linear(last ? a : a.ref, w, b).reshape([B, T, H, dh]).transpose([0, 2, 1, 3]).reshape([B * H, T, dh]);
  };
  const q = heads(0, false);
  const k = heads(1, false);
  const v = heads(2, true);
  // Additive causal mask (0 on and below the diagonal, −1e30 above): unlike a `where` on a boolean
  // mask it keeps the fused score kernel on jax-js's SIMD path (10× faster in a forward-only jit).
  const mask = np.tri(T, T, 0).sub(1).mul(1e30);
  const scores = np.matmul(q.mul(1 / Math.sqrt(dh)), k.transpose([0, 2, 1])).add(mask);
  const weights = nn.softmax(scores, -1);
  const out = np.matmul(weights, v).reshape([B, H, T, dh]).transpose([0, 2, 1, 3]).reshape([B * T, d]);
  return linear(out, p.projW, p.projB);
}

const GELU_C = Math.sqrt(2 / Math.PI);
/** Beyond this, exp(u) is ~1e35 and gelu(x) is 0 to float32 precision; clamping keeps exp finite. */
const GELU_EXP_CLAMP = 80;

/**
 * GELU, tanh approximation: 0.5·x·(1 + tanh(z)), z = √(2/π)(x + 0.044715x³), computed in the
 * identical form x / (1 + exp(−2z)) — one exp instead of a tanh, ~30 % faster forward + backward in jax-js.
 */
export function geluTanh(x: Arr): Arr {
  const u = x.ref.mul(x.ref).mul(0.044715).add(1).mul(x.ref).mul(-2 * GELU_C);
  return x.div(np.exp(np.minimum(u, GELU_EXP_CLAMP)).add(1));
}

function mlp(m: Arr, p: LayerParams): Arr {
  const hidden = geluTanh(linear(m, p.fcW, p.fcB));
  return linear(hidden, p.mlpW, p.mlpB);
}

/**
 * Logits [B·T, V] for token ids `x` (int32 [B, T], T ≤ contextLength); the llama family is in llama.ts.
 * Consumes `params` and `x`.
 */
export function forwardLogits(config: ModelConfig, params: Arr[], x: Arr): Arr {
  if (config.family === "llama") return llamaForwardLogits(config, params, x);
  const [B, T] = x.shape;
  if (T > config.contextLength) throw new Error(`sequence length ${T} exceeds contextLength ${config.contextLength}`);
  const p = unpack(config, params);
  const dtype = p.tokEmb.dtype;
  const { dModel: d, vocabSize: V } = config;
  const emb = np.matmul(oneHotRows(x.reshape([B * T]), V, dtype), p.tokEmb).reshape([B, T, d]);
  const pos = T === config.contextLength ? p.posEmb : p.posEmb.slice([0, T]);
  let h = emb.add(pos).reshape([B * T, d]);
  for (const layer of p.layers) {
    const a = layerNorm(h.ref, layer.ln1g, layer.ln1b);
    h = h.add(attention(config, a, layer, B, T));
    const m = layerNorm(h.ref, layer.ln2g, layer.ln2b);
    h = h.add(mlp(m, layer));
  }
  return linear(layerNorm(h, p.lnfG, p.lnfB), p.headW, p.headB);
}

/** Mean cross-entropy (nats) of logits [N, V] against int32 targets [N]. Consumes both. */
export function crossEntropy(logits: Arr, targets: Arr): Arr {
  const V = logits.shape[logits.ndim - 1];
  const lse = nn.logsumexp(logits.ref, -1);
  const picked = logits.mul(oneHotRows(targets, V, logits.dtype)).sum(-1);
  return lse.sub(picked).mean();
}

/** Mean next-token loss of the model on inputs x and targets y (both int32 [B, T]). Consumes all arguments. */
export function lossFn(config: ModelConfig, params: Arr[], x: Arr, y: Arr): Arr {
  const [B, T] = y.shape;
  return crossEntropy(forwardLogits(config, params, x), y.reshape([B * T]));
}
