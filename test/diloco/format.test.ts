import { test } from "node:test";
import assert from "node:assert/strict";
import { compressUpdate, decompressUpdate, DILOCOX_COMPRESSION, FP32_COMPRESSION } from "../../worker/diloco/compress/index.ts";
import {
  decodeState,
  decodeUpdate,
  encodeState,
  encodeUpdate,
  FormatError,
  type FormatErrorCode,
} from "../../worker/diloco/format/index.ts";
import { blobId } from "../../worker/diloco/hash.ts";
import { layoutOf, lowRankMatrix, randomVector } from "./fixtures/matrices.ts";

const layout = layoutOf([
  { name: "m", shape: [8, 6], kind: "matrix" },
  { name: "v", shape: [5], kind: "vector" },
]);

/** m: low-rank rank 2, 4-bit, block 16; v: 4-bit dense. Offsets below are the format spec applied to this layout. */
function sampleUpdate(): Uint8Array {
  const d = new Float32Array(layout.size);
  d.set(lowRankMatrix(8, 6, [1, 0.5, 0.1], 1), 0);
  d.set(randomVector(5, 2), 48);
  const cfg = { ...DILOCOX_COMPRESSION, blockSize: 16, minRank: 2, maxRank: 2 };
  return encodeUpdate(compressUpdate(d, null, layout, cfg, { seed: 1, round: 0, worker: 0 }).update);
}
const OFF = {
  version: 4,
  flags: 6,
  blockSize: 8,
  tensorCount: 12,
  m: { nameLen: 16, kind: 18, dtype: 19, ndim: 20, dim0: 21 },
  t0: { mode: 38, bits: 39, rank: 40, uScale: 42, uCodes: 46, wScale: 54, wCodes: 58 },
  t1: { mode: 64, bits: 65, rank: 66, scale: 68, codes: 72 },
  total: 75,
};

function sampleState(kind: "global" | "params" | "residual" = "global"): Uint8Array {
  const values = randomVector(layout.size, 5);
  return encodeState({ kind, step: 7, layout, values, momentum: kind === "global" ? randomVector(layout.size, 6, 0.1) : undefined });
}

function expectCode(fn: () => unknown, code: FormatErrorCode, msg?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (msg) assert.match(e.message, msg);
    return true;
  });
}

function patched(bytes: Uint8Array, at: number, ...values: number[]): Uint8Array {
  const b = bytes.slice();
  values.forEach((v, i) => (b[at + i] = v));
  return b;
}

function setF32(bytes: Uint8Array, at: number, v: number): Uint8Array {
  const b = bytes.slice();
  new DataView(b.buffer).setFloat32(at, v, true);
  return b;
}

test("the sample update has the documented byte layout", () => {
  const b = sampleUpdate();
  assert.equal(b.length, OFF.total);
  assert.deepEqual([...b.subarray(0, 4)], [0x44, 0x4c, 0x58, 0x55]);
  assert.equal(b[OFF.t0.mode], 2);
  assert.equal(b[OFF.t0.bits], 4);
  assert.equal(b[OFF.t0.rank], 2);
  assert.equal(b[OFF.t1.mode], 1);
});

test("golden bytes: a raw update and a global state encode exactly as specified", () => {
  const l = layoutOf([{ name: "b", shape: [2], kind: "vector" }]);
  const u = encodeUpdate({ layout: l, blockSize: 64, tensors: [{ mode: "raw", values: Float32Array.from([1, -2]) }] });
  const hex = Buffer.from(u).toString("hex");
  assert.equal(hex, "444c5855" + "0100" + "0000" + "40000000" + "01000000" + "01" + "62" + "01" + "01" + "01" + "02000000" + "00" + "20" + "0000" + "0000803f" + "000000c0");
  const s = encodeState({ kind: "global", step: 3, layout: l, values: Float32Array.from([0.5, 0]), momentum: Float32Array.from([0, -1]) });
  assert.equal(
    Buffer.from(s).toString("hex"),
    "444c5853" + "0100" + "01" + "00" + "03000000" + "01000000" + "01" + "62" + "01" + "01" + "01" + "02000000" + "0000003f" + "00000000" + "00000000" + "000080bf",
  );
  const q = encodeUpdate({
    layout: l,
    blockSize: 64,
    tensors: [{ mode: "quant", q: { bits: 2, count: 2, scales: Float32Array.from([1]), codes: Uint8Array.from([0, 2]) } }],
  });
  // mode 1, bits 2, rank 0, scale 1.0, codes 0 | 2<<2 = 0x08
  assert.equal(Buffer.from(q).toString("hex").slice(-18), "01020000" + "0000803f" + "08");
});

