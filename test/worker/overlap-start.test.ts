/**
 * The overlapped schedule in the node (worker/node/overlap-start.ts, issue 11): the spec's start rule,
 * the version-2 state snapshot that carries an overlapped round's start state (canonical, rejected when
 * malformed; version 1 unchanged), and the node's round function run on the overlapped schedule
 * reproducing the engine's simulation bit for bit (final global model hash).
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { keccak256, type Hex } from "viem";
import { makeSpec } from "../../worker/spec/presets.ts";
import { jobParamsFromSpec, overlapModeOf, parseJobSpec } from "../../worker/spec/job-spec.ts";
import { decodeSnapshot, encodeSnapshot, sameCarriedState, type StateSnapshot } from "../../worker/diloco/trace/snapshot.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import { createJobTrainer, JAX_BACKEND } from "../../worker/node/trainer-backend.ts";
import { trainRound, type JobContext } from "../../worker/node/job-context.ts";
import { basisRound, startPoint } from "../../worker/node/overlap-start.ts";
import { initParams } from "../../worker/diloco/model/init.ts";
import { encodeGlobalState, initGlobalState, type GlobalState } from "../../worker/diloco/outer/index.ts";
import { finalizeRound, trainingStart } from "../../worker/diloco/round/index.ts";
import { blobId } from "../../worker/diloco/hash.ts";
import { defaultAddresses, runDilocoSim } from "../../worker/diloco/sim/diloco.ts";
import type { InnerState, Trainer } from "../../worker/diloco/types.ts";
import type { OverlapCarry } from "../../worker/diloco/trace/snapshot.ts";

const HASH = `0x${"ab".repeat(32)}` as Hex;

describe("overlap start rule in the job spec", () => {
  it("defaults to eager-own, accepts the node's rules, and keeps old specs as they were", () => {
    const old = makeSpec({ model: "tiny", rounds: 2, innerSteps: 2, workers: 2 });
    assert.equal(overlapModeOf(old), "off");
    assert.ok(!("overlapStart" in old.training), "a synchronous spec gains no field");
    const on = makeSpec({ model: "tiny", rounds: 2, innerSteps: 2, workers: 2, overlap: true });
    assert.equal(overlapModeOf(on), "eager-own");
    assert.ok(!("overlapStart" in on.training), "the default is not written into the spec");
    for (const rule of ["eager", "eager-own", "local"] as const) assert.equal(overlapModeOf(makeSpec({ model: "tiny", rounds: 2, innerSteps: 2, workers: 2, overlap: true, overlapStart: rule })), rule);
    const raw = JSON.parse(JSON.stringify(on));
    assert.throws(() => parseJobSpec({ ...raw, training: { ...raw.training, overlapStart: "eager-mix" } }), /\$\.training\.overlapStart must be one of "eager-own", "eager", "local", got "eager-mix"/);
    assert.throws(() => parseJobSpec({ ...raw, training: { ...raw.training, overlap: false, overlapStart: "eager" } }), /\$\.training\.overlapStart is only allowed with overlap: true/);
  });
});

describe("state snapshot version 2 (overlap)", () => {
  const n = 5;
  const f = (k: number) => Float32Array.from({ length: n }, (_, i) => k + i * 0.25);
  const base = { startModelHash: `0x${"cd".repeat(32)}` as Hex, round: 3, workerIndex: 1, size: n, innerState: { m: f(1), v: f(2), t: 6 }, residual: f(3) };

  it("keeps version-1 snapshots byte-identical", () => {
    const bytes = encodeSnapshot(base);
    assert.equal(bytes[4], 1);
    const hl = new DataView(bytes.buffer).getUint32(5, true);
    assert.equal(new TextDecoder().decode(bytes.subarray(9, 9 + hl)), `{"startModelHash":"0x${"cd".repeat(32)}","round":3,"workerIndex":1,"t":6,"size":5,"moments":true,"residual":true}`);
    assert.equal(bytes.length, 9 + hl + 3 * n * 4);
    assert.equal(keccak256(bytes), keccak256(encodeSnapshot(decodeSnapshot(bytes))));
    assert.equal(decodeSnapshot(bytes).overlap, undefined);
  });

  it("round-trips the start rule, K and the carried state, and compares it bit for bit", () => {
    for (const carry of [null, { lastStart: f(4), lastLocal: f(5) }]) {
      const s: StateSnapshot = { ...base, overlap: { start: "eager-own", workers: 3, carry } };
      const bytes = encodeSnapshot(s);
      assert.equal(bytes[4], 2);
      const back = decodeSnapshot(bytes);
      assert.deepEqual(back, s);
      assert.ok(sameCarriedState(back, s));
      assert.ok(!sameCarriedState(back, { ...s, overlap: undefined }), "overlap missing");
      assert.ok(!sameCarriedState(back, { ...s, overlap: { ...s.overlap!, workers: 4 } }), "another K");
    }
    const s = { ...base, overlap: { start: "eager" as const, workers: 3, carry: { lastStart: f(4), lastLocal: f(5) } } };
    const local = f(5);
    local[2] = Math.fround(local[2] + 1e-6);
    assert.ok(!sameCarriedState(s, { ...s, overlap: { ...s.overlap, carry: { lastStart: f(4), lastLocal: local } } }), "one value of lastLocal");
    assert.ok(!sameCarriedState(s, { ...s, overlap: { ...s.overlap, carry: null } }), "carry missing");
  });

  it("rejects malformed and non-canonical version-2 snapshots with a one-line error", () => {
    const s: StateSnapshot = { ...base, overlap: { start: "eager-own", workers: 3, carry: { lastStart: f(4), lastLocal: f(5) } } };
    const good = encodeSnapshot(s);
    const hl = new DataView(good.buffer).getUint32(5, true);
    const header = JSON.parse(new TextDecoder().decode(good.subarray(9, 9 + hl)));
    const body = good.subarray(9 + hl);
    const withHeader = (h: string, version = 2) => {
      const hb = new TextEncoder().encode(h);
      const out = new Uint8Array(9 + hb.length + body.length);
      out.set(good.subarray(0, 4));
      out[4] = version;
      new DataView(out.buffer).setUint32(5, hb.length, true);
      out.set(hb, 9);
      out.set(body, 9 + hb.length);
      return out;
    };
    assert.deepEqual(decodeSnapshot(withHeader(JSON.stringify(header))), s, "the re-framed original decodes");
    const reordered = JSON.stringify({ carry: header.carry, ...header });
    assert.throws(() => decodeSnapshot(withHeader(reordered)), /^Error: state snapshot version 2 header is not in canonical form/);
    assert.throws(() => decodeSnapshot(withHeader(JSON.stringify({ ...header, extra: 1 }))), /not in canonical form/);
    assert.throws(() => decodeSnapshot(withHeader(JSON.stringify({ ...header, start: "sideways" }))), /header field start must be one of/);
    assert.throws(() => decodeSnapshot(withHeader(JSON.stringify({ ...header, workers: 0 }))), /header field workers must be a positive integer/);
    assert.throws(() => decodeSnapshot(withHeader(JSON.stringify({ ...header, carry: "yes" }))), /header field carry must be true or false/);
    assert.throws(() => decodeSnapshot(withHeader(JSON.stringify({ ...header, carry: false }))), /its header implies/);
    assert.throws(() => decodeSnapshot(withHeader(JSON.stringify(header), 3)), /state snapshot version 3 is not supported \(this software reads version 1 or 2\)/);
    assert.throws(() => decodeSnapshot(withHeader("null")), /header is not a JSON object/);
    assert.throws(() => encodeSnapshot({ ...s, overlap: { ...s.overlap!, carry: { lastStart: f(4), lastLocal: new Float32Array(2) } } }), /snapshot array has 2 values/);
  });
});

describe("the node's overlapped schedule", () => {
  const trainers: Trainer[] = [];
  after(async () => {
    for (const t of trainers) await t.dispose();
  });

  it("replays the engine's simulation bit for bit (eager-own, K = 2, three rounds, AdamW state and residual carried)", async () => {
    const K = 2;
    const spec = makeSpec({ model: "tiny", rounds: 3, innerSteps: 2, workers: K, overlap: true, keepInnerState: true, outerMomentum: 0.5 });
    const trainer = await createJobTrainer(spec, JAX_BACKEND);
    trainers.push(trainer);
    const data = makeShards(loadCorpus(), { workers: K, chunkSize: 4096, evalEvery: 10 });
    const ctx: JobContext = { jobId: 1n, spec, params: jobParamsFromSpec(spec, HASH, HASH), trainer, workerCount: K, shardFor: async (_r, i) => data.shards[i], evalTokens: async () => data.eval };
    const init = await initParams(spec.model, spec.training.initSeed);
    const addresses = defaultAddresses(K);
    const layout = trainer.layout;

    // the node: every worker commits every round, so round r ≥ 1 derives from round r − 1's start model
    const globals: GlobalState[] = [initGlobalState(init)];
    const state = Array.from({ length: K }, () => ({ residual: null as Float32Array | null, innerState: null as InnerState | null, carry: null as OverlapCarry | null }));
    for (let r = 0; r < spec.market.rounds; r++) {
      const b = basisRound(ctx, r, r > 0);
      assert.equal(b, Math.max(0, r - 1));
      const blobs = [];
      for (let i = 0; i < K; i++) {
        const s = state[i];
        const out = await trainRound(ctx, { global: globals[b], startModelHash: blobId(encodeGlobalState(globals[b], layout)), residual: s.residual, innerState: s.innerState, carry: s.carry, round: r, workerIndex: i });
        assert.deepEqual(out.start, startPoint(ctx, globals[b], s.carry));
        if (r === 0) assert.deepEqual(out.start, init, "round 0 starts from x_0");
        else assert.deepEqual(out.start, trainingStart(globals[b], { residual: null, lastStart: s.carry!.lastStart, lastLocal: s.carry!.lastLocal }, "eager-own", spec.training.outer, { workers: K }));
        const snap = decodeSnapshot(out.snapshot);
        assert.equal(snap.overlap?.start, "eager-own");
        assert.equal(snap.overlap?.carry === null, r === 0);
        state[i] = { residual: out.nextState.residual, innerState: out.train.innerState ?? null, carry: out.carryOut };
        blobs.push({ worker: addresses[i], bytes: out.bytes, committedHash: out.hash });
      }
      globals.push(finalizeRound(globals[r], blobs, layout, spec.training.outer, { expectedBlockSize: spec.training.compression.blockSize }));
    }
    const nodeHash = blobId(encodeGlobalState(globals[spec.market.rounds], layout));

    const sim = await runDilocoSim({
      trainer,
      shards: data.shards,
      rounds: spec.market.rounds,
      innerSteps: spec.training.innerSteps,
      batchSize: spec.training.batchSize,
      seed: Number(spec.training.seed),
      compression: spec.training.compression,
      outer: spec.training.outer,
      overlap: true,
      overlapStart: "eager-own",
      keepInnerState: true,
      initParams: init,
      addresses,
    });
    assert.equal(nodeHash, sim.finalHash);
  });
});
