/** Parameter layout, configs and deterministic initialisation. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildLayout, paramCount, tensorByName, validateModelConfig, DEFAULT_MODEL, TINY_MODEL, initParams } from "../../worker/diloco/trainer/index.ts";

test("default model has the 429,664 parameters of the measured reference model", () => {
  assert.equal(paramCount(DEFAULT_MODEL), 429_664);
  assert.ok(paramCount(TINY_MODEL) < 10_000);
});

test("layout: contiguous tensors, matrices are 2-D, vectors 1-D", () => {
  const layout = buildLayout(DEFAULT_MODEL);
  let offset = 0;
  for (const t of layout.tensors) {
    assert.equal(t.offset, offset, t.name);
    assert.equal(t.size, t.shape.reduce((a, b) => a * b, 1));
    assert.equal(t.kind, t.shape.length === 2 ? "matrix" : "vector", t.name);
    offset += t.size;
  }
  assert.equal(layout.size, offset);
  assert.equal(layout.tensors.length, 2 + 12 * DEFAULT_MODEL.nLayers + 4);
  assert.equal(new Set(layout.tensors.map((t) => t.name)).size, layout.tensors.length, "unique names");
  assert.deepEqual(tensorByName(layout, "tok_emb").shape, [96, 128]);
  assert.equal(tensorByName(layout, "tok_emb").kind, "matrix");
  assert.deepEqual(tensorByName(layout, "layers.1.attn.qkv.w").shape, [128, 384]);
  assert.equal(tensorByName(layout, "layers.0.ln1.g").kind, "vector");
  assert.deepEqual(tensorByName(layout, "head.b").shape, [96]);
  assert.throws(() => tensorByName(layout, "nope"), /no tensor named nope/);
});

test("config errors name the field", () => {
  assert.throws(() => validateModelConfig({ ...DEFAULT_MODEL, nHeads: 3 }), /ModelConfig\.nHeads/);
  assert.throws(() => validateModelConfig({ ...DEFAULT_MODEL, dMlp: 0 }), /ModelConfig\.dMlp/);
  assert.throws(() => validateModelConfig({ ...DEFAULT_MODEL, nLayers: 1.5 }), /ModelConfig\.nLayers/);
  assert.throws(() => buildLayout({ ...DEFAULT_MODEL, contextLength: -4 }), /ModelConfig\.contextLength/);
});

test("initialisation: deterministic per seed, GPT-2 statistics", () => {
  const a = initParams(DEFAULT_MODEL, 1);
  assert.deepEqual(initParams(DEFAULT_MODEL, 1), a);
  assert.notDeepEqual(initParams(DEFAULT_MODEL, 2), a);
  const layout = buildLayout(DEFAULT_MODEL);
  const std = (name: string): number => {
    const t = tensorByName(layout, name);
    const v = a.subarray(t.offset, t.offset + t.size);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    return Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
  };
  assert.ok(Math.abs(std("tok_emb") - 0.02) < 0.001);
  assert.ok(Math.abs(std("layers.0.mlp.fc.w") - 0.02) < 0.0005);
  assert.ok(Math.abs(std("layers.0.mlp.proj.w") - 0.02 / Math.sqrt(4)) < 0.0005, "residual projections scaled by 1/sqrt(2L)");
  const g = tensorByName(layout, "ln_f.g");
  const b = tensorByName(layout, "layers.1.attn.qkv.b");
  assert.ok(a.subarray(g.offset, g.offset + g.size).every((x) => x === 1));
  assert.ok(a.subarray(b.offset, b.offset + b.size).every((x) => x === 0));
});