test("round trips are canonical: decode(encode(x)) re-encodes to the same bytes and value", () => {
  const b = sampleUpdate();
  const u = decodeUpdate(b, { expectedLayout: layout, expectedBlockSize: 16 });
  assert.deepEqual(encodeUpdate(u), b);
  assert.equal(decompressUpdate(u).length, layout.size);
  for (const kind of ["global", "params", "residual"] as const) {
    const s = sampleState(kind);
    const d = decodeState(s, { expectedLayout: layout, expectedKind: kind });
    assert.equal(d.kind, kind);
    assert.equal(d.step, 7);
    assert.equal(d.momentum !== undefined, kind === "global");
    assert.deepEqual(encodeState(d), s);
  }
  const raw = encodeUpdate(compressUpdate(randomVector(layout.size, 9), null, layout, FP32_COMPRESSION, { seed: 0, round: 0, worker: 0 }).update);
  assert.deepEqual(encodeUpdate(decodeUpdate(raw)), raw);
  assert.match(blobId(b), /^0x[0-9a-f]{64}$/);
});

test("bad magic", () => {
  expectCode(() => decodeUpdate(patched(sampleUpdate(), 0, 0x50)), "BAD_MAGIC", /DLXU/);
  expectCode(() => decodeState(patched(sampleState(), 3, 0x55)), "BAD_MAGIC", /DLXS/);
  expectCode(() => decodeState(sampleUpdate()), "BAD_MAGIC");
  expectCode(() => decodeUpdate(sampleState()), "BAD_MAGIC");
});

test("unknown version", () => {
  expectCode(() => decodeUpdate(patched(sampleUpdate(), OFF.version, 3, 0)), "UNKNOWN_VERSION", /version 3/);
  expectCode(() => decodeUpdate(patched(sampleUpdate(), OFF.version, 2, 0)), "NON_CANONICAL", /version 2 with flags 0/);
  expectCode(() => decodeUpdate(patched(sampleUpdate(), OFF.version, 0, 0)), "UNKNOWN_VERSION");
  expectCode(() => decodeState(patched(sampleState(), OFF.version, 0, 1)), "UNKNOWN_VERSION", /version 256/);
});

test("truncated: every proper prefix is rejected as TRUNCATED", () => {
  for (const blob of [sampleUpdate(), sampleState("global"), sampleState("residual")]) {
    const decode = blob[3] === 0x55 ? (b: Uint8Array) => decodeUpdate(b) : (b: Uint8Array) => decodeState(b);
    for (let n = 0; n < blob.length; n++) expectCode(() => decode(blob.subarray(0, n)), "TRUNCATED");
  }
});

test("trailing bytes", () => {
  for (const blob of [sampleUpdate(), sampleState()]) {
    const longer = new Uint8Array(blob.length + 1);
    longer.set(blob);
    const decode = blob[3] === 0x55 ? (b: Uint8Array) => decodeUpdate(b) : (b: Uint8Array) => decodeState(b);
    expectCode(() => decode(longer), "TRAILING_BYTES", /1 unexpected byte/);
  }
});

