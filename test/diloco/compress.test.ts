import { test } from "node:test";
import assert from "node:assert/strict";
import {
  compressUpdate,
  decompressUpdate,
  pseudoGradient,
  DILOCOX_COMPRESSION,
  FP32_COMPRESSION,
  INT8_COMPRESSION,
  type CompressionConfig,
} from "../../worker/diloco/compress/index.ts";
import { dequantize, packCodes, quantize, unpackCodes } from "../../worker/diloco/compress/quantize.ts";
import { encodeUpdate } from "../../worker/diloco/format/update.ts";
import { layoutOf, lcg, lowRankMatrix, orthoLowRank, randomVector, relErr } from "./fixtures/matrices.ts";

const ctx = { seed: 11, round: 3, worker: 1 };

test("block quantisation: every element within half a step of its block scale, scale = fround(max/c)", () => {
  const x = randomVector(1000, 1, 3);
  for (let bits = 2; bits <= 8; bits++) {
    for (const bs of [1, 7, 64, 1000]) {
      const q = quantize(x, bits, bs);
      const y = dequantize(q, bs);
      const c = ((1 << bits) - 1) / 2;
      for (let b = 0; b < q.scales.length; b++) {
        let max = 0;
        for (let i = b * bs; i < Math.min(x.length, (b + 1) * bs); i++) max = Math.max(max, Math.abs(x[i]));
        assert.equal(q.scales[b], Math.fround(max / c));
        for (let i = b * bs; i < Math.min(x.length, (b + 1) * bs); i++) {
          assert.ok(Math.abs(x[i] - y[i]) <= (q.scales[b] / 2) * (1 + 1e-6), `bits ${bits} bs ${bs} i ${i}`);
        }
      }
    }
  }
});

test("code packing round-trips for every bit width and leaves zero padding", () => {
  const rnd = lcg(5);
  for (let bits = 2; bits <= 8; bits++) {
    for (const n of [0, 1, 3, 8, 13, 100]) {
      const codes = Uint8Array.from({ length: n }, () => Math.floor((rnd() + 0.5) * (1 << bits)));
      const packed = packCodes(codes, bits);
      assert.equal(packed.length, Math.ceil((n * bits) / 8));
      assert.deepEqual(unpackCodes(packed, n, bits), codes);
      if ((n * bits) % 8 !== 0) {
        const bad = packed.slice();
        bad[bad.length - 1] |= 0x80;
        assert.equal(unpackCodes(bad, n, bits), null);
      }
    }
  }
});

test("low-rank + k-bit round trip: rank found exactly and relative error ≤ 3·2^-bits", () => {
  for (const trueRank of [1, 2, 4, 8]) {
    const scales = Array.from({ length: trueRank }, (_, k) => 2 ** (-k / 2));
    const m = lowRankMatrix(48, 40, scales, 100 + trueRank);
    const layout = layoutOf([{ name: "m", shape: [48, 40], kind: "matrix" }]);
    for (const bits of [2, 3, 4, 5, 6, 8]) {
      const cfg: CompressionConfig = { ...DILOCOX_COMPRESSION, bits, minRank: 1, maxRank: 8, energy: 0.9999 };
      const res = compressUpdate(m, null, layout, cfg, ctx);
      const t = res.update.tensors[0];
      assert.equal(t.mode, "lowrank");
      assert.equal(res.stats[0].rank, trueRank, `rank for true rank ${trueRank}, ${bits} bits`);
      const err = relErr(m, decompressUpdate(res.update));
      assert.ok(err <= 3 * 2 ** -bits, `true rank ${trueRank}, ${bits} bits: rel error ${err}`);
      assert.ok(Math.abs(err - res.stats[0].relError) < 1e-9);
    }
  }
});

test("adaptive rank: smallest rank reaching the energy threshold, clamped to [minRank, maxRank]", () => {
  // singular values exactly 4, 2, 1, 0.5: cumulative energy 0.753, 0.941, 0.988, 1
  const m = orthoLowRank(64, 64, [4, 2, 1, 0.5], 7);
  const layout = layoutOf([{ name: "m", shape: [64, 64], kind: "matrix" }]);
  const rankFor = (energy: number, minRank = 1, maxRank = 8) =>
    compressUpdate(m, null, layout, { ...DILOCOX_COMPRESSION, bits: 8, energy, minRank, maxRank }, ctx).stats[0];
  const r1 = rankFor(0.5);
  assert.equal(r1.rank, 1);
  assert.ok(r1.energyCaptured >= 0.5);
  assert.equal(rankFor(0.9).rank, 2);
  assert.equal(rankFor(0.98).rank, 3);
  assert.ok(Math.abs(rankFor(0.98).energyCaptured - 21 / 21.25) < 1e-6);
  assert.equal(rankFor(0.9999).rank, 4);
  assert.equal(rankFor(0.9999, 1, 2).rank, 2, "capped by maxRank");
  assert.equal(rankFor(0.5, 3, 8).rank, 3, "raised to minRank");
  // rank never exceeds min(rows, cols) even with a big cap
  const tall = lowRankMatrix(40, 5, [1, 1, 1, 1, 1], 8);
  const tl = layoutOf([{ name: "t", shape: [40, 5], kind: "matrix" }]);
  const st = compressUpdate(tall, null, tl, { ...DILOCOX_COMPRESSION, minRank: 1, maxRank: 64, energy: 1 }, ctx);
  const ct = st.update.tensors[0];
  assert.ok(ct.mode === "quant" || (ct.mode === "lowrank" && ct.rank <= 5));
});

