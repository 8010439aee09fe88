/**
 * "DLXU" version 2: entropy-coded quantisation codes (rANS) and the layout named by hash. Round trips,
 * canonical form, and every malformed input rejected with a coded FormatError.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compressUpdate, DILOCOX_COMPRESSION, FP32_COMPRESSION, INT8_COMPRESSION, type CompressionConfig } from "../../worker/diloco/compress/index.ts";
import { decodeUpdate, encodeUpdate, FormatError, type FormatErrorCode } from "../../worker/diloco/format/index.ts";
import { FLAG_ENTROPY, FLAG_LAYOUT_HASH, FLAG_STATE_REF, layoutHash } from "../../worker/diloco/format/update.ts";
import { normalizeFrequencies, ransDecode, ransEncode, ransLookup, ransModel, RANS_M } from "../../worker/diloco/format/rans.ts";
import { layoutOf, lowRankMatrix, randomVector } from "./fixtures/matrices.ts";

const layout = layoutOf([
  { name: "m", shape: [48, 40], kind: "matrix" },
  { name: "v", shape: [70], kind: "vector" },
  { name: "e", shape: [30, 8], kind: "matrix" },
]);

function delta(): Float32Array {
  const d = new Float32Array(layout.size);
  d.set(lowRankMatrix(48, 40, [1, 0.5, 0.2, 0.1, 0.05], 3), 0);
  d.set(randomVector(70, 4), 1920);
  d.set(lowRankMatrix(30, 8, [0.3, 0.1], 5), 1990);
  return d;
}

function compressed(cfg: Partial<CompressionConfig> = {}) {
  return compressUpdate(delta(), null, layout, { ...DILOCOX_COMPRESSION, minRank: 2, maxRank: 3, bits: 2, vectorBits: 3, blockSize: 32, ...cfg }, { seed: 1, round: 0, worker: 0 }).update;
}

function expectCode(fn: () => unknown, code: FormatErrorCode, msg?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (msg) assert.match(e.message, msg);
    return true;
  });
}

const both = { entropyCoding: true, layoutHash: true };

test("rANS: frequencies sum to M with every present symbol ≥ 1; encode/decode round trip; end state checked", () => {
  for (const counts of [[5, 0, 3, 1], [1, 1, 1, 1], [100000, 1, 1, 0], Array.from({ length: 256 }, (_, i) => (i % 3 === 0 ? 1 : i * 7))]) {
    const f = normalizeFrequencies(counts);
    assert.equal(f.reduce((a, b) => a + b, 0), RANS_M);
    counts.forEach((c, s) => assert.equal(f[s] > 0, c > 0, `symbol ${s}`));
  }
  const symbols = Uint8Array.from({ length: 5000 }, (_, i) => ((i * 2654435761) >>> 0) % 7 < 5 ? 1 + (i % 2) : (i % 4));
  const counts = [0, 0, 0, 0];
  for (const s of symbols) counts[s]++;
  const m = ransModel(normalizeFrequencies(counts));
  const stream = ransEncode(symbols, () => m);
  assert.ok(stream.length < symbols.length / 4 * 0.9, `coded ${stream.length} bytes for ${symbols.length} 2-bit symbols`);
  assert.deepEqual(ransDecode(stream, symbols.length, () => m, () => ransLookup(m), "t"), symbols);
  expectCode(() => ransDecode(stream.subarray(0, stream.length - 1), symbols.length, () => m, () => ransLookup(m), "t"), "TRUNCATED");
  expectCode(() => ransDecode(stream, symbols.length - 1, () => m, () => ransLookup(m), "t"), "NON_CANONICAL");
  expectCode(() => ransDecode(Uint8Array.from([0, 0, 0, 1]), 1, () => m, () => ransLookup(m), "t"), "NON_CANONICAL", /state/);
});

test("version 2 round trips to the same tensors as version 1, smaller, and re-encodes to the same bytes", () => {
  for (const cfg of [{}, { bits: 4, vectorBits: 4 }, { method: "quant" as const, bits: 8 }, { bits: 8, vectorBits: 2, minRank: 3 }]) {
    const u = compressed(cfg);
    const v1 = encodeUpdate(u);
    for (const wire of [both, { entropyCoding: true }, { layoutHash: true }]) {
      const v2 = encodeUpdate(u, wire);
      assert.equal(v2[4], 2, "version 2");
      assert.equal(v2[6], (wire.entropyCoding ? FLAG_ENTROPY : 0) | (wire.layoutHash ? FLAG_LAYOUT_HASH : 0));
      const back = decodeUpdate(v2, { expectedLayout: layout });
      assert.deepEqual(encodeUpdate(back), v1, JSON.stringify({ cfg, wire }));
      assert.deepEqual(encodeUpdate(back, wire), v2);
    }
  }
  // size: on a model-sized matrix 2-bit codes shrink by a quarter or more (tables and state are ~40 bytes)
  const big = layoutOf([{ name: "w", shape: [256, 192], kind: "matrix" }, { name: "b", shape: [192], kind: "vector" }]);
  const d = new Float32Array(big.size);
  // bell-shaped factor entries (sums of four uniforms), like real pseudo-gradients' factors
  const bell = (n: number, seed: number) => {
    const parts = [0, 1, 2, 3].map((j) => randomVector(n, seed * 4 + j));
    return Float64Array.from({ length: n }, (_, i) => parts[0][i] + parts[1][i] + parts[2][i] + parts[3][i]);
  };
  [1, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01].forEach((sc, k) => {
    const a = bell(256, 2 * k + 1);
    const c = bell(192, 2 * k + 2);
    for (let i = 0; i < 256; i++) for (let j = 0; j < 192; j++) d[i * 192 + j] += sc * a[i] * c[j];
  });
  d.set(randomVector(192, 10), 256 * 192);
  const u = compressUpdate(d, null, big, { ...DILOCOX_COMPRESSION, minRank: 8, maxRank: 8, bits: 2, vectorBits: 2, blockSize: 128 }, { seed: 1, round: 0, worker: 0 }).update;
  const v1 = encodeUpdate(u).length;
  const v2 = encodeUpdate(u, both).length;
  assert.ok(v2 < 0.85 * v1, `${v2} vs ${v1}`);
  assert.equal(encodeUpdate(compressed(), {})[4], 1, "no flags: version 1 bytes, unchanged");
  assert.throws(() => encodeUpdate(compressUpdate(delta(), null, layout, FP32_COMPRESSION, { seed: 1, round: 0, worker: 0 }).update, { entropyCoding: true }), /at least one quantised tensor/);
});

test("layout by hash: needs the expected layout, rejects another one", () => {
  const b = encodeUpdate(compressed(), both);
  expectCode(() => decodeUpdate(b), "BAD_FIELD", /expected layout/);
  const other = layoutOf([
    { name: "m", shape: [48, 40], kind: "matrix" },
    { name: "v2", shape: [70], kind: "vector" },
    { name: "e", shape: [30, 8], kind: "matrix" },
  ]);
  expectCode(() => decodeUpdate(b, { expectedLayout: other }), "LAYOUT_MISMATCH", /hash/);
  const fewer = layoutOf([{ name: "m", shape: [48, 40], kind: "matrix" }]);
  expectCode(() => decodeUpdate(b, { expectedLayout: fewer }), "LAYOUT_MISMATCH", /tensors/);
  assert.equal(layoutHash(layout).length, 32);
});

test("every proper prefix of a version 2 blob is TRUNCATED; trailing bytes rejected", () => {
  const b = encodeUpdate(compressed(), both);
  for (let n = 0; n < b.length; n++) expectCode(() => decodeUpdate(b.subarray(0, n), { expectedLayout: layout }), "TRUNCATED");
  const longer = new Uint8Array(b.length + 1);
  longer.set(b);
  expectCode(() => decodeUpdate(longer, { expectedLayout: layout }), "TRAILING_BYTES");
});

test("malformed version 2 blobs: flags, tables, stream — each rejected with a code", () => {
  const b = encodeUpdate(compressed(), both);
  const patched = (at: number, ...v: number[]) => {
    const c = b.slice();
    v.forEach((x, i) => (c[at + i] = x));
    return c;
  };
  const opts = { expectedLayout: layout };
  expectCode(() => decodeUpdate(patched(6, 0x0b, 0), opts), "BAD_FIELD", /unknown flag/);
  expectCode(() => decodeUpdate(patched(6, 0, 0x01), opts), "BAD_FIELD", /unknown flag/);
  // tables start after magic 4 + version 2 + flags 2 + blockSize 4 + count 4 + hash 32 = 48
  const T = 48;
  assert.equal(b[T], 2, "two tables: 2-bit and 3-bit codes");
  assert.equal(b[T + 1], 2);
  expectCode(() => decodeUpdate(patched(T, 0), opts), "BAD_FIELD", /table count/);
  expectCode(() => decodeUpdate(patched(T, 9), opts), "BAD_FIELD", /table count/);
  expectCode(() => decodeUpdate(patched(T + 1, 9), opts), "BITS_OUT_OF_RANGE");
  assert.equal(b[T + 10], 3, "second table: 3-bit codes, after 1 + 4 × 2 bytes of the first");
  expectCode(() => decodeUpdate(patched(T + 10, 2), opts), "NON_CANONICAL", /not above/);
  // frequency sum off by one
  const f0 = b[T + 2] | (b[T + 3] << 8);
  expectCode(() => decodeUpdate(patched(T + 2, (f0 + 1) & 0xff, (f0 + 1) >> 8), opts), "BAD_FIELD", /sum to/);
  // frequencies moved between two symbols: still sums to M, but not the histogram's normalisation
  const f1 = b[T + 4] | (b[T + 5] << 8);
  const moved = patched(T + 2, (f0 + 1) & 0xff, (f0 + 1) >> 8, (f1 - 1) & 0xff, (f1 - 1) >> 8);
  assert.throws(() => decodeUpdate(moved, opts), (e: unknown) => e instanceof FormatError && ["NON_CANONICAL", "TRUNCATED"].includes(e.code));
  // flipping bits in the stream: never accepted, always a coded error
  let rejected = 0;
  for (let at = b.length - 40; at < b.length; at++) {
    for (const x of [0x01, 0x80]) {
      const c = b.slice();
      c[at] ^= x;
      try {
        decodeUpdate(c, opts);
      } catch (e) {
        assert.ok(e instanceof FormatError, String(e));
        rejected++;
        continue;
      }
      assert.fail(`bit flip at ${at} accepted`);
    }
  }
  assert.equal(rejected, 80);
});

test("quantised-only (int8) updates entropy-code too", () => {
  const u = compressUpdate(delta(), null, layout, INT8_COMPRESSION, { seed: 1, round: 0, worker: 0 }).update;
  const b = encodeUpdate(u, { entropyCoding: true });
  assert.deepEqual(encodeUpdate(decodeUpdate(b)), encodeUpdate(u));
});

test("flag 4 names the worker's state snapshot: round trip with every wire form, zero reference refused, every prefix TRUNCATED", () => {
  const u = compressed({});
  const ref = `0x${"5a".repeat(32)}` as const;
  for (const wire of [{}, both, { entropyCoding: true }, { layoutHash: true }]) {
    const bytes = encodeUpdate({ ...u, stateRef: ref }, wire);
    assert.equal(bytes[4], 2, "a reference needs version 2");
    assert.equal(bytes[6] & FLAG_STATE_REF, FLAG_STATE_REF);
    const back = decodeUpdate(bytes, { expectedLayout: layout });
    assert.equal(back.stateRef, ref);
    assert.deepEqual(encodeUpdate(back, wire), bytes, "canonical: re-encodes to the same bytes");
    // without the reference the tensors are the same
    const { stateRef: _, ...plain } = back;
    assert.deepEqual(encodeUpdate(plain, wire), encodeUpdate(u, wire));
    for (let n = 0; n < bytes.length; n += Math.max(1, Math.floor(bytes.length / 40))) expectCode(() => decodeUpdate(bytes.subarray(0, n), { expectedLayout: layout }), "TRUNCATED");
  }
  assert.equal(decodeUpdate(encodeUpdate(u), { expectedLayout: layout }).stateRef, undefined);
  expectCode(() => encodeUpdate({ ...u, stateRef: `0x${"00".repeat(32)}` }), "BAD_FIELD");
  // a zero reference written by hand is refused by the decoder
  const bytes = encodeUpdate({ ...u, stateRef: ref }, { layoutHash: true });
  const zeroed = bytes.slice();
  zeroed.fill(0, 16 + 32, 16 + 64);
  expectCode(() => decodeUpdate(zeroed, { expectedLayout: layout }), "BAD_FIELD", /reference is zero/);
});
