/**
 * Replayable per-worker state beyond the residual: inner AdamW moments carried across rounds,
 * warm-start factors of the low-rank compressor, and the eager-mix start rule of the one-step delay.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compressUpdate, DILOCOX_COMPRESSION, validateCompressionConfig } from "../../worker/diloco/compress/index.ts";
import { encodeUpdate } from "../../worker/diloco/format/update.ts";
import { blobId } from "../../worker/diloco/hash.ts";
import { initWorkerState, trainingStart } from "../../worker/diloco/round/index.ts";
import { runDilocoSim } from "../../worker/diloco/sim/index.ts";
import { createTrainer, DEFAULT_INNER_OPT, TINY_MODEL } from "../../worker/diloco/trainer/index.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import { layoutOf, lowRankMatrix, relErr } from "./fixtures/matrices.ts";
import { createQuadraticTrainer, quadraticShards } from "./fixtures/quadratic-trainer.ts";

const OPT = { ...DEFAULT_INNER_OPT, warmupSteps: 2, totalSteps: 20 };

test("trainer: innerState continues AdamW (t advances, moments returned); zero state at t = 0 equals a fresh start", async () => {
  const trainer = await createTrainer(TINY_MODEL, OPT);
  try {
    const shard = makeShards(loadCorpus(), { workers: 2 }).shards[1];
    const params = await trainer.initParams(5);
    const req = { params, steps: 3, batchSize: 4, shard, seed: 9, round: 1, workerIndex: 1, stepOffset: 3 };
    const fresh = await trainer.train(req);
    assert.equal(fresh.innerState?.t, 3);
    assert.equal(fresh.innerState?.m.length, trainer.layout.size);
    assert.ok(fresh.innerState!.v.some((x) => x > 0), "second moments are filled");
    const zero = { m: new Float32Array(trainer.layout.size), v: new Float32Array(trainer.layout.size), t: 0 };
    const same = await trainer.train({ ...req, innerState: zero });
    assert.deepEqual(same.params, fresh.params, "zero moments at t = 0 are a fresh start, bit for bit");
    const cont = await trainer.train({ ...req, params: fresh.params, round: 2, stepOffset: 6, innerState: fresh.innerState });
    assert.equal(cont.innerState?.t, 6);
    const restart = await trainer.train({ ...req, params: fresh.params, round: 2, stepOffset: 6 });
    assert.notDeepEqual(cont.params, restart.params, "carried moments change the update");
    const again = await trainer.train({ ...req, params: fresh.params, round: 2, stepOffset: 6, innerState: fresh.innerState });
    assert.deepEqual(again.params, cont.params, "deterministic");
    await assert.rejects(
      trainer.train({ ...req, innerState: { ...zero, t: -1 } }),
      /innerState\.t must be a non-negative integer/,
    );
    await assert.rejects(trainer.train({ ...req, innerState: { ...zero, m: new Float32Array(3) } }), /innerState\.m/);
  } finally {
    trainer.dispose();
  }
});

test("warm start: a slowly changing matrix is approximated better with the previous round's factors, deterministically", () => {
  const layout = layoutOf([{ name: "w", shape: [96, 80], kind: "matrix" }]);
  const cfg = { ...DILOCOX_COMPRESSION, minRank: 4, maxRank: 4, oversample: 2, powerIters: 0, bits: 8, vectorBits: 8, errorFeedback: false };
  const spectrum = [8, 6, 5, 4, 3, 2.5, 2, 1.5, 1, 0.8];
  const m1 = lowRankMatrix(96, 80, spectrum, 41);
  const m2 = Float32Array.from(m1, (x, i) => x + 0.01 * Math.sin(i));
  const cold = compressUpdate(m2, null, layout, cfg, { seed: 1, round: 2, worker: 0 });
  assert.equal(cold.warm, null, "no warm factors without warmStart");
  let prev = compressUpdate(m1, null, layout, { ...cfg, warmStart: true }, { seed: 1, round: 1, worker: 0 });
  // a few rounds on the same matrix: the subspace iteration converges
  for (let r = 2; r < 5; r++) prev = compressUpdate(m1, null, layout, { ...cfg, warmStart: true }, { seed: 1, round: r, worker: 0, warm: prev.warm });
  const warmA = compressUpdate(m2, null, layout, { ...cfg, warmStart: true }, { seed: 1, round: 5, worker: 0, warm: prev.warm });
  const warmB = compressUpdate(m2, null, layout, { ...cfg, warmStart: true }, { seed: 1, round: 5, worker: 0, warm: prev.warm });
  assert.equal(blobId(encodeUpdate(warmA.update)), blobId(encodeUpdate(warmB.update)));
  const eCold = relErr(m2, cold.decompressed);
  const eWarm = relErr(m2, warmA.decompressed);
  assert.ok(eWarm < 0.9 * eCold, `warm ${eWarm} vs cold ${eCold}`);
  assert.equal(warmA.warm?.[0]?.rank, 4);
  assert.throws(() => compressUpdate(m2, null, layout, { ...cfg, warmStart: true }, { seed: 1, round: 5, worker: 0, warm: [null, null] }), /warm start has 2 entries/);
  assert.throws(() => validateCompressionConfig({ ...cfg, warmStart: 1 as unknown as boolean }), /warmStart must be a boolean/);
});

test("eager-mix and eager-own starts: own Δ/K (plus (K−1)/K of the last known aggregate), through the outer step", () => {
  const x1 = { step: 1, params: Float32Array.from([1, 1]), momentum: Float32Array.from([0, 0]) };
  const o = { lr: 0.5, momentum: 0.5, nesterov: true };
  const ws = { ...initWorkerState(), lastStart: Float32Array.from([1, 1]), lastLocal: Float32Array.from([0.5, 2]) }; // Δ = [0.5, −1]
  const prev = Float32Array.from([0.25, 0.25]);
  // D̃ = Δ/2 + prev/2 = [0.375, −0.375]; b = D̃; u = D̃ + 0.5·b = 1.5·D̃; x = 1 − 0.5·u = [0.71875, 1.28125]
  assert.deepEqual(trainingStart(x1, ws, "eager-mix", o, { lastAggregate: prev, workers: 2 }), Float32Array.from([0.71875, 1.28125]));
  // without a known aggregate it is the plain eager rule
  assert.deepEqual(trainingStart(x1, ws, "eager-mix", o, { lastAggregate: null, workers: 2 }), trainingStart(x1, ws, "eager", o));
  assert.throws(() => trainingStart(x1, ws, "eager-mix", o, { lastAggregate: new Float32Array(3), workers: 2 }), /last aggregate has 3 elements/);
  // eager-own: only Δ/K early: D̃ = [0.25, −0.5]; u = 1.5·D̃; x = 1 − 0.5·u = [0.8125, 1.375]
  assert.deepEqual(trainingStart(x1, ws, "eager-own", o, { workers: 2 }), Float32Array.from([0.8125, 1.375]));
  assert.deepEqual(trainingStart(x1, ws, "eager-own", o, { workers: 1 }), trainingStart(x1, ws, "eager", o), "K = 1: the whole average");
});

test("simulation with eager-mix overlap, carried inner state and warm-started factors trains and replays bit for bit", async () => {
  const trainer = createQuadraticTrainer({ lr: 0.2 });
  const cfg = {
    trainer,
    shards: quadraticShards(3),
    rounds: 8,
    innerSteps: 5,
    batchSize: 8,
    seed: 3,
    outer: { lr: 0.7, momentum: 0.5, nesterov: true },
    evalTokens: new Uint8Array(8),
    evalEvery: 1,
    compression: { ...DILOCOX_COMPRESSION, minRank: 1, maxRank: 3, energy: 0.9, warmStart: true },
    overlap: true,
    overlapStart: "eager-mix" as const,
    keepInnerState: true,
  };
  const a = await runDilocoSim(cfg);
  const b = await runDilocoSim(cfg);
  assert.ok(a.finalEvalLoss! < 0.05 * a.initialEvalLoss!, `${a.finalEvalLoss} vs ${a.initialEvalLoss}`);
  assert.equal(a.finalHash, b.finalHash);
  assert.deepEqual(a.rounds.map((r) => r.updateHashes), b.rounds.map((r) => r.updateHashes));
  assert.equal(a.costs.length, 8);
  assert.equal(a.costs[0].length, 3);
  const eager = await runDilocoSim({ ...cfg, overlapStart: "eager" });
  assert.notEqual(eager.finalHash, a.finalHash, "the start rule matters");
});
