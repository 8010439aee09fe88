/**
 * Datasets: packing with each tokenizer kind (char, byte, GPT-2 BPE, a Hugging Face tokenizer.json),
 * the shard and manifest formats and their validation, deterministic per-round shard assignment, and a
 * worker's DatasetSource fetching only its shards from a real blob store, verifying and caching them.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { keccak256 } from "viem";
import { assignShards, decodeManifest, decodeShard, encodeManifest, encodeShard, packDataset, DatasetError } from "../../worker/diloco/data/dataset.ts";
import { byteTokenizer, charTokenizer, gpt2Tokenizer, hfTokenizer } from "../../worker/diloco/data/tokenizer.ts";
import { LocalDirBlobStore } from "../../blobstore/local-dir.ts";
import { DatasetSource } from "../../worker/node/dataset-source.ts";
import { checkJobDataset } from "../../worker/node/job-context.ts";
import { packFolder, uploadFolder } from "../../cli/dataset.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import type { BlobStore } from "../../blobstore/types.ts";
import type { Hex } from "viem";

const TEXT = ["The Congress shall have power to lay and collect taxes.", "We the people of the United States, in order to form a more perfect union.", "Fellow citizens of the Senate and House of Representatives."];

/** A small Hugging Face tokenizer.json (WordLevel model, whitespace pre-tokenizer): a real file format the library loads. */
function wordLevelJson(): Uint8Array {
  const words = ["[UNK]", "<|endoftext|>", ...new Set(TEXT.join(" ").split(/\s+|(?=[.,])/).filter(Boolean))];
  const vocab = Object.fromEntries(words.map((w, i) => [w, i]));
  return new TextEncoder().encode(JSON.stringify({
    version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: 1, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null, pre_tokenizer: { type: "Whitespace" }, post_processor: null, decoder: null,
    model: { type: "WordLevel", vocab, unk_token: "[UNK]" },
  }));
}

describe("tokenizers", () => {
  it("encode and decode with every kind", () => {
    for (const tok of [charTokenizer(), byteTokenizer(), gpt2Tokenizer(), hfTokenizer(wordLevelJson())]) {
      const ids = tok.encode(TEXT[0]);
      assert.ok(ids.length > 0 && ids.every((i) => i >= 0 && i < tok.vocabSize), tok.kind);
      assert.match(tok.decode(ids), /Congress/);
      assert.match(tok.hash, /^0x[0-9a-f]{64}$/);
    }
    assert.deepEqual(gpt2Tokenizer().encode("Hello world"), [15496, 995]); // GPT-2's own ids
    assert.equal(gpt2Tokenizer().separatorId, 50256);
    assert.equal(hfTokenizer(wordLevelJson()).separatorId, 1);
    assert.throws(() => hfTokenizer(new TextEncoder().encode("{}")), /no model.vocab/);
  });
});

describe("packing and formats", () => {
  const docs = Array.from({ length: 12 }, (_, i) => charTokenizer().encode(`${TEXT[i % 3]} (${i})`));
  const packed = packDataset({ name: "t", tokenizer: charTokenizer(), documents: docs, shardTokens: 100, evalEvery: 4 });

  it("cuts fixed-size shards, holds out every n-th document, and content-addresses every blob", () => {
    const m = packed.manifest;
    assert.deepEqual(m.documents, { train: 9, eval: 3 });
    assert.equal(m.dtype, "uint16");
    assert.ok(m.train.slice(0, -1).every((s) => s.tokens === 100));
    const trainTokens = m.train.reduce((a, s) => a + s.tokens, 0);
    assert.equal(trainTokens, docs.filter((_, i) => i % 4 !== 3).reduce((a, d) => a + d.length, 0) + 8); // + separators
    for (const [h, b] of packed.blobs) assert.equal(keccak256(b), h);
    assert.deepEqual(decodeManifest(packed.manifestBytes), m);
    const again = packDataset({ name: "t", tokenizer: charTokenizer(), documents: docs, shardTokens: 100, evalEvery: 4 });
    assert.equal(again.manifestHash, packed.manifestHash, "packing is deterministic");
  });

  it("rejects bad manifests and shards with messages naming the problem", () => {
    const m = JSON.parse(new TextDecoder().decode(packed.manifestBytes));
    const bad = (f: (x: any) => void, re: RegExp) => {
      const c = structuredClone(m);
      f(c);
      assert.throws(() => decodeManifest(encodeManifest(c)), re);
    };
    bad((c) => (c.tokenizer.kind = "sentencepiece"), /tokenizer.kind is unknown/);
    bad((c) => (c.train = []), /train must list at least one shard/);
    bad((c) => (c.train[0].tokens = 0), /empty shard/);
    bad((c) => (c.train[0].hash = "0x12"), /train\[0\]\.hash/);
    bad((c) => (c.dtype = "uint32"), /dtype must be uint16/);
    assert.throws(() => decodeManifest(new TextEncoder().encode(JSON.stringify(m, null, 1))), /canonical/);
    const shard = encodeShard(Uint16Array.from([1, 2, 3]));
    assert.deepEqual(Array.from(decodeShard(shard, { dtype: "uint16", tokens: 3, vocabSize: 96 })), [1, 2, 3]);
    assert.throws(() => decodeShard(shard, { dtype: "uint16", tokens: 4, vocabSize: 96 }), /3 tokens, the manifest says 4/);
    assert.throws(() => decodeShard(shard, { dtype: "uint16", tokens: 3, vocabSize: 3 }), /outside the vocabulary/);
    assert.throws(() => decodeShard(shard, { dtype: "uint32", tokens: 3, vocabSize: 96 }), /16-bit tokens/);
    assert.throws(() => packDataset({ name: "x", tokenizer: charTokenizer(), documents: [docs[0]], shardTokens: 10, evalEvery: 2 }), DatasetError);
  });

  it("assigns shards per round deterministically, disjoint across workers when there are enough", () => {
    const a = [0, 1, 2].map((w) => assignShards(10, { seed: 7n, round: 3, workerIndex: w, shardsPerRound: 3 }));
    assert.deepEqual(a, [0, 1, 2].map((w) => assignShards(10, { seed: 7n, round: 3, workerIndex: w, shardsPerRound: 3 })));
    assert.equal(new Set(a.flat()).size, 9);
    assert.notDeepEqual(a[0], assignShards(10, { seed: 7n, round: 4, workerIndex: 0, shardsPerRound: 3 }));
  });
});

