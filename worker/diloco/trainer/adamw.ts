/**
 * AdamW with global gradient-norm clipping, as jax-js array code (traced into the jitted train step).
 *
 * Same arithmetic as PyTorch's `clip_grad_norm_` followed by `torch.optim.AdamW` (non-fused):
 *   n     = ‖g‖₂ over all tensors;   g ← g · min(1, clip / (n + 1e-6))          (if clip > 0)
 *   p     ← p · (1 − lr·wd)                                                     (decayed tensors only)
 *   m     ← β1·m + (1 − β1)·g;       v ← β2·v + (1 − β2)·g²
 *   p     ← p − (lr / bc1) · m / (√v / √bc2 + ε),   bc_i = 1 − β_i^t, t = 1, 2, … within one train call
 * The step-dependent scalars (lr, lr/bc1, √bc2) come in as float32 arrays so one compiled step serves every step;
 * they are computed with + − × ÷ √ only, so every JavaScript engine gets the same bits.
 */
import { numpy as np } from "@jax-js/jax";
import type { InnerOptimizerConfig } from "../types.ts";

type Arr = np.Array;

/** Scalars that change every step, computed in float64 in JavaScript. */
export interface StepScalars {
  lr: number;
  /** lr / (1 − β1^t) */
  stepSize: number;
  /** √(1 − β2^t) */
  sqrtBc2: number;
}

/** The scalars of local step t (1-based) at learning rate lr. */
export function stepScalars(opt: InnerOptimizerConfig, lr: number, t: number): StepScalars {
  if (!Number.isInteger(t) || t < 1) throw new Error(`Adam step t must be an integer ≥ 1, got ${t}`);
  // β^t by repeated multiplication (correctly rounded steps: the same bits in every engine, unlike Math.pow).
  let p1 = 1;
  let p2 = 1;
  for (let i = 0; i < t; i++) {
    p1 *= opt.beta1;
    p2 *= opt.beta2;
  }
  const bc1 = 1 - p1;
  const bc2 = 1 - p2;
  return { lr, stepSize: lr / bc1, sqrtBc2: Math.sqrt(bc2) };
}

export const CLIP_EPS = 1e-6;

export interface AdamwOut {
  params: Arr[];
  m: Arr[];
  v: Arr[];
  /** Global gradient norm before clipping (scalar). */
  gradNorm: Arr;
}

/**
 * One AdamW update over lists of tensors. `decay[i]` says whether tensor i gets weight decay.
 * Consumes every array argument.
 */
export function adamwUpdate(
  opt: InnerOptimizerConfig,
  decay: readonly boolean[],
  params: Arr[],
  grads: Arr[],
  m: Arr[],
  v: Arr[],
  lr: Arr,
  stepSize: Arr,
  sqrtBc2: Arr,
): AdamwOut {
  const n = params.length;
  if (grads.length !== n || m.length !== n || v.length !== n || decay.length !== n) {
    throw new Error(`adamwUpdate: list lengths differ (params ${n}, grads ${grads.length}, m ${m.length}, v ${v.length}, decay ${decay.length})`);
  }
  let sq: Arr | null = null;
  for (const g of grads) {
    const s = np.square(g.ref).sum();
    sq = sq === null ? s : sq.add(s);
  }
  const gradNorm = np.sqrt(sq as Arr);
  let gs = grads;
  if (opt.clipNorm > 0) {
    const scale = np.minimum(np.reciprocal(gradNorm.ref.add(CLIP_EPS)).mul(opt.clipNorm), 1);
    gs = grads.map((g) => g.mul(scale.ref));
    scale.dispose();
  }
  const decayFactor = lr.mul(-opt.weightDecay).add(1);
  const outP: Arr[] = [];
  const outM: Arr[] = [];
  const outV: Arr[] = [];
  for (let i = 0; i < n; i++) {
    const g = gs[i];
    const mi = m[i].mul(opt.beta1).add(g.ref.mul(1 - opt.beta1));
    const vi = v[i].mul(opt.beta2).add(np.square(g).mul(1 - opt.beta2));
    const denom = np.sqrt(vi.ref).div(sqrtBc2.ref).add(opt.eps);
    const p = decay[i] && opt.weightDecay > 0 ? params[i].mul(decayFactor.ref) : params[i];
    outP.push(p.sub(mi.ref.div(denom).mul(stepSize.ref)));
    outM.push(mi);
    outV.push(vi);
  }
  decayFactor.dispose();
  stepSize.dispose();
  sqrtBc2.dispose();
  return { params: outP, m: outM, v: outV, gradNorm };
}
