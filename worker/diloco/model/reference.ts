/**
 * Plain-JavaScript float64 reference of the same transformer (no ML library, exact Math.exp/log/tanh).
 * Slow (naive loops); meant for gradient checks on tiny configs and for auditing the jax-js model.
 * Reads the flat parameter vector through the same `ParamLayout`.
 */
import type { ModelConfig } from "../types.ts";
import { buildLayout } from "./layout.ts";
import { LN_EPS } from "./transformer.ts";

type Vec = Float64Array;

function tensorReader(config: ModelConfig, flat: ArrayLike<number>): (name: string) => Vec {
  const layout = buildLayout(config);
  if (flat.length !== layout.size) throw new Error(`reference: params have ${flat.length} elements, layout needs ${layout.size}`);
  const byName = new Map(layout.tensors.map((t) => [t.name, t]));
  return (name) => {
    const t = byName.get(name);
    if (!t) throw new Error(`reference: no tensor ${name}`);
    return Float64Array.from({ length: t.size }, (_, i) => flat[t.offset + i]);
  };
}

/** y[n, out] = x[n, in] · W[in, out] + b[out] */
function linear(x: Vec, n: number, inDim: number, w: Vec, b: Vec, outDim: number): Vec {
  const y = new Float64Array(n * outDim);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let k = 0; k < inDim; k++) s += x[r * inDim + k] * w[k * outDim + o];
      y[r * outDim + o] = s;
    }
  }
  return y;
}

function layerNorm(x: Vec, n: number, d: number, g: Vec, b: Vec): Vec {
  const y = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    let mu = 0;
    for (let k = 0; k < d; k++) mu += x[r * d + k];
    mu /= d;
    let v = 0;
    for (let k = 0; k < d; k++) v += (x[r * d + k] - mu) ** 2;
    v /= d;
    const inv = 1 / Math.sqrt(v + LN_EPS);
    for (let k = 0; k < d; k++) y[r * d + k] = (x[r * d + k] - mu) * inv * g[k] + b[k];
  }
  return y;
}

function gelu(v: number): number {
  return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
}

/**
 * Mean next-token cross-entropy (nats) of inputs x / targets y, both row-major [B, T] token ids.
 */
export function referenceLoss(config: ModelConfig, flat: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number>, B: number, T: number): number {
  const P = tensorReader(config, flat);
  const { dModel: d, nHeads: H, vocabSize: V, dMlp: M } = config;
  const dh = d / H;
  const N = B * T;
  const tok = P("tok_emb");
  const pos = P("pos_emb");
  let h = new Float64Array(N * d);
  for (let r = 0; r < N; r++) {
    const t = r % T;
    for (let k = 0; k < d; k++) h[r * d + k] = tok[x[r] * d + k] + pos[t * d + k];
  }
  for (let l = 0; l < config.nLayers; l++) {
    const p = (s: string): Vec => P(`layers.${l}.${s}`);
    const a = layerNorm(h, N, d, p("ln1.g"), p("ln1.b"));
    const qkv = linear(a, N, d, p("attn.qkv.w"), p("attn.qkv.b"), 3 * d);
    const att = new Float64Array(N * d);
    for (let b = 0; b < B; b++) {
      for (let hd = 0; hd < H; hd++) {
        for (let t = 0; t < T; t++) {
          const q = (b * T + t) * 3 * d + hd * dh;
          const scores = new Float64Array(t + 1);
          let mx = -Infinity;
          for (let s = 0; s <= t; s++) {
            const k = (b * T + s) * 3 * d + d + hd * dh;
            let dot = 0;
            for (let i = 0; i < dh; i++) dot += qkv[q + i] * qkv[k + i];
            scores[s] = dot / Math.sqrt(dh);
            mx = Math.max(mx, scores[s]);
          }
          let z = 0;
          for (let s = 0; s <= t; s++) z += (scores[s] = Math.exp(scores[s] - mx));
          for (let s = 0; s <= t; s++) {
            const v = (b * T + s) * 3 * d + 2 * d + hd * dh;
            for (let i = 0; i < dh; i++) att[(b * T + t) * d + hd * dh + i] += (scores[s] / z) * qkv[v + i];
          }
        }
      }
    }
    const proj = linear(att, N, d, p("attn.proj.w"), p("attn.proj.b"), d);
    h = h.map((v, i) => v + proj[i]);
    const m = layerNorm(h, N, d, p("ln2.g"), p("ln2.b"));
    const hidden = linear(m, N, d, p("mlp.fc.w"), p("mlp.fc.b"), M).map(gelu);
    const out = linear(hidden, N, M, p("mlp.proj.w"), p("mlp.proj.b"), d);
    h = h.map((v, i) => v + out[i]);
  }
  const logits = linear(layerNorm(h, N, d, P("ln_f.g"), P("ln_f.b")), N, d, P("head.w"), P("head.b"), V);
  let total = 0;
  for (let r = 0; r < N; r++) {
    let mx = -Infinity;
    for (let c = 0; c < V; c++) mx = Math.max(mx, logits[r * V + c]);
    let z = 0;
    for (let c = 0; c < V; c++) z += Math.exp(logits[r * V + c] - mx);
    total += mx + Math.log(z) - logits[r * V + y[r]];
  }
  return total / N;
}

/** Central-difference derivative of the reference loss along coordinate i (float64). */
export function referenceGradAt(config: ModelConfig, flat: Float64Array, i: number, x: ArrayLike<number>, y: ArrayLike<number>, B: number, T: number, h = 1e-6): number {
  const p = flat.slice();
  p[i] = flat[i] + h;
  const up = referenceLoss(config, p, x, y, B, T);
  p[i] = flat[i] - h;
  const down = referenceLoss(config, p, x, y, B, T);
  return (up - down) / (2 * h);
}
