/**
 * In-process `Trainer` on jax-js (WebAssembly backend, one thread).
 *
 * Parameters live on the device as one array per layout tensor during a `train` call; they enter and
 * leave as the flat Float32Array of the `ParamLayout`. The AdamW moments start from `req.innerState`
 * (zero when absent) and come back in the result, so a round is a pure function of
 * (params, innerState, shard, seed, round, workerIndex, steps, stepOffset, configs).
 */
import { digestF32, type StateDigests } from "../trace/index.ts";
import { jit, numpy as np, valueAndGrad, type OwnedFunction } from "@jax-js/jax";
import { initBackend, type FloatMode } from "./backend.ts";
import type { InnerOptimizerConfig, ModelConfig, ParamLayout, TrainRequest, TrainResult, Trainer } from "../types.ts";
import { validateModelConfig } from "../model/config.ts";
import { buildLayout, checkParams } from "../model/layout.ts";
import { initParams } from "../model/init.ts";
import { lossFn } from "../model/transformer.ts";
import { sampleBatch, evalOffsets, batchAt, type Batch } from "../data/batches.ts";
import { validateInnerOpt } from "./options.ts";
import { learningRateAt } from "./schedule.ts";
import { stepScalars } from "./adamw.ts";
import { makeLossEval, makeTrainStep, type LossEvalFn, type StepState, type TrainStepFn } from "./step.ts";

type Arr = np.Array;

/** Copies the flat vector into one device array per layout tensor. */
export function toDevice(layout: ParamLayout, flat: Float32Array): Arr[] {
  checkParams(layout, flat);
  return layout.tensors.map((t) => np.array(flat.slice(t.offset, t.offset + t.size)).reshape(t.shape));
}

/** Reads device tensors (consumed) back into one flat Float32Array. */
export async function fromDevice(layout: ParamLayout, tensors: Arr[]): Promise<Float32Array> {
  const out = new Float32Array(layout.size);
  for (let i = 0; i < tensors.length; i++) {
    const t = layout.tensors[i];
    const data = await tensors[i].data();
    if (data.length !== t.size) throw new Error(`tensor ${t.name}: got ${data.length} values, expected ${t.size}`);
    out.set(data as Float32Array, t.offset);
  }
  return out;
}

function batchArrays(b: Batch): [Arr, Arr] {
  const shape = [b.batchSize, b.contextLength];
  return [np.array(b.x, { dtype: np.int32 }).reshape(shape), np.array(b.y, { dtype: np.int32 }).reshape(shape)];
}

function scalar(v: number): Arr {
  return np.array(new Float32Array([v])).reshape([]);
}

export interface TrainStats {
  /** Global gradient norm (before clipping) of each step. */
  gradNorms: number[];
  /** Learning rate of each step. */
  learningRates: number[];
}

export class JaxTrainer implements Trainer {
  readonly config: ModelConfig;
  readonly opt: InnerOptimizerConfig;
  readonly layout: ParamLayout;
  /** Floating-point mode of the backend (see backend.ts); part of what determines the output bits. */
  readonly floatMode: FloatMode;
  #step: TrainStepFn | null = null;
  #eval: LossEvalFn | null = null;
  #grad: OwnedFunction<(p: Arr[], x: Arr, y: Arr) => [Arr, Arr[]]> | null = null;
  #disposed = false;
  /** Per-step statistics of the last `train` call. */
  lastStats: TrainStats = { gradNorms: [], learningRates: [] };

  /** Use `createTrainer` (it starts the backend first). */
  constructor(config: ModelConfig, opt: InnerOptimizerConfig, floatMode: FloatMode = "strict") {
    if (floatMode !== "strict" && floatMode !== "relaxed") throw new Error(`floatMode must be "strict" or "relaxed", got ${String(floatMode)}`);
    this.floatMode = floatMode;
    this.config = Object.freeze({ ...validateModelConfig(config) });
    this.opt = Object.freeze({ ...validateInnerOpt(opt) });
    this.layout = buildLayout(this.config);
  }

