/**
 * The Llama-style decoder-only family in jax-js: pre-norm RMSNorm blocks, rotary positions
 * (rotate-half convention, θ = 10000, as Hugging Face's LlamaForCausalLM), SwiGLU MLP, no biases,
 * optional tied embeddings. Same conventions as transformer.ts: weights stored [in, out], one-hot
 * matmul embedding, every function consumes its array arguments.
 *
 *   h = E[x];  per layer: h += Wo·Attn(rope(Wq·n), rope(Wk·n), Wv·n), n = RMSNorm(h);
 *              h += Wdown·(silu(Wgate·n) ⊙ Wup·n), n = RMSNorm(h);
 *   logits = RMSNorm_f(h)·W_head   (W_head = Eᵀ when tied)
 */
import { numpy as np, nn } from "@jax-js/jax";
import type { ModelConfig } from "../types.ts";
import { LLAMA_NORM_EPS, ROPE_THETA } from "./config.ts";
import { oneHotRows } from "./transformer.ts";

type Arr = np.Array;

interface Layer {
  attnNorm: Arr; q: Arr; k: Arr; v: Arr; o: Arr; mlpNorm: Arr; gate: Arr; up: Arr; down: Arr;
}

export function llamaTensorCount(config: ModelConfig): number {
  return 1 + 9 * config.nLayers + 1 + (config.tieEmbeddings ? 0 : 1);
}

/**
 * cos and sin tables [T, dh] of the rotary embedding (Hugging Face layout: the dh/2 frequencies
 * repeated twice). Computed in float64 with Math.pow/cos/sin and rounded to float32; every backend
 * receives these exact tables (the PyTorch worker gets them over its pipe), so the engines' last-ulp
 * differences in Math.cos could change a float32 value only on an exact rounding tie.
 */
export function ropeTables(T: number, dh: number): { cos: Float32Array<ArrayBuffer>; sin: Float32Array<ArrayBuffer> } {
  const half = dh / 2;
  const cos = new Float32Array(T * dh);
  const sin = new Float32Array(T * dh);
  for (let j = 0; j < half; j++) {
    const invFreq = 1 / Math.pow(ROPE_THETA, (2 * j) / dh);
    for (let t = 0; t < T; t++) {
      const a = t * invFreq;
      cos[t * dh + j] = cos[t * dh + j + half] = Math.cos(a);
      sin[t * dh + j] = sin[t * dh + j + half] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** rotate_half as a [dh, dh] signed permutation: (x1, x2) ↦ (−x2, x1). */
export function rotateHalfMatrix(dh: number): Float32Array<ArrayBuffer> {
  const h = dh / 2;
  const r = new Float32Array(dh * dh);
  for (let j = 0; j < h; j++) {
    r[(j + h) * dh + j] = -1; // out[j] = −x[j + h]
    r[j * dh + (j + h)] = 1; // out[j + h] = x[j]
  }
  return r;
}

/** x · rsqrt(mean(x²) + ε) · g over the last axis of x [N, d]. */
export function rmsNorm(x: Arr, g: Arr): Arr {
  const ms = np.square(x.ref).mean(-1, { keepdims: true });
  return x.mul(np.reciprocal(np.sqrt(ms.add(LLAMA_NORM_EPS)))).mul(g);
}

const SILU_EXP_CLAMP = 80;
/** silu(x) = x / (1 + exp(−x)), the exponent clamped so exp stays finite (silu → 0 there anyway). */
export function silu(x: Arr): Arr {
  return x.ref.div(np.exp(np.minimum(x.mul(-1), SILU_EXP_CLAMP)).add(1));
}

/** Applies the rotary embedding to [B·H, T, dh]. */
function rope(x: Arr, cos: Arr, sin: Arr, rot: Arr): Arr {
  const [BH, T, dh] = x.shape;
  const rotated = np.matmul(x.ref.reshape([BH * T, dh]), rot).reshape([BH, T, dh]);
  return x.mul(cos).add(rotated.mul(sin));
}

function attention(config: ModelConfig, n: Arr, p: Layer, B: number, T: number, cos: Arr, sin: Arr, rot: Arr): Arr {
  const { dModel: d, nHeads: H } = config;
  const dh = d / H;
  const heads = (w: Arr, last: boolean): Arr =>
    np.matmul(last ? n : n.ref, w).reshape([B, T, H, dh]).transpose([0, 2, 1, 3]).reshape([B * H, T, dh]);
  const q = rope(heads(p.q, false), cos.ref, sin.ref, rot.ref);
  const k = rope(heads(p.k, false), cos, sin, rot);
  const v = heads(p.v, true);
  const mask = np.tri(T, T, 0).sub(1).mul(1e30);
  const scores = np.matmul(q.mul(1 / Math.sqrt(dh)), k.transpose([0, 2, 1])).add(mask);
  const weights = nn.softmax(scores, -1);
  const out = np.matmul(weights, v).reshape([B, H, T, dh]).transpose([0, 2, 1, 3]).reshape([B * T, d]);
  return np.matmul(out, p.o);
}

/** Logits [B·T, V] for int32 token ids x [B, T]. Consumes `params` and `x`. */
export function llamaForwardLogits(config: ModelConfig, params: Arr[], x: Arr): Arr {
  const [B, T] = x.shape;
  if (T > config.contextLength) throw new Error(`sequence length ${T} exceeds contextLength ${config.contextLength}`);
  if (params.length !== llamaTensorCount(config)) throw new Error(`expected ${llamaTensorCount(config)} parameter tensors, got ${params.length}`);
  const { dModel: d, vocabSize: V, nHeads: H } = config;
  const dh = d / H;
  let i = 0;
  const tokEmb = params[i++];
  const layers: Layer[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    layers.push({ attnNorm: params[i++], q: params[i++], k: params[i++], v: params[i++], o: params[i++], mlpNorm: params[i++], gate: params[i++], up: params[i++], down: params[i++] });
  }
  const normF = params[i++];
  const head = config.tieEmbeddings ? null : params[i++];
  const tables = ropeTables(T, dh);
  const cos = np.array(tables.cos).reshape([T, dh]);
  const sin = np.array(tables.sin).reshape([T, dh]);
  const rot = np.array(rotateHalfMatrix(dh)).reshape([dh, dh]);
  const embW = head === null ? tokEmb.ref : tokEmb;
  let h = np.matmul(oneHotRows(x.reshape([B * T]), V, tokEmb.dtype), embW);
  for (const p of layers) {
    const a = rmsNorm(h.ref, p.attnNorm);
    h = h.add(attention(config, a, p, B, T, cos.ref, sin.ref, rot.ref));
    const m = rmsNorm(h.ref, p.mlpNorm);
    const gated = silu(np.matmul(m.ref, p.gate)).mul(np.matmul(m, p.up));
    h = h.add(np.matmul(gated, p.down));
  }
  cos.dispose();
  sin.dispose();
  rot.dispose();
  const out = rmsNorm(h, normF);
  return np.matmul(out, head === null ? tokEmb.transpose() : head);
}