describe("packing a folder, uploading it, and fetching a worker's shards", () => {
  it("packs text files with GPT-2 BPE, uploads them, and the worker fetches, verifies and caches only its shards", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "dataset-"));
    try {
      const inDir = path.join(root, "in");
      mkdirSync(inDir);
      for (let i = 0; i < 8; i++) writeFileSync(path.join(inDir, `doc${i}.txt`), `${TEXT[i % 3]} Section ${i}. `.repeat(20));
      writeFileSync(path.join(root, "extra.jsonl"), `${JSON.stringify({ text: TEXT[1] })}\n${JSON.stringify({ text: TEXT[2] })}\n`);
      const packed = await packFolder({ inputs: [inDir, path.join(root, "extra.jsonl")], tokenizer: "gpt2", out: path.join(root, "packed"), shardTokens: 64, evalEvery: 5 });
      assert.equal(packed.manifest.tokenizer.kind, "gpt2");
      assert.equal(packed.manifest.documents.train + packed.manifest.documents.eval, 10);
      const store = new LocalDirBlobStore(path.join(root, "store"));
      const up = await uploadFolder(path.join(root, "packed"), store);
      assert.equal(up.manifestHash, packed.manifestHash);

      const gets: Hex[] = [];
      const counting: BlobStore = { put: (b) => store.put(b), has: (h) => store.has(h), get: (h) => (gets.push(h), store.get(h)) };
      const cache = path.join(root, "cache");
      const ds = await DatasetSource.open(up.manifestHash, counting, cache);
      const toks = await ds.roundTokens({ seed: 1n, round: 0, workerIndex: 1, shardsPerRound: 2 });
      const idx = assignShards(ds.manifest.train.length, { seed: 1n, round: 0, workerIndex: 1, shardsPerRound: 2 });
      assert.equal(toks.length, idx.reduce((a, i) => a + ds.manifest.train[i].tokens, 0));
      assert.equal(gets.length, 1 + new Set(idx).size, "manifest + only the assigned shards");
      assert.equal(readdirSync(cache).length, new Set(idx).size);
      await ds.roundTokens({ seed: 1n, round: 0, workerIndex: 1, shardsPerRound: 2 });
      assert.equal(gets.length, 1 + new Set(idx).size, "second read comes from the cache");

      const spec = makeSpec({ modelConfig: { family: "llama", vocabSize: 1000, contextLength: 16, dModel: 16, nHeads: 2, nLayers: 1, dMlp: 32 }, dataset: { hash: up.manifestHash, shardsPerRound: 2 } });
      await assert.rejects(checkJobDataset(spec, store), /50257 tokens, more than the model's vocabSize 1000/);
      const missing = makeSpec({ modelConfig: { family: "llama", vocabSize: 50257, contextLength: 16, dModel: 16, nHeads: 2, nLayers: 1, dMlp: 32 }, dataset: { hash: keccak256("0x01"), shardsPerRound: 2 } });
      await assert.rejects(checkJobDataset(missing, store), /manifest unavailable/);
      const tamper = path.join(root, "packed", `${packed.manifest.train[0].hash}.blob`);
      writeFileSync(tamper, "garbage");
      await assert.rejects(uploadFolder(path.join(root, "packed"), store), /damaged file/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
