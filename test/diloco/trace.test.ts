/**
 * Round traces (worker/diloco/trace): the per-step state digests both trainers report, resuming one
 * step from a witnessed state (what a referee does) bit for bit, the witness format, and the leaves.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createTrainer, DEFAULT_INNER_OPT, TINY_MODEL } from "../../worker/diloco/trainer/index.ts";
import { TorchTrainer } from "../../worker/diloco/trainer/torch-trainer.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import { contextHash, decodeWitness, digestF32, encodeWitness, roundTraceLeaves, stateLeaf, zeroDigest } from "../../worker/diloco/trace/index.ts";
import type { TrainRequest } from "../../worker/diloco/types.ts";
import { decodeSnapshot, encodeSnapshot, sameCarriedState } from "../../worker/diloco/trace/snapshot.ts";

const OPT = { ...DEFAULT_INNER_OPT, warmupSteps: 2, totalSteps: 40 };
const shard = makeShards(loadCorpus(), { workers: 4 }).shards[1];
const torchTrainers: TorchTrainer[] = [];
after(async () => {
  for (const t of torchTrainers) await t.dispose();
});

function request(params: Float32Array, extra: Partial<TrainRequest> = {}): TrainRequest {
  return { params, steps: 4, batchSize: 4, shard, seed: 7n, round: 2, workerIndex: 1, stepOffset: 8, ...extra };
}

for (const backend of ["jax-js", "pytorch"] as const) {
  test(`${backend}: state digests after every step; one step resumed from a witnessed state reproduces the next digest bit for bit`, async () => {
    const trainer = backend === "jax-js" ? await createTrainer(TINY_MODEL, OPT) : await TorchTrainer.start(TINY_MODEL, OPT);
    if (trainer instanceof TorchTrainer) torchTrainers.push(trainer);
    const x0 = await trainer.initParams(3);
    const full = await trainer.train(request(x0, { traceDigests: true }));
    assert.equal(full.stateDigests?.length, 4);
    // the last digest is the state the trainer returned
    assert.deepEqual(full.stateDigests![3], { params: digestF32(full.params), m: digestF32(full.innerState!.m), v: digestF32(full.innerState!.v) });
    // every step changes the state
    assert.equal(new Set(full.stateDigests!.map((d) => d.params)).size, 4);
    // a referee's recomputation: state after 2 steps, then step 3 alone (firstStep = 2)
    const two = await trainer.train(request(x0, { steps: 2 }));
    assert.deepEqual({ params: digestF32(two.params), m: digestF32(two.innerState!.m), v: digestF32(two.innerState!.v) }, full.stateDigests![1]);
    const third = await trainer.train(request(two.params, { steps: 1, firstStep: 2, innerState: two.innerState, traceDigests: true }));
    assert.deepEqual(third.stateDigests![0], full.stateDigests![2], "step 3 from the witnessed state of step 2");
    assert.equal(third.innerState!.t, 3);
    // the same step with the wrong batch index does not reproduce it
    const wrong = await trainer.train(request(two.params, { steps: 1, firstStep: 0, innerState: two.innerState, traceDigests: true }));
    assert.notDeepEqual(wrong.stateDigests![0], full.stateDigests![2]);
    // a fresh start equals a start from explicit zero moments at t = 0 (how a witness of step 0 resumes)
    const n = x0.length;
    const zeroStart = await trainer.train(request(x0, { steps: 1, innerState: { m: new Float32Array(n), v: new Float32Array(n), t: 0 }, traceDigests: true }));
    assert.deepEqual(zeroStart.stateDigests![0], full.stateDigests![0]);
    await trainer.dispose();
  });
}

test("trace leaves bind the context, the step and every array; a witness round-trips and names its leaf", () => {
  const n = 10;
  const params = Float32Array.from({ length: n }, (_, i) => i / 3);
  const m = new Float32Array(n).fill(0.5);
  const v = new Float32Array(n).fill(0.25);
  const residual = new Float32Array(n).fill(-1);
  const hash = `0x${"ab".repeat(32)}` as const;
  const ctx = { startModelHash: hash, round: 3, workerIndex: 2, residualDigest: digestF32(residual) };
  const d = { params: digestF32(params), m: digestF32(m), v: digestF32(v) };
  const leaf = stateLeaf(contextHash(ctx), 5, 9, d);
  assert.notEqual(leaf, stateLeaf(contextHash({ ...ctx, round: 4 }), 5, 9, d), "round bound");
  assert.notEqual(leaf, stateLeaf(contextHash({ ...ctx, workerIndex: 1 }), 5, 9, d), "worker bound");
  assert.notEqual(leaf, stateLeaf(contextHash({ ...ctx, residualDigest: digestF32(null) }), 5, 9, d), "residual bound");
  assert.notEqual(leaf, stateLeaf(contextHash(ctx), 6, 9, d), "step bound");
  assert.notEqual(leaf, stateLeaf(contextHash(ctx), 5, 10, d), "Adam count bound");
  assert.notEqual(leaf, stateLeaf(contextHash(ctx), 5, 9, { ...d, v: digestF32(m) }), "moments bound");
  assert.equal(zeroDigest(n), digestF32(new Float32Array(n)));

  const w = { startModelHash: hash, round: 3, workerIndex: 2, step: 5, t: 9, params, m, v, residual };
  const back = decodeWitness(encodeWitness(w));
  assert.deepEqual(back, w);
  assert.deepEqual(decodeWitness(encodeWitness({ ...w, residual: null })).residual, null);
  assert.throws(() => decodeWitness(new Uint8Array([1, 2, 3])), /not a trace witness/);
  const bad = encodeWitness(w).slice(0, -4);
  assert.throws(() => decodeWitness(bad), /bytes, its header implies/);

  const leaves = roundTraceLeaves({ context: ctx, start: d, t0: 4, steps: [d, d], updateHash: hash });
  assert.equal(leaves.length, 4);
  assert.equal(leaves[0], stateLeaf(contextHash(ctx), 0, 4, d));
  assert.equal(leaves[2], stateLeaf(contextHash(ctx), 2, 6, d));
  assert.equal(leaves[3], hash);
});

test("a state snapshot round-trips with and without moments and residual, and compares carried states bit for bit", () => {
  const n = 6;
  const m = Float32Array.from({ length: n }, (_, i) => i * 0.1);
  const v = Float32Array.from({ length: n }, (_, i) => i * 0.01);
  const residual = Float32Array.from({ length: n }, (_, i) => -i);
  const base = { startModelHash: `0x${"cd".repeat(32)}` as const, round: 5, workerIndex: 3, size: n };
  for (const innerState of [null, { m, v, t: 40 }]) {
    for (const r of [null, residual]) {
      const s = { ...base, innerState, residual: r };
      const back = decodeSnapshot(encodeSnapshot(s));
      assert.deepEqual(back, s);
      assert.ok(sameCarriedState(back, s));
    }
  }
  const s = { innerState: { m, v, t: 40 }, residual };
  assert.ok(!sameCarriedState(s, { ...s, innerState: { m, v, t: 41 } }), "step count");
  const v2 = v.slice();
  v2[3] = Math.fround(v2[3] + 1e-7);
  assert.ok(!sameCarriedState(s, { ...s, innerState: { m, v: v2, t: 40 } }), "one bit of v");
  assert.ok(!sameCarriedState(s, { ...s, residual: null }), "residual missing");
  assert.ok(!sameCarriedState(s, { innerState: null, residual }), "moments missing");
  assert.throws(() => decodeSnapshot(encodeSnapshot({ ...base, innerState: null, residual }).slice(0, -1)), /its header implies/);
  assert.throws(() => decodeSnapshot(new Uint8Array(12)), /not a state snapshot/);
});
