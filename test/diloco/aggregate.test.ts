import { test } from "node:test";
import assert from "node:assert/strict";
import {
  aggregateBlobs,
  aggregateUpdates,
  AggregationError,
  canonicalOrder,
  meanInOrder,
  type WorkerUpdate,
} from "../../worker/diloco/aggregate/index.ts";
import { compressUpdate, decompressUpdate, DILOCOX_COMPRESSION, type CompressedUpdate } from "../../worker/diloco/compress/index.ts";
import { encodeUpdate } from "../../worker/diloco/format/index.ts";
import { blobId } from "../../worker/diloco/hash.ts";
import { layoutOf, lcg, randomVector } from "./fixtures/matrices.ts";

const layout = layoutOf([
  { name: "w", shape: [16, 12], kind: "matrix" },
  { name: "b", shape: [12], kind: "vector" },
]);
const addr = (n: number) => "0x" + n.toString(16).padStart(40, "0");
const raw = (values: number[]): CompressedUpdate => {
  const l = layoutOf([{ name: "x", shape: [values.length], kind: "vector" }]);
  return { layout: l, blockSize: 64, tensors: [{ mode: "raw", values: Float32Array.from(values) }] };
};

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

function workerUpdates(k: number): WorkerUpdate[] {
  const rnd = lcg(99);
  return Array.from({ length: k }, (_, i) => ({
    // scrambled, mixed-case addresses
    worker: ("0x" + Math.floor((rnd() + 0.5) * 2 ** 31).toString(16).padStart(40, "a")).replace(/a/g, i % 2 ? "A" : "a"),
    update: compressUpdate(randomVector(layout.size, 200 + i, 10 ** (i - 2)), null, layout, DILOCOX_COMPRESSION, { seed: 1, round: 0, worker: i }).update,
  }));
}

test("float32 addition is not associative, so the canonical order decides the bits", () => {
  // 1e8 + 1 rounds back to 1e8 in float32: (1e8 + 1) − 1e8 = 0, but (1e8 − 1e8) + 1 = 1
  const entries: WorkerUpdate[] = [
    { worker: addr(3), update: raw([-1e8]) },
    { worker: addr(1), update: raw([1e8]) },
    { worker: addr(2), update: raw([1]) },
  ];
  const l = entries[0].update.layout;
  for (const p of permutations(entries)) {
    assert.deepEqual(aggregateUpdates(p, l), Float32Array.from([0]), "ascending address order: 1e8, 1, −1e8");
  }
  // the same values in a different address order give a different (also canonical) answer
  const swapped = entries.map((e) => (e.worker === addr(2) ? { ...e, worker: addr(4) } : e));
  assert.deepEqual(aggregateUpdates(swapped, l), Float32Array.from([Math.fround(1 / 3)]));
});

test("aggregation is independent of input order and bit-identical to an explicit float32 mean", () => {
  const ups = workerUpdates(4);
  const results = permutations(ups).map((p) => aggregateUpdates(p, layout));
  for (const r of results) assert.deepEqual(r, results[0]);
  const sorted = [...ups].sort((a, b) => (a.worker.toLowerCase() < b.worker.toLowerCase() ? -1 : 1));
  const acc = new Float32Array(layout.size);
  for (const u of sorted) {
    const d = decompressUpdate(u.update);
    for (let i = 0; i < acc.length; i++) acc[i] = Math.fround(acc[i] + d[i]);
  }
  for (let i = 0; i < acc.length; i++) acc[i] = Math.fround(acc[i] / 4);
  assert.deepEqual(results[0], acc);
  assert.deepEqual(meanInOrder(sorted.map((u) => decompressUpdate(u.update))), acc);
});

test("canonical order: ascending 20-byte address, case-insensitive; duplicates and bad addresses refused", () => {
  const order = canonicalOrder([{ worker: "0xB" + "0".repeat(39) }, { worker: "0x0" + "f".repeat(39) }, { worker: "0xa" + "1".repeat(39) }]);
  assert.deepEqual(order.map((e) => e.worker[2]), ["0", "a", "B"]);
  assert.throws(() => canonicalOrder([{ worker: addr(1) }, { worker: addr(1).toUpperCase().replace("0X", "0x") }]), /duplicate/);
  assert.throws(() => canonicalOrder([{ worker: "0x1234" }]), /not a 20-byte hex address/);
  assert.throws(() => aggregateUpdates([], layout), AggregationError);
});

test("blobs: verified against the committed hash, decoded against the job layout, errors name the worker", () => {
  const ups = workerUpdates(3);
  const blobs = ups.map((u) => {
    const bytes = encodeUpdate(u.update);
    return { worker: u.worker, bytes, committedHash: blobId(bytes) };
  });
  assert.deepEqual(aggregateBlobs([...blobs].reverse(), layout), aggregateUpdates(ups, layout));
  const tampered = blobs.map((b, i) => (i === 1 ? { ...b, bytes: b.bytes.map((x, j) => (j === b.bytes.length - 1 ? x ^ 1 : x)) } : b));
  assert.throws(() => aggregateBlobs(tampered, layout), (e: unknown) => e instanceof AggregationError && e.worker === blobs[1].worker && /hashes to/.test(e.message));
  const truncated = blobs.map((b, i) => (i === 2 ? { worker: b.worker, bytes: b.bytes.subarray(0, 20) } : b));
  assert.throws(() => aggregateBlobs(truncated, layout), (e: unknown) => e instanceof AggregationError && e.worker === blobs[2].worker && /TRUNCATED/.test(e.message));
  const otherLayout = layoutOf([{ name: "w", shape: [12, 16], kind: "matrix" }, { name: "b", shape: [12], kind: "vector" }]);
  assert.throws(() => aggregateBlobs(blobs, otherLayout), /LAYOUT_MISMATCH/);
});