test("vectors are quantised only; fp32 is exact; int8 error ≤ half a step", () => {
  const layout = layoutOf([
    { name: "w", shape: [32, 24], kind: "matrix" },
    { name: "b", shape: [24], kind: "vector" },
  ]);
  const d = new Float32Array(layout.size);
  d.set(lowRankMatrix(32, 24, [1, 0.3], 9), 0);
  d.set(randomVector(24, 10), 768);
  const x = compressUpdate(d, null, layout, DILOCOX_COMPRESSION, ctx);
  assert.equal(x.update.tensors[0].mode, "lowrank");
  assert.equal(x.update.tensors[1].mode, "quant");
  const raw = compressUpdate(d, null, layout, FP32_COMPRESSION, ctx);
  assert.deepEqual(decompressUpdate(raw.update), d);
  const i8 = compressUpdate(d, null, layout, INT8_COMPRESSION, ctx);
  assert.ok(i8.update.tensors.every((t) => t.mode === "quant" && t.q.bits === 8));
  assert.ok(relErr(d, decompressUpdate(i8.update)) < 0.01);
});

test("error feedback: new residual is exactly (Δ + e) − decompress(C), up to one float32 rounding", () => {
  const layout = layoutOf([
    { name: "w", shape: [30, 20], kind: "matrix" },
    { name: "b", shape: [20], kind: "vector" },
  ]);
  const delta = randomVector(layout.size, 21);
  const e = randomVector(layout.size, 22, 0.1);
  const res = compressUpdate(delta, e, layout, { ...DILOCOX_COMPRESSION, minRank: 1, maxRank: 2 }, ctx);
  assert.ok(res.residual);
  for (let i = 0; i < layout.size; i++) {
    const v = Math.fround(delta[i] + e[i]);
    assert.ok(Math.abs(v - (res.decompressed[i] + res.residual[i])) <= 2 ** -22 * Math.max(1, Math.abs(v)), `i ${i}`);
  }
  const noEf = compressUpdate(delta, e, layout, { ...DILOCOX_COMPRESSION, errorFeedback: false }, ctx);
  assert.equal(noEf.residual, null);
});

test("error feedback makes compressed gradient descent converge on a quadratic; without it the iterate stalls", () => {
  const layout = layoutOf([
    { name: "x", shape: [24, 20], kind: "matrix" },
    { name: "v", shape: [20], kind: "vector" },
  ]);
  const n = layout.size;
  const curv = Float64Array.from({ length: n }, (_, i) => 0.05 + (0.95 * ((i * 7919) % n)) / n);
  const rnd = lcg(3);
  const target = Float64Array.from({ length: n }, () => 2 * rnd());
  const f = (x: Float32Array) => x.reduce((s, xi, i) => s + 0.5 * curv[i] * (xi - target[i]) ** 2, 0);
  const run = (mode: "exact" | "ef" | "noef") => {
    const x = new Float32Array(n);
    let e: Float32Array | null = null;
    for (let t = 0; t < 400; t++) {
      const g = Float32Array.from(x, (xi, i) => curv[i] * (xi - target[i]));
      let u: Float32Array = g;
      if (mode !== "exact") {
        const cfg = { ...DILOCOX_COMPRESSION, bits: 2, vectorBits: 2, minRank: 1, maxRank: 1, errorFeedback: mode === "ef" };
        const r = compressUpdate(g, e, layout, cfg, { seed: 1, round: t, worker: 0 });
        u = r.decompressed;
        e = r.residual;
      }
      for (let i = 0; i < n; i++) x[i] -= 0.05 * u[i];
    }
    return f(x);
  };
  const f0 = f(new Float32Array(n));
  const exact = run("exact");
  const ef = run("ef");
  const noef = run("noef");
  assert.ok(exact < f0 * 1e-3, `exact GD converges (${exact} vs ${f0})`);
  assert.ok(ef < 3 * exact, `EF tracks exact GD (${ef} vs ${exact})`);
  assert.ok(noef > 100 * ef, `without EF it is far worse (${noef} vs ${ef})`);
});

test("compression is deterministic and keyed by (seed, round, worker, tensor)", () => {
  const layout = layoutOf([{ name: "w", shape: [64, 48], kind: "matrix" }]);
  const d = Float32Array.from(randomVector(layout.size, 31));
  const enc = (c: typeof ctx) => encodeUpdate(compressUpdate(d, null, layout, { ...DILOCOX_COMPRESSION, minRank: 1, maxRank: 4, powerIters: 0 }, c).update);
  assert.deepEqual(enc(ctx), enc({ ...ctx }));
  assert.notDeepEqual(enc(ctx), enc({ ...ctx, round: ctx.round + 1 }));
  assert.notDeepEqual(enc(ctx), enc({ ...ctx, worker: ctx.worker + 1 }));
});

test("pseudo-gradient is global − local in float32 and bad inputs are refused", () => {
  const g = Float32Array.from([1, 2, 3]);
  const l = Float32Array.from([0.5, 2.25, -1]);
  assert.deepEqual(pseudoGradient(g, l), Float32Array.from([0.5, -0.25, 4]));
  const layout = layoutOf([{ name: "b", shape: [3], kind: "vector" }]);
  assert.throws(() => compressUpdate(Float32Array.from([1, NaN, 0]), null, layout, INT8_COMPRESSION, ctx), /non-finite/);
  assert.throws(() => compressUpdate(Float32Array.from([1, 0]), null, layout, INT8_COMPRESSION, ctx), /layout has 3/);
  assert.throws(() => compressUpdate(g, null, layout, { ...INT8_COMPRESSION, bits: 9 }, ctx), /bits/);
});
