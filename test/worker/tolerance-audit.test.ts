/**
 * Cross-class audit check: the same round trained by PyTorch and by jax-js (two determinism classes)
 * gives different update bytes but passes the tolerance check; an update from other data (a worker
 * that trained on the wrong shard) fails it.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createTrainer, DEFAULT_INNER_OPT } from "../../worker/diloco/trainer/index.ts";
import { TorchTrainer } from "../../worker/diloco/trainer/torch-trainer.ts";
import { runWorkerRound, initWorkerState } from "../../worker/diloco/round/index.ts";
import { DILOCOX_COMPRESSION } from "../../worker/diloco/compress/config.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import { toleranceCheck } from "../../worker/node/tolerance-audit.ts";
import type { ModelConfig, Trainer } from "../../worker/diloco/types.ts";

const config: ModelConfig = { vocabSize: 96, contextLength: 16, dModel: 32, nHeads: 4, nLayers: 2, dMlp: 64, family: "llama" };
const opt = { ...DEFAULT_INNER_OPT, warmupSteps: 2, totalSteps: 40 };
const shards = makeShards(loadCorpus(), { workers: 4 }).shards;
let torch: TorchTrainer | undefined;
after(async () => torch?.dispose());

test("PyTorch and jax-js updates of one round agree within tolerance; an update from other data does not", async () => {
  const jax = await createTrainer(config, opt);
  torch = await TorchTrainer.start(config, opt);
  const start = await jax.initParams(4);
  const round = (trainer: Trainer, shard: number) => runWorkerRound({ trainer, start, state: initWorkerState(), compression: DILOCOX_COMPRESSION, overlap: false, seed: 5n, round: 0, workerIndex: 1, steps: 20, batchSize: 8, shard: shards[shard] });
  const a = await round(jax, 1);
  const b = await round(torch, 1);
  const wrong = await round(jax, 2);
  assert.notEqual(a.hash, b.hash, "two classes: different bits");
  const mean = (l: number[]) => l.reduce((x, y) => x + y, 0) / l.length;
  const tolerance = { updateRelL2: 0.05, loss: 0.01 };
  const ok = toleranceCheck({ committed: b.bytes, replayed: a.bytes, layout: jax.layout, committedLoss: mean(b.train.losses), replayedLoss: mean(a.train.losses), tolerance });
  assert.ok(ok.pass, JSON.stringify(ok));
  const bad = toleranceCheck({ committed: wrong.bytes, replayed: a.bytes, layout: jax.layout, committedLoss: mean(wrong.train.losses), replayedLoss: mean(a.train.losses), tolerance });
  assert.ok(!bad.pass && bad.relL2 > 0.3, JSON.stringify(bad));
  jax.dispose();
});