test("wrong shapes, names, kinds or tensor count versus the expected layout", () => {
  const b = sampleUpdate();
  const s = sampleState();
  const other = (specs: Parameters<typeof layoutOf>[0]) => layoutOf(specs);
  const wrongShape = other([{ name: "m", shape: [6, 8], kind: "matrix" }, { name: "v", shape: [5], kind: "vector" }]);
  expectCode(() => decodeUpdate(b, { expectedLayout: wrongShape }), "LAYOUT_MISMATCH", /shape \[8,6\], expected \[6,8\]/);
  expectCode(() => decodeState(s, { expectedLayout: wrongShape }), "LAYOUT_MISMATCH");
  const wrongName = other([{ name: "m", shape: [8, 6], kind: "matrix" }, { name: "w", shape: [5], kind: "vector" }]);
  expectCode(() => decodeUpdate(b, { expectedLayout: wrongName }), "LAYOUT_MISMATCH", /'v', expected 'w'/);
  const wrongKind = other([{ name: "m", shape: [8, 6], kind: "vector" }, { name: "v", shape: [5], kind: "vector" }]);
  expectCode(() => decodeUpdate(b, { expectedLayout: wrongKind }), "LAYOUT_MISMATCH", /is a matrix, expected a vector/);
  const fewer = other([{ name: "m", shape: [8, 6], kind: "matrix" }]);
  expectCode(() => decodeUpdate(b, { expectedLayout: fewer }), "LAYOUT_MISMATCH", /2 tensors, expected 1/);
  // a shape patched in the blob itself no longer matches its payload or the expected layout
  expectCode(() => decodeUpdate(patched(b, OFF.m.dim0, 9), { expectedLayout: layout }), "LAYOUT_MISMATCH");
  expectCode(() => decodeUpdate(patched(b, OFF.m.dim0, 0)), "BAD_LAYOUT", /dimension 0 is 0/);
  expectCode(() => decodeUpdate(patched(b, OFF.m.ndim, 0)), "BAD_LAYOUT", /ndim 0/);
  expectCode(() => decodeUpdate(patched(b, OFF.m.kind, 7)), "BAD_LAYOUT", /unknown kind 7/);
  expectCode(() => decodeUpdate(patched(b, OFF.m.dtype, 2)), "BAD_LAYOUT", /dtype 2/);
  expectCode(() => decodeUpdate(patched(b, OFF.m.nameLen + 1, 0x20)), "BAD_LAYOUT", /printable/);
  expectCode(() => decodeUpdate(patched(b, OFF.m.nameLen + 1, 0x76)), "BAD_LAYOUT", /duplicate/);
  expectCode(() => decodeUpdate(b, { expectedBlockSize: 64 }), "BAD_FIELD", /blockSize 16, expected 64/);
});

test("NaN and Infinity are rejected wherever a float sits", () => {
  const s = sampleState();
  const headerLen = s.length - 2 * 4 * layout.size;
  expectCode(() => decodeState(setF32(s, headerLen + 4 * 3, NaN)), "NON_FINITE", /params\[3\]/);
  expectCode(() => decodeState(setF32(s, headerLen + 4 * (layout.size + 1), -Infinity)), "NON_FINITE", /momentum\[1\]/);
  const b = sampleUpdate();
  expectCode(() => decodeUpdate(setF32(b, OFF.t0.uScale, Infinity)), "NON_FINITE", /scales\[0\]/);
  expectCode(() => decodeUpdate(setF32(b, OFF.t1.scale, NaN)), "NON_FINITE");
  const l = layoutOf([{ name: "b", shape: [2], kind: "vector" }]);
  const raw = encodeUpdate({ layout: l, blockSize: 64, tensors: [{ mode: "raw", values: Float32Array.from([1, 2]) }] });
  expectCode(() => decodeUpdate(setF32(raw, raw.length - 4, NaN)), "NON_FINITE", /values\[1\]/);
  expectCode(() => encodeState({ kind: "params", step: 0, layout: l, values: Float32Array.from([0, Infinity]) }), "NON_FINITE");
  expectCode(() => encodeUpdate({ layout: l, blockSize: 64, tensors: [{ mode: "raw", values: Float32Array.from([NaN, 0]) }] }), "NON_FINITE");
});

