/**
 * Outer optimiser: SGD with Nesterov momentum on the averaged pseudo-gradient D, in float32 with
 * every intermediate rounded (PyTorch's `SGD(nesterov=True)` formula):
 *   b ← f32(f32(μ·b) + D)
 *   u ← f32(D + f32(μ·b))
 *   x ← f32(x − f32(lr·u))
 * with μ = fround(momentum), lr = fround(lr). The momentum buffer b is part of the global state
 * (format "DLXS" kind global), so every replica computes bit-identical (x, b).
 */
import type { ParamLayout } from "../types.ts";
import { encodeState, decodeState, type DecodeStateOptions } from "../format/state.ts";
import { blobId } from "../hash.ts";
import type { Hex } from "viem";

export interface OuterConfig {
  lr: number;
  momentum: number;
  /** false gives plain heavy-ball momentum (u = b). */
  nesterov: boolean;
}

export const DEFAULT_OUTER: OuterConfig = { lr: 0.7, momentum: 0.9, nesterov: true };

/** The deterministic global state of a job after `step` outer updates. */
export interface GlobalState {
  step: number;
  params: Float32Array;
  momentum: Float32Array;
}

export function initGlobalState(params: Float32Array): GlobalState {
  return { step: 0, params: params.slice(), momentum: new Float32Array(params.length) };
}

/** One outer step; returns a new state (inputs are not modified). */
export function outerStep(state: GlobalState, avgDelta: Float32Array, cfg: OuterConfig = DEFAULT_OUTER): GlobalState {
  const n = state.params.length;
  if (avgDelta.length !== n || state.momentum.length !== n) {
    throw new RangeError(`outerStep: params ${n}, momentum ${state.momentum.length}, delta ${avgDelta.length} elements`);
  }
  if (!(cfg.lr > 0) || !(cfg.momentum >= 0 && cfg.momentum < 1)) throw new RangeError(`outerStep: lr must be > 0 and momentum in [0, 1)`);
  const f = Math.fround;
  const mu = f(cfg.momentum);
  const lr = f(cfg.lr);
  const params = new Float32Array(n);
  const momentum = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const d = avgDelta[i];
    const b = f(f(mu * state.momentum[i]) + d);
    const u = cfg.nesterov ? f(d + f(mu * b)) : b;
    momentum[i] = b;
    params[i] = f(state.params[i] - f(lr * u));
  }
  return { step: state.step + 1, params, momentum };
}

export function encodeGlobalState(state: GlobalState, layout: ParamLayout): Uint8Array {
  return encodeState({ kind: "global", step: state.step, layout, values: state.params, momentum: state.momentum });
}

export function decodeGlobalState(bytes: Uint8Array, opts: Omit<DecodeStateOptions, "expectedKind"> = {}): GlobalState {
  const s = decodeState(bytes, { ...opts, expectedKind: "global" });
  return { step: s.step, params: s.values, momentum: s.momentum! };
}

/** keccak-256 of the canonical encoding: the model hash voted on chain. */
export function globalStateHash(state: GlobalState, layout: ParamLayout): Hex {
  return blobId(encodeGlobalState(state, layout));
}
