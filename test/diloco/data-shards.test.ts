/** Corpus, vocabulary, evaluation hold-out, worker shards and batch sampling. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCorpus, makeShards, sampleBatch, encode, decode, normalizeText, VOCAB_SIZE, evalOffsets } from "../../worker/diloco/data/index.ts";
import { rngFor } from "../../worker/diloco/rng.ts";

const corpus = loadCorpus();

function indexOf(hay: Uint8Array | Uint16Array | Uint32Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength));
}

test("corpus: 233 State of the Union addresses, ~10.7 M characters, all ids inside the vocabulary", () => {
  assert.equal(corpus.documents.length, 233);
  assert.equal(corpus.documents[0].id, "1790_george_washington_n");
  const total = corpus.documents.reduce((a, d) => a + d.tokens.length, 0);
  assert.ok(total > 10_000_000 && total < 11_500_000, `total ${total}`);
  for (const d of corpus.documents) assert.ok(d.tokens.every((t) => t < VOCAB_SIZE), d.id);
  assert.match(decode(corpus.documents[0].tokens.subarray(0, 40)), /^Fellow-Citizens of the Senate and House/);
  assert.equal(loadCorpus(), corpus, "cached");
});

test("vocabulary: 96 symbols, ASCII round-trips, typographic characters normalised", () => {
  const ascii = "Hello, World! 0-9 ~{}[]\nnext line";
  assert.equal(decode(encode(ascii)), ascii);
  assert.equal(normalizeText("It’s “fine” — café…\tok\r\n"), `It's "fine" -- cafe...` + " ok\n");
  assert.equal(normalizeText("emoji 😀 here"), "emoji ? here");
  assert.throws(() => decode([96]), /outside the vocabulary/);
});

test("shards: disjoint, covering the training stream, eval documents held out", () => {
  const K = 4;
  const s = makeShards(corpus, { workers: K, chunkSize: 4096 });
  assert.equal(s.shards.length, K);
  // Eval and train documents partition the corpus.
  assert.equal(s.evalDocumentIds.length + s.trainDocumentIds.length, corpus.documents.length);
  assert.equal(new Set([...s.evalDocumentIds, ...s.trainDocumentIds]).size, corpus.documents.length);
  assert.equal(s.evalDocumentIds.length, 23);
  // Every training token lands in exactly one shard: re-interleaving the shards' chunks gives the stream back.
  const lengths = s.shards.map((x) => x.tokens.length);
  assert.equal(lengths.reduce((a, b) => a + b, 0), s.trainTokens);
  assert.ok(Math.max(...lengths) - Math.min(...lengths) <= 4096, `balanced: ${lengths}`);
  const stream = new Uint8Array(s.trainTokens);
  const pos = new Array(K).fill(0);
  for (let c = 0, o = 0; o < stream.length; c++) {
    const w = c % K;
    const n = Math.min(4096, stream.length - o);
    stream.set(s.shards[w].tokens.subarray(pos[w], pos[w] + n), o);
    pos[w] += n;
    o += n;
  }
  const trainDocs = corpus.documents.filter((d) => s.trainDocumentIds.includes(d.id));
  let o = 0;
  for (const d of trainDocs) {
    assert.deepEqual(stream.subarray(o, o + d.tokens.length), d.tokens, `document ${d.id} at ${o}`);
    o += d.tokens.length + 1;
  }
  // No 200-character passage of an eval document appears in any shard (held out), but it does in eval.
  for (const id of s.evalDocumentIds) {
    const doc = corpus.documents.find((d) => d.id === id)!;
    const passage = doc.tokens.subarray(1000, 1200);
    for (const sh of s.shards) assert.equal(indexOf(sh.tokens, passage), -1, `eval passage of ${id} found in a shard`);
    assert.ok(indexOf(s.eval, passage) >= 0);
  }
  // A training passage is in exactly one shard.
  const passage = trainDocs[50].tokens.subarray(2000, 2200);
  assert.equal(s.shards.filter((sh) => indexOf(sh.tokens, passage) >= 0).length, 1);
  // Deterministic.
  assert.deepEqual(makeShards(corpus, { workers: K, chunkSize: 4096 }).shards[2].tokens, s.shards[2].tokens);
});

test("shard options are validated with the field named", () => {
  assert.throws(() => makeShards(corpus, { workers: 0 }), /ShardOptions\.workers/);
  assert.throws(() => makeShards(corpus, { workers: 2, chunkSize: 1.5 }), /ShardOptions\.chunkSize/);
  assert.throws(() => makeShards(corpus, { workers: 2, evalEvery: 1 }), /ShardOptions\.evalEvery/);
  assert.throws(() => makeShards(corpus, { workers: 10_000, chunkSize: 1 << 20 }), /fewer than 10000 workers/);
});

test("batch sampling is a deterministic function of (seed, round, workerIndex, step)", () => {
  const shard = makeShards(corpus, { workers: 2 }).shards[0];
  const key = { seed: 123n, round: 3, workerIndex: 1, step: 7 };
  const a = sampleBatch(shard, key, 8, 64);
  const b = sampleBatch(shard, { ...key }, 8, 64);
  assert.deepEqual(a.x, b.x);
  assert.deepEqual(a.y, b.y);
  assert.equal(a.x.length, 8 * 64);
  // Targets are the inputs shifted by one token.
  for (let r = 0; r < 8; r++) for (let t = 0; t < 63; t++) assert.equal(a.y[r * 64 + t], a.x[r * 64 + t + 1]);
  // Each row is a real window of the shard.
  const row = Uint8Array.from(a.x.subarray(64, 128));
  assert.ok(indexOf(shard.tokens, row) >= 0);
  for (const change of [{ seed: 124n }, { round: 4 }, { workerIndex: 0 }, { step: 8 }]) {
    assert.notDeepEqual(sampleBatch(shard, { ...key, ...change }, 8, 64).x, a.x, JSON.stringify(change, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
  }
  // number and bigint seeds of the same value agree.
  assert.deepEqual(sampleBatch(shard, { ...key, seed: 123 }, 8, 64).x, a.x);
  assert.throws(() => sampleBatch(shard, { ...key, step: -1 }, 8, 64), /step/);
  assert.throws(() => sampleBatch({ tokens: new Uint8Array(10) }, key, 8, 64), /at least contextLength \+ 1/);
});

test("eval windows are evenly spread and deterministic", () => {
  assert.deepEqual(evalOffsets(1000, 4, 64), [0, 234, 468, 702]);
  assert.deepEqual(evalOffsets(70, 100, 64), [0, 1, 2, 3, 4, 5]);
});

test("rng: reproducible streams, uniform-looking integers, unit normals", () => {
  const a = rngFor("t", 1n, 2);
  const b = rngFor("t", 1n, 2);
  const xs = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(Array.from({ length: 5 }, () => b.nextU32()), xs);
  assert.notDeepEqual(Array.from({ length: 5 }, () => rngFor("t", 1n, 3).nextU32()), xs);
  assert.notDeepEqual(Array.from({ length: 5 }, () => rngFor("u", 1n, 2).nextU32()), xs);
  const r = rngFor("stats");
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 20000; i++) counts[r.nextInt(10)]++;
  for (const c of counts) assert.ok(Math.abs(c - 2000) < 200, `bucket ${c}`);
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < 20000; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / 20000) < 0.03 && Math.abs(s2 / 20000 - 1) < 0.05, `mean ${s / 20000} var ${s2 / 20000}`);
});

test("loadCorpus reads any folder of .txt documents in name order", () => {
  const dir = mkdtempSync(join(tmpdir(), "corpus-"));
  try {
    writeFileSync(join(dir, "b.txt"), "second");
    writeFileSync(join(dir, "a.txt"), "first\r\n");
    writeFileSync(join(dir, "ignored.json"), "{}");
    const c = loadCorpus({ dir });
    assert.deepEqual(c.documents.map((d) => [d.id, decode(d.tokens)]), [["a", "first"], ["b", "second"]]);
    assert.throws(() => loadCorpus({ dir: join(dir, "missing") }), /cannot read the corpus folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