  #alive(): void {
    if (this.#disposed) throw new Error("trainer was disposed");
  }

  async initParams(seed: number): Promise<Float32Array> {
    return initParams(this.config, seed);
  }

  #checkRequest(req: TrainRequest): void {
    checkParams(this.layout, req.params, "TrainRequest.params");
    for (const f of ["steps", "batchSize"] as const) {
      if (!Number.isInteger(req[f]) || req[f] < 1) throw new Error(`TrainRequest.${f} must be a positive integer, got ${String(req[f])}`);
    }
    for (const f of ["round", "workerIndex", "stepOffset", "firstStep"] as const) {
      if (f === "firstStep" && req[f] === undefined) continue;
      if (!Number.isSafeInteger(req[f]) || (req[f] as number) < 0) throw new Error(`TrainRequest.${f} must be a non-negative integer, got ${String(req[f])}`);
    }
    if (typeof req.seed !== "bigint" && !(Number.isSafeInteger(req.seed) && req.seed >= 0)) {
      throw new Error(`TrainRequest.seed must be a non-negative integer or bigint, got ${String(req.seed)}`);
    }
    if (!req.shard || !(req.shard.tokens instanceof Uint8Array || req.shard.tokens instanceof Uint16Array || req.shard.tokens instanceof Uint32Array)) {
      throw new Error("TrainRequest.shard.tokens must be a Uint8Array, Uint16Array or Uint32Array");
    }
    if (req.innerState !== undefined) {
      const st = req.innerState;
      checkParams(this.layout, st.m, "TrainRequest.innerState.m");
      checkParams(this.layout, st.v, "TrainRequest.innerState.v");
      if (!Number.isSafeInteger(st.t) || st.t < 0) throw new Error(`TrainRequest.innerState.t must be a non-negative integer, got ${String(st.t)}`);
    }
    if (req.shard.tokens.length < this.config.contextLength + 1) {
      throw new Error(`TrainRequest.shard has ${req.shard.tokens.length} tokens, needs at least contextLength + 1 = ${this.config.contextLength + 1}`);
    }
  }

  async train(req: TrainRequest): Promise<TrainResult> {
    this.#alive();
    this.#checkRequest(req);
    await initBackend(this.floatMode);
    const t0 = performance.now();
    const { contextLength: T, vocabSize: V } = this.config;
    this.#step ??= makeTrainStep(this.config, this.layout, this.opt);
    const inner = req.innerState;
    let state: StepState = {
      params: toDevice(this.layout, req.params),
      m: inner ? toDevice(this.layout, inner.m) : this.layout.tensors.map((t) => np.zeros(t.shape)),
      v: inner ? toDevice(this.layout, inner.v) : this.layout.tensors.map((t) => np.zeros(t.shape)),
    };
    const t0Adam = inner ? inner.t : 0;
    const losses: number[] = [];
    const digests: StateDigests[] = [];
    const first = req.firstStep ?? 0;
    const stats: TrainStats = { gradNorms: [], learningRates: [] };
    try {
      for (let s = 0; s < req.steps; s++) {
        const batch = sampleBatch(req.shard, { seed: req.seed, round: req.round, workerIndex: req.workerIndex, step: first + s }, req.batchSize, T);
        checkTokenRange(batch, V);
        const [x, y] = batchArrays(batch);
        const lr = learningRateAt(this.opt, req.stepOffset + first + s);
        const sc = stepScalars(this.opt, lr, t0Adam + s + 1);
        const [next, out] = this.#step(state, x, y, scalar(sc.lr), scalar(sc.stepSize), scalar(sc.sqrtBc2));
        state = next;
        const [loss, gradNorm] = await out.data();
        if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at step ${req.stepOffset + s}`);
        losses.push(loss);
        if (req.traceDigests) {
          // read copies (`.ref`): the state stays on the device for the next step
          digests.push({ params: digestF32(await fromDevice(this.layout, state.params.map((a) => a.ref))), m: digestF32(await fromDevice(this.layout, state.m.map((a) => a.ref))), v: digestF32(await fromDevice(this.layout, state.v.map((a) => a.ref))) });
        }
        req.onStep?.(s + 1, loss);
        stats.gradNorms.push(gradNorm);
        stats.learningRates.push(lr);
        // the device reads above resolve as microtasks: give timers and I/O a turn between steps, so a
        // worker training a round ahead (overlap) still answers the chain (polls, votes) meanwhile
        await new Promise((r) => setImmediate(r));
      }
      const params = await fromDevice(this.layout, state.params);
      state.params = [];
      const m = await fromDevice(this.layout, state.m);
      state.m = [];
      const v = await fromDevice(this.layout, state.v);
      state.v = [];
      this.lastStats = stats;
      return {
        params,
        losses,
        tokensProcessed: req.steps * req.batchSize * T,
        seconds: (performance.now() - t0) / 1000,
        innerState: { m, v, t: t0Adam + req.steps },
        ...(req.traceDigests ? { stateDigests: digests } : {}),
      };
    } finally {
      for (const a of [...state.params, ...state.m, ...state.v]) if (a.refCount > 0) a.dispose();
    }
  }

  async evaluate(params: Float32Array, tokens: Uint8Array | Uint16Array | Uint32Array, opts: { batches?: number; batchSize?: number } = {}): Promise<number> {
    this.#alive();
    checkParams(this.layout, params);
    const batches = opts.batches ?? 8;
    const batchSize = opts.batchSize ?? 32;
    if (!Number.isInteger(batches) || batches < 1) throw new Error(`evaluate: batches must be a positive integer, got ${batches}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`evaluate: batchSize must be a positive integer, got ${batchSize}`);
    await initBackend(this.floatMode);
    const T = this.config.contextLength;
    const offsets = evalOffsets(tokens.length, batches * batchSize, T);
    const full = Math.floor(offsets.length / batchSize);
    if (full < 1) throw new Error(`evaluate: ${tokens.length} tokens give fewer than one batch of ${batchSize} windows`);
    this.#eval ??= makeLossEval(this.config);
    const device = toDevice(this.layout, params);
    let sum = 0;
    try {
      for (let b = 0; b < full; b++) {
        const batch = batchAt(tokens, offsets.slice(b * batchSize, (b + 1) * batchSize), T);
        checkTokenRange(batch, this.config.vocabSize);
        const [x, y] = batchArrays(batch);
        const [loss] = await this.#eval(device.map((a) => a.ref), x, y).data();
        sum += loss;
      }
    } finally {
      for (const a of device) a.dispose();
    }
    return sum / full;
  }

  /**
   * Loss and flat gradient of one batch, without an update (for gradient checks and debugging):
   * the same jitted value-and-gradient computation as inside the train step.
   */
  async lossAndGradient(params: Float32Array, batch: Batch): Promise<{ loss: number; grad: Float32Array }> {
    this.#alive();
    checkParams(this.layout, params);
    await initBackend(this.floatMode);
    checkTokenRange(batch, this.config.vocabSize);
    const [x, y] = batchArrays(batch);
    this.#grad ??= jit((p: Arr[], xs: Arr, ys: Arr): [Arr, Arr[]] => valueAndGrad((q: Arr[]) => lossFn(this.config, q, xs, ys))(p));
    const [loss, grads] = this.#grad(toDevice(this.layout, params), x, y);
    const [l] = await loss.data();
    return { loss: l, grad: await fromDevice(this.layout, grads) };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#step?.dispose();
    this.#eval?.dispose();
    this.#grad?.dispose();
    this.#step = null;
    this.#eval = null;
    this.#grad = null;
  }
}

function checkTokenRange(b: Batch, vocabSize: number): void {
  for (let i = 0; i < b.x.length; i++) {
    if (b.x[i] >= vocabSize || b.y[i] >= vocabSize) throw new Error(`token id ${Math.max(b.x[i], b.y[i])} ≥ vocabSize ${vocabSize}`);
  }
}
