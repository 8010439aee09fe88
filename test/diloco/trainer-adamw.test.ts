/**
 * AdamW + learning-rate schedule + global-norm clipping against hand-computed values.
 * Expected numbers are written out or computed here in float64 from the textbook formulas, never by
 * calling the code under test; the library works in float32, hence tolerances of ~1e-6 relative.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { jit, numpy as np } from "@jax-js/jax";
import {
  createTrainer, learningRateAt, adamwUpdate, stepScalars, initBackend, TINY_MODEL, DEFAULT_INNER_OPT, validateInnerOpt,
} from "../../worker/diloco/trainer/index.ts";
import { sampleBatch } from "../../worker/diloco/data/batches.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import type { InnerOptimizerConfig } from "../../worker/diloco/types.ts";

const close = (a: number, b: number, tol: number, what: string): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);

test("learning-rate schedule: linear warm-up then cosine to minLrRatio", () => {
  const opt: InnerOptimizerConfig = { ...DEFAULT_INNER_OPT, lr: 1, warmupSteps: 4, totalSteps: 12, minLrRatio: 0.1 };
  close(learningRateAt(opt, 0), 0.25, 1e-15, "step 0");
  close(learningRateAt(opt, 1), 0.5, 1e-15, "step 1");
  close(learningRateAt(opt, 3), 1.0, 1e-15, "step 3");
  close(learningRateAt(opt, 4), 1.0, 1e-15, "step 4 (cosine starts at the peak)");
  close(learningRateAt(opt, 6), 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 4)), 1e-15, "step 6");
  close(learningRateAt(opt, 8), 0.55, 1e-15, "step 8 (half way)");
  close(learningRateAt(opt, 12), 0.1, 1e-15, "step 12 (end)");
  close(learningRateAt(opt, 500), 0.1, 1e-15, "after the end");
  close(learningRateAt({ ...opt, warmupSteps: 0 }, 0), 1, 1e-15, "no warm-up");
  assert.throws(() => learningRateAt(opt, -1), /step/);
});

test("optimizer config errors name the field", () => {
  assert.throws(() => validateInnerOpt({ ...DEFAULT_INNER_OPT, beta2: 1 }), /InnerOptimizerConfig\.beta2/);
  assert.throws(() => validateInnerOpt({ ...DEFAULT_INNER_OPT, lr: -1 }), /InnerOptimizerConfig\.lr/);
  assert.throws(() => validateInnerOpt({ ...DEFAULT_INNER_OPT, totalSteps: 2.5 }), /InnerOptimizerConfig\.totalSteps/);
  assert.throws(() => validateInnerOpt({ ...DEFAULT_INNER_OPT, clipNorm: Number.NaN }), /InnerOptimizerConfig\.clipNorm/);
});

test("two AdamW steps with clipping and decoupled weight decay match the hand computation", async () => {
  await initBackend();
  const opt: InnerOptimizerConfig = { ...DEFAULT_INNER_OPT, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, clipNorm: 1 };
  // W is a matrix (decayed), b a vector (not decayed).
  const W0 = [1, -2, 0.5, 3];
  const b0 = [0.1, -0.3];
  // Step 1: g_W = [3,0,0,0], g_b = [4,0] → ‖g‖ = 5 → clipped by 1/(5 + 1e-6).
  // Step 2: g_W = [0, 0.2, 0, 0], g_b = [0, 0.1] → ‖g‖ = 0.2236 < 1: not clipped.
  const grads = [
    { W: [3, 0, 0, 0], b: [4, 0] },
    { W: [0, 0.2, 0, 0], b: [0, 0.1] },
  ];
  const lrs = [0.01, 0.02];
  const step = jit((p: np.Array[], g: np.Array[], m: np.Array[], v: np.Array[], lr: np.Array, ss: np.Array, sb: np.Array) => {
    const o = adamwUpdate(opt, [true, false], p, g, m, v, lr, ss, sb);
    return [o.params, o.m, o.v, o.gradNorm] as [np.Array[], np.Array[], np.Array[], np.Array];
  });
  let p = [np.array(W0).reshape([2, 2]), np.array(b0)];
  let m = [np.zeros([2, 2]), np.zeros([2])];
  let v = [np.zeros([2, 2]), np.zeros([2])];
  // Hand computation in float64.
  const P = [...W0, ...b0];
  const M = new Array(6).fill(0);
  const V = new Array(6).fill(0);
  const decayed = [true, true, true, true, false, false];
  for (let t = 1; t <= 2; t++) {
    const gFlat = [...grads[t - 1].W, ...grads[t - 1].b];
    const norm = Math.sqrt(gFlat.reduce((a, x) => a + x * x, 0));
    const scale = Math.min(1, 1 / (norm + 1e-6));
    const lr = lrs[t - 1];
    for (let i = 0; i < 6; i++) {
      const g = gFlat[i] * scale;
      if (decayed[i]) P[i] *= 1 - lr * 0.1;
      M[i] = 0.9 * M[i] + 0.1 * g;
      V[i] = 0.99 * V[i] + 0.01 * g * g;
      const mHat = M[i] / (1 - 0.9 ** t);
      const vHat = V[i] / (1 - 0.99 ** t);
      P[i] -= (lr * mHat) / (Math.sqrt(vHat) + 1e-8);
    }
    const sc = stepScalars(opt, lr, t);
    const g = [np.array(grads[t - 1].W).reshape([2, 2]), np.array(grads[t - 1].b)];
    const s = (x: number) => np.array(new Float32Array([x])).reshape([]);
    const [p2, m2, v2, gn] = step(p, g, m, v, s(sc.lr), s(sc.stepSize), s(sc.sqrtBc2));
    [p, m, v] = [p2, m2, v2];
    close((await gn.data())[0], norm, 1e-6 * norm, `grad norm at t=${t}`);
    const got = [...(await p[0].ref.data()), ...(await p[1].ref.data())];
    for (let i = 0; i < 6; i++) close(got[i], P[i], 2e-6 * Math.max(1, Math.abs(P[i])), `param ${i} after step ${t}`);
  }
  // Sanity on the hand computation itself: on step 1 Adam moves every parameter with a non-zero
  // gradient by ≈ lr (|m̂/√v̂| = 1), and the decayed W[0] additionally shrinks by lr·wd.
  close(1 * (1 - 0.01 * 0.1) - 0.01, 0.989, 1e-12, "hand formula");
  for (const a of [...p, ...m, ...v]) a.dispose();
  step.dispose();
});

test("the trainer's two steps equal gradient + hand AdamW with schedule offset, clipping and decay mask", async () => {
  const opt: InnerOptimizerConfig = { ...DEFAULT_INNER_OPT, lr: 0.01, warmupSteps: 10, totalSteps: 50, minLrRatio: 0.1, weightDecay: 0.1, clipNorm: 0.5 };
  const trainer = await createTrainer(TINY_MODEL, opt);
  try {
    const shard = makeShards(loadCorpus(), { workers: 3 }).shards[2];
    const p0 = await trainer.initParams(3);
    const key = { seed: 99n, round: 4, workerIndex: 2 };
    const stepOffset = 8; // global steps 8 and 9: warm-up at 9/10 and 10/10 of lr
    const res = await trainer.train({ params: p0, steps: 2, batchSize: 4, shard, ...key, stepOffset });
    const matrix = new Uint8Array(trainer.layout.size);
    for (const t of trainer.layout.tensors) if (t.kind === "matrix") matrix.fill(1, t.offset, t.offset + t.size);
    const P = Float64Array.from(p0);
    const M = new Float64Array(P.length);
    const V = new Float64Array(P.length);
    for (let t = 1; t <= 2; t++) {
      const batch = sampleBatch(shard, { ...key, step: t - 1 }, 4, TINY_MODEL.contextLength);
      const { loss, grad } = await trainer.lossAndGradient(Float32Array.from(P), batch);
      close(res.losses[t - 1], loss, 1e-4, `loss of step ${t}`);
      const norm = Math.sqrt(grad.reduce((a, g) => a + g * g, 0));
      assert.ok(norm > 0.5, `clipping should be active (‖g‖ = ${norm})`);
      const scale = Math.min(1, 0.5 / (norm + 1e-6));
      const lr = t === 1 ? 0.009 : 0.01;
      for (let i = 0; i < P.length; i++) {
        const g = grad[i] * scale;
        if (matrix[i]) P[i] *= 1 - lr * 0.1;
        M[i] = 0.9 * M[i] + 0.1 * g;
        V[i] = 0.99 * V[i] + 0.01 * g * g;
        P[i] -= (lr * (M[i] / (1 - 0.9 ** t))) / (Math.sqrt(V[i] / (1 - 0.99 ** t)) + 1e-8);
      }
    }
    let worst = 0;
    for (let i = 0; i < P.length; i++) worst = Math.max(worst, Math.abs(res.params[i] - P[i]));
    // Each step moves a parameter by at most ≈ lr = 0.01; float32 round-off is ~1e-7 of that magnitude.
    assert.ok(worst < 2e-6, `max |trainer − hand| = ${worst}`);
    assert.ok(trainer.lastStats.gradNorms.every((n) => n > 0.5));
    assert.deepEqual(trainer.lastStats.learningRates.map((x) => Number(x.toFixed(12))), [0.009, 0.01]);
  } finally {
    trainer.dispose();
  }
});

test("cosPi (engine-independent cosine of the schedule) agrees with Math.cos", async () => {
  const { cosPi } = await import("../../worker/diloco/trainer/schedule.ts");
  for (let i = 0; i <= 1000; i++) close(cosPi(i / 1000), Math.cos((Math.PI * i) / 1000), 2e-15, `cosPi(${i / 1000})`);
  close(cosPi(0), 1, 2.3e-16, "cosPi(0)");
  close(cosPi(1), -1, 2.3e-16, "cosPi(1)");
  assert.throws(() => cosPi(1.5), /cosPi/);
});
