/** Training on the real corpus makes the model better, on its own shard and on held-out text. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createTrainer, DEFAULT_INNER_OPT } from "../../worker/diloco/trainer/index.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import type { ModelConfig } from "../../worker/diloco/types.ts";

// A small model (120 K parameters) so that 40 steps take a few seconds on one core.
const SMALL: ModelConfig = { vocabSize: 96, contextLength: 32, dModel: 64, nHeads: 4, nLayers: 2, dMlp: 256 };

function unigramEntropy(tokens: Uint8Array | Uint16Array | Uint32Array): number {
  const counts = new Map<number, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) h -= (c / tokens.length) * Math.log(c / tokens.length);
  return h;
}

test("loss decreases on the State of the Union corpus over 40 AdamW steps", async () => {
  const data = makeShards(loadCorpus(), { workers: 2 });
  const trainer = await createTrainer(SMALL, { ...DEFAULT_INNER_OPT, lr: 3e-3, warmupSteps: 5, totalSteps: 40 });
  try {
    const params = await trainer.initParams(1);
    const evalBefore = await trainer.evaluate(params, data.eval, { batches: 4, batchSize: 16 });
    const r = await trainer.train({ params, steps: 40, batchSize: 16, shard: data.shards[1], seed: 5, round: 0, workerIndex: 1, stepOffset: 0 });
    const evalAfter = await trainer.evaluate(r.params, data.eval, { batches: 4, batchSize: 16 });

    assert.equal(r.losses.length, 40);
    assert.ok(r.losses.every(Number.isFinite));
    // Untrained: ≈ ln 96 = 4.56 nats (uniform guess).
    assert.ok(Math.abs(r.losses[0] - Math.log(96)) < 0.15, `first loss ${r.losses[0]}`);
    assert.ok(Math.abs(evalBefore - Math.log(96)) < 0.15, `eval before ${evalBefore}`);
    // Beating the shard's unigram entropy (≈ 3.0 nats) means the model uses context, not just letter frequencies.
    const unigram = unigramEntropy(data.shards[1].tokens);
    const lastFive = r.losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.ok(lastFive < unigram, `mean of last 5 training losses ${lastFive} vs unigram entropy ${unigram} (first ${r.losses[0]})`);
    assert.ok(evalAfter < unigram && evalAfter < evalBefore - 1.0, `held-out loss ${evalBefore} → ${evalAfter} (unigram ${unigram})`);
    assert.equal(r.tokensProcessed, 40 * 16 * SMALL.contextLength);
    assert.ok(r.seconds > 0);
    assert.ok(!r.params.every((v, i) => v === params[i]), "params unchanged");
  } finally {
    trainer.dispose();
  }
});
