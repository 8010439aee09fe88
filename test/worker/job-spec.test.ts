import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { keccak256 } from "viem";
import { makeSpec } from "../../worker/spec/presets.ts";
import {
  assertSpecMatchesChain,
  canonicalSpecJson,
  decodeJobSpec,
  encodeJobSpec,
  jobParamsFromSpec,
  jobSpecHash,
  parseJobSpec,
  JobSpecError,
} from "../../worker/spec/job-spec.ts";

const ARBITER = "0x00000000000000000000000000000000000000A1";

describe("job spec", () => {
  const spec = makeSpec({ model: "tiny", rounds: 3, innerSteps: 5 });

  it("round-trips through its canonical bytes and hashes them", () => {
    const bytes = encodeJobSpec(spec);
    assert.deepEqual(decodeJobSpec(bytes), spec);
    assert.equal(jobSpecHash(spec), keccak256(bytes));
    assert.ok(!/\s/.test(canonicalSpecJson(spec).replace(/"[^"]*"/g, "")), "no whitespace outside strings");
  });

  it("rejects non-canonical encodings of a valid spec", () => {
    const pretty = new TextEncoder().encode(JSON.stringify(spec, null, 2));
    assert.throws(() => decodeJobSpec(pretty), /not in canonical form/);
    assert.throws(() => decodeJobSpec(new Uint8Array([0xff, 0xfe])), /not UTF-8 JSON/);
  });

  const bad: [string, (s: any) => void, RegExp][] = [
    ["wrong format", (s) => (s.format = "x"), /\$\.format must be/],
    ["future version", (s) => (s.version = 2), /\$\.version must be 1/],
    ["unknown field", (s) => (s.extra = 1), /\$\.extra is not a known field/],
    ["zero rounds", (s) => (s.market.rounds = 0), /\$\.market\.rounds must be an integer in \[1/],
    ["too many workers", (s) => (s.market.maxWorkers = 33), /\$\.market\.maxWorkers must be an integer in \[1, 32\]/],
    ["min > max workers", (s) => (s.market.minWorkers = 9), /minWorkers must not exceed maxWorkers/],
    ["zero reward", (s) => (s.market.rewardPerRound = "0"), /rewardPerRound must be a positive decimal string/],
    ["reward as number", (s) => (s.market.rewardPerRound = 5), /rewardPerRound must be a positive decimal string/],
    ["quorum at half", (s) => (s.market.quorumBps = 5000), /quorumBps must be an integer in \[5001, 10000\]/],
    ["short window", (s) => (s.market.commitWindow = 5), /commitWindow must be an integer in \[10/],
    ["an arbiter (removed by issue 13: disputes go to the DisputeGame)", (s) => (s.market.arbiter = "0x0000000000000000000000000000000000000001"), /arbiter/],
    ["bad heads", (s) => (s.model.nHeads = 3), /nHeads must divide dModel/],
    ["bits out of range", (s) => (s.training.compression.bits = 9), /compression\.bits must be an integer in \[2, 8\]/],
    ["bad method", (s) => (s.training.compression.method = "zip"), /method must be "none", "quant" or "lowrank"/],
    ["NaN lr", (s) => (s.training.innerOptimizer.lr = Number.NaN), /innerOptimizer\.lr must be a number/],
    ["schedule mismatch", (s) => (s.training.innerOptimizer.totalSteps = 7), /totalSteps must equal market\.rounds × training\.innerSteps = 15/],
    ["seed too large", (s) => (s.training.seed = "18446744073709551616"), /seed must be a decimal string of a uint64/],
    ["unknown family", (s) => (s.model.family = "mamba"), /model\.family must be "gpt2" or "llama"/],
    ["tied gpt2", (s) => (s.model.tieEmbeddings = true), /tieEmbeddings is only offered for the llama family/],
    ["odd rotary head", (s) => Object.assign(s.model, { family: "llama", dModel: 18, nHeads: 2 }), /even head size/],
    ["too large", (s) => Object.assign(s.model, { dModel: 8192, nLayers: 256, dMlp: 32768, nHeads: 64 }), /above the protocol cap of 1000000000/],
    ["bad dataset hash", (s) => (s.data = { dataset: "0x1234", shardsPerRound: 1 }), /data\.dataset must be a dataset manifest hash/],
    ["zero shards", (s) => (s.data = { dataset: "0x" + "ab".repeat(32), shardsPerRound: 0 }), /shardsPerRound must be an integer/],
    ["unknown backend", (s) => (s.trainer = { backend: "tf", determinism: "x" }), /trainer\.backend must be "jax-js" or "pytorch"/],
    ["bad jax class", (s) => (s.trainer = { backend: "jax-js", determinism: "fast" }), /"strict" or "relaxed"/],
    ["bad torch class", (s) => (s.trainer = { backend: "pytorch", determinism: "cuda" }), /PyTorch class string/],
  ];
  for (const [name, mutate, re] of bad) {
    it(`names the field: ${name}`, () => {
      const copy = structuredClone(spec) as any;
      mutate(copy);
      assert.throws(() => parseJobSpec(copy), (err: unknown) => err instanceof JobSpecError && re.test(err.message));
    });
  }

  it("accepts a llama model on a dataset with a pinned PyTorch class, keeping inner state", () => {
    const copy = structuredClone(spec) as any;
    copy.model = { ...copy.model, family: "llama", tieEmbeddings: true };
    copy.data = { dataset: "0x" + "ab".repeat(32), shardsPerRound: 2 };
    copy.trainer = { backend: "pytorch", determinism: "pytorch-1.13.1/cpu-avx2/openblas-0.3.21-haswell/t1", tolerance: { updateRelL2: 0.01, loss: 0.001 } };
    copy.training.keepInnerState = true;
    const parsed = parseJobSpec(copy);
    assert.deepEqual(decodeJobSpec(encodeJobSpec(parsed)), parsed);
    assert.equal(parsed.trainer?.backend, "pytorch");
    assert.equal(parsed.training.keepInnerState, true);
  });

  it("maps to createJob parameters and detects on-chain terms that differ", () => {
    const h = jobSpecHash(spec);
    const params = jobParamsFromSpec(spec, h, h);
    assert.equal(params.rewardPerRound, 10n * 10n ** 18n);
    assert.equal(params.maxWorkers, 3);
    assertSpecMatchesChain(spec, params);
    assert.throws(() => assertSpecMatchesChain(spec, { ...params, rewardPerRound: 1n }), /rewardPerRound on chain \(1\) differs/);
  });
});
