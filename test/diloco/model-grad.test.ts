/**
 * Gradients of the jax-js model (float32, the jitted production path) against central differences of an
 * independent float64 reference implementation (worker/diloco/model/reference.ts, exact Math.exp/log/tanh).
 *
 * Tolerance: the float64 differences are exact to ~1e-9 (h = 1e-6: truncation h²·f‴ ≈ 1e-12, rounding
 * 1e-16·|L|/h ≈ 1e-9). The jax-js side computes in float32 (ε ≈ 6e-8, sums of ≤ 96 terms) with
 * approximate transcendental kernels (measured in float64: exp 2e-7, log 1.6e-5 relative error); the
 * largest error seen on this test is 6e-8 absolute, about 1e-7 of max|g|. We allow
 * 1e-5 · max|g| + 1e-5 · |g|: ~100× the measured error, while any real mistake (a missing term, a
 * wrong transpose, a causal-mask leak) is of the order of the gradient itself.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createTrainer, TINY_MODEL, DEFAULT_INNER_OPT, initParams, buildLayout } from "../../worker/diloco/trainer/index.ts";
import { referenceLoss, referenceGradAt } from "../../worker/diloco/model/reference.ts";
import { batchAt } from "../../worker/diloco/data/batches.ts";
import { rngFor } from "../../worker/diloco/rng.ts";

test("model gradients match float64 finite differences of an independent reference", async () => {
  const cfg = TINY_MODEL;
  const layout = buildLayout(cfg);
  const trainer = await createTrainer(cfg, DEFAULT_INNER_OPT);
  try {
    // Perturb the initial weights so every path (attention, LN gains, MLP) carries sizeable gradients.
    const params = initParams(cfg, 11);
    const rng = rngFor("grad-test");
    for (let i = 0; i < params.length; i++) params[i] += 0.3 * rng.normal();
    const tokens = Uint8Array.from({ length: 200 }, () => rng.nextInt(cfg.vocabSize));
    const B = 3;
    const T = cfg.contextLength;
    const batch = batchAt(tokens, [0, 57, 120], T);

    const { loss, grad } = await trainer.lossAndGradient(params, batch);
    const flat64 = Float64Array.from(params);
    const refLoss = referenceLoss(cfg, flat64, batch.x, batch.y, B, T);
    assert.ok(Math.abs(loss - refLoss) < 1e-4 * refLoss, `loss ${loss} vs reference ${refLoss}`);

    const gmax = grad.reduce((m, g) => Math.max(m, Math.abs(g)), 0);
    assert.ok(gmax > 0.05, `gradients too small to be a meaningful test (max ${gmax})`);
    // Three coordinates of every tensor, plus the 20 largest gradient entries.
    const coords = new Set<number>();
    for (const t of layout.tensors) for (const k of [0, Math.floor(t.size / 2), t.size - 1]) coords.add(t.offset + k);
    [...grad.keys()].sort((a, b) => Math.abs(grad[b]) - Math.abs(grad[a])).slice(0, 20).forEach((i) => coords.add(i));
    let worst = 0;
    for (const i of coords) {
      const fd = referenceGradAt(cfg, flat64, i, batch.x, batch.y, B, T);
      const err = Math.abs(fd - grad[i]);
      const tol = 1e-5 * gmax + 1e-5 * Math.abs(fd);
      worst = Math.max(worst, err / tol);
      const name = layout.tensors.find((t) => i >= t.offset && i < t.offset + t.size)?.name;
      assert.ok(err <= tol, `${name}[${i}]: autodiff ${grad[i]} vs finite difference ${fd} (err ${err}, tol ${tol})`);
    }
    assert.ok(coords.size >= layout.tensors.length * 2, "checked too few coordinates");
    assert.ok(worst < 1, `worst error/tolerance ${worst}`);
  } finally {
    trainer.dispose();
  }
});