test("oversize: byte, element and tensor-count limits", () => {
  const b = sampleUpdate();
  expectCode(() => decodeUpdate(b, { limits: { maxBytes: b.length - 1 } }), "OVERSIZE", /limit is 74/);
  decodeUpdate(b, { limits: { maxBytes: b.length } });
  expectCode(() => decodeUpdate(b, { limits: { maxElements: 50 } }), "OVERSIZE", /element limit 50/);
  expectCode(() => decodeUpdate(b, { limits: { maxTensors: 1 } }), "OVERSIZE", /2 tensors/);
  const s = sampleState();
  expectCode(() => decodeState(s, { limits: { maxBytes: 100 } }), "OVERSIZE");
  // a header claiming a 2^32-1 × 2^32-1 tensor is refused before any allocation
  expectCode(() => decodeUpdate(patched(b, OFF.m.dim0, 0xff, 0xff, 0xff, 0xff)), "OVERSIZE");
});

test("bits out of range", () => {
  const b = sampleUpdate();
  expectCode(() => decodeUpdate(patched(b, OFF.t0.bits, 1)), "BITS_OUT_OF_RANGE", /bits 1 not in 2..8/);
  expectCode(() => decodeUpdate(patched(b, OFF.t1.bits, 9)), "BITS_OUT_OF_RANGE");
  expectCode(() => decodeUpdate(patched(b, OFF.t1.mode, 0)), "BITS_OUT_OF_RANGE", /raw mode needs bits = 32/);
});

test("rank out of range", () => {
  const b = sampleUpdate();
  expectCode(() => decodeUpdate(patched(b, OFF.t0.rank, 0, 0)), "RANK_OUT_OF_RANGE", /rank 0 not in 1..6/);
  expectCode(() => decodeUpdate(patched(b, OFF.t0.rank, 7, 0)), "RANK_OUT_OF_RANGE", /rank 7/);
  expectCode(() => decodeUpdate(b, { limits: { maxRank: 1 } }), "RANK_OUT_OF_RANGE", /limit 1/);
  expectCode(() => decodeUpdate(patched(b, OFF.t1.rank, 1, 0)), "RANK_OUT_OF_RANGE", /quantised mode needs rank 0/);
});

test("non-canonical encodings and bad fields are rejected", () => {
  const b = sampleUpdate();
  expectCode(() => decodeUpdate(patched(b, OFF.flags, 1)), "NON_CANONICAL", /flags/);
  expectCode(() => decodeUpdate(patched(b, OFF.t1.codes + 2, b[OFF.t1.codes + 2] | 0xf0)), "NON_CANONICAL", /padding/);
  expectCode(() => decodeUpdate(setF32(b, OFF.t0.uScale, -new DataView(b.buffer).getFloat32(OFF.t0.uScale, true))), "NON_CANONICAL", /negative/);
  expectCode(() => decodeUpdate(setF32(b, OFF.t0.uScale, 0)), "NON_CANONICAL", /scale 0 but non-zero code/);
  expectCode(() => decodeUpdate(setF32(b, OFF.t0.uScale, 1e-40)), "NON_CANONICAL", /subnormal/);
  expectCode(() => decodeUpdate(patched(b, OFF.t0.uCodes, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77)), "NON_CANONICAL", /no code at 0 or 15/);
  expectCode(() => decodeUpdate(patched(b, OFF.t1.mode, 3)), "BAD_FIELD", /unknown mode 3/);
  expectCode(() => decodeUpdate(patched(b, OFF.t1.mode, 2, 4, 1, 0)), "BAD_FIELD", /low-rank mode on a vector/);
  expectCode(() => decodeUpdate(patched(b, OFF.blockSize, 0, 0, 0, 0)), "BAD_FIELD", /blockSize 0/);
  const s = sampleState();
  expectCode(() => decodeState(patched(s, 7, 1)), "NON_CANONICAL", /reserved/);
  expectCode(() => decodeState(patched(s, 6, 9)), "BAD_FIELD", /unknown state kind 9/);
  expectCode(() => decodeState(s, { expectedKind: "params" }), "BAD_FIELD", /expected "params"/);
  // the decoder never accepts what the encoder would refuse to write
  expectCode(
    () => encodeUpdate({ layout, blockSize: 16, tensors: [{ mode: "raw", values: new Float32Array(48) }, { mode: "quant", q: { bits: 4, count: 5, scales: Float32Array.from([1]), codes: new Uint8Array(5).fill(7) } }] }),
    "NON_CANONICAL",
  );
});
