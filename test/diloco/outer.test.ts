import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_OUTER,
  decodeGlobalState,
  encodeGlobalState,
  globalStateHash,
  initGlobalState,
  outerStep,
} from "../../worker/diloco/outer/index.ts";
import { FormatError } from "../../worker/diloco/format/index.ts";
import { layoutOf } from "./fixtures/matrices.ts";

test("Nesterov step matches a hand computation (lr 0.5, momentum 0.5, exact in float32)", () => {
  const cfg = { lr: 0.5, momentum: 0.5, nesterov: true };
  const s0 = initGlobalState(Float32Array.from([1, 2]));
  const d = Float32Array.from([0.5, -1]);
  // b = μb + d = [0.5, −1]; u = d + μb = [0.75, −1.5]; x = x − lr·u = [0.625, 2.75]
  const s1 = outerStep(s0, d, cfg);
  assert.deepEqual(s1.momentum, Float32Array.from([0.5, -1]));
  assert.deepEqual(s1.params, Float32Array.from([0.625, 2.75]));
  assert.equal(s1.step, 1);
  // b = [0.75, −1.5]; u = [0.875, −1.75]; x = [0.1875, 3.625]
  const s2 = outerStep(s1, d, cfg);
  assert.deepEqual(s2.momentum, Float32Array.from([0.75, -1.5]));
  assert.deepEqual(s2.params, Float32Array.from([0.1875, 3.625]));
  assert.equal(s2.step, 2);
  // inputs untouched
  assert.deepEqual(s0.params, Float32Array.from([1, 2]));
  assert.deepEqual(s1.momentum, Float32Array.from([0.5, -1]));
});

test("heavy-ball variant (nesterov: false) applies the momentum buffer itself", () => {
  const cfg = { lr: 0.5, momentum: 0.5, nesterov: false };
  const s1 = outerStep(initGlobalState(Float32Array.from([1])), Float32Array.from([0.5]), cfg);
  assert.deepEqual(s1.params, Float32Array.from([0.75]));
  const s2 = outerStep(s1, Float32Array.from([0.5]), cfg);
  assert.deepEqual(s2.params, Float32Array.from([0.375])); // b = 0.75
});

test("defaults lr 0.7, momentum 0.9: float32 rounding at every intermediate, close to the float64 formula", () => {
  assert.deepEqual(DEFAULT_OUTER, { lr: 0.7, momentum: 0.9, nesterov: true });
  const f = Math.fround;
  const x0 = Float32Array.from([0.3, -1.7, 12.5]);
  const d = Float32Array.from([0.1, 0.2, -0.05]);
  let s = initGlobalState(x0);
  let b64 = [0, 0, 0];
  let x64 = Array.from(x0);
  for (let step = 0; step < 3; step++) {
    const prev = s;
    s = outerStep(s, d, DEFAULT_OUTER);
    for (let i = 0; i < 3; i++) {
      const b = f(f(f(0.9) * prev.momentum[i]) + d[i]);
      const u = f(d[i] + f(f(0.9) * b));
      assert.equal(s.momentum[i], b);
      assert.equal(s.params[i], f(prev.params[i] - f(f(0.7) * u)));
      b64[i] = 0.9 * b64[i] + d[i];
      x64[i] -= 0.7 * (d[i] + 0.9 * b64[i]);
      assert.ok(Math.abs(s.params[i] - x64[i]) < 1e-5 * Math.max(1, Math.abs(x64[i])));
    }
  }
  void b64;
});

test("momentum is part of the serialised global state and of its hash", () => {
  const layout = layoutOf([
    { name: "w", shape: [2, 2], kind: "matrix" },
    { name: "b", shape: [2], kind: "vector" },
  ]);
  const s1 = outerStep(initGlobalState(Float32Array.from([1, 2, 3, 4, 5, 6])), Float32Array.from([1, 0, -1, 0.5, 0, 2]));
  const bytes = encodeGlobalState(s1, layout);
  const back = decodeGlobalState(bytes, { expectedLayout: layout });
  assert.deepEqual(back, s1);
  const sameParamsNoMomentum = { ...s1, momentum: new Float32Array(6) };
  assert.notEqual(globalStateHash(s1, layout), globalStateHash(sameParamsNoMomentum, layout));
  assert.equal(globalStateHash(s1, layout), globalStateHash(back, layout));
  // continuing from the decoded state is identical to continuing in memory
  const d = Float32Array.from([0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
  assert.deepEqual(outerStep(back, d), outerStep(s1, d));
  assert.throws(() => decodeGlobalState(new Uint8Array(3)), FormatError);
});

test("outer step refuses mismatched lengths and invalid hyper-parameters", () => {
  const s = initGlobalState(new Float32Array(3));
  assert.throws(() => outerStep(s, new Float32Array(2)), /delta 2/);
  assert.throws(() => outerStep(s, new Float32Array(3), { lr: 0, momentum: 0.9, nesterov: true }), /lr/);
  assert.throws(() => outerStep(s, new Float32Array(3), { lr: 0.7, momentum: 1, nesterov: true }), /momentum/);
});
