/**
 * Export to the Hugging Face layout: model.safetensors + config.json written for each family, loaded
 * back by an independent PyTorch loader (scripts/hf/load_hf.py: safetensors parsed by hand, the HF
 * forward pass of LlamaForCausalLM / GPT2LMHeadModel in float64), whose logits must match the project's
 * jax-js forward pass; the folder also reads back bit for bit and `generateTokens` samples from it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createTrainer, DEFAULT_INNER_OPT, paramCount } from "../../worker/diloco/trainer/index.ts";
import { defaultPython } from "../../worker/diloco/trainer/torch-trainer.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import { charTokenizer, gpt2Tokenizer, hfTokenizer } from "../../worker/diloco/data/tokenizer.ts";
import { sequenceLogits, generateTokens } from "../../worker/diloco/model/generate.ts";
import { readModelDir, writeModelDir } from "../../cli/poster/export-model.ts";
import { decodeSafetensors } from "../../worker/diloco/export/safetensors.ts";
import type { ModelConfig } from "../../worker/diloco/types.ts";

const LOADER = fileURLToPath(new URL("../../scripts/hf/load_hf.py", import.meta.url));
const shard = makeShards(loadCorpus(), { workers: 8 }).shards[1];
const tok = charTokenizer();
const CASES: [string, ModelConfig][] = [
  ["llama (untied)", { vocabSize: 96, contextLength: 16, dModel: 32, nHeads: 4, nLayers: 2, dMlp: 48, family: "llama" }],
  ["llama (tied)", { vocabSize: 96, contextLength: 16, dModel: 32, nHeads: 2, nLayers: 1, dMlp: 64, family: "llama", tieEmbeddings: true }],
  ["gpt2", { vocabSize: 96, contextLength: 16, dModel: 32, nHeads: 4, nLayers: 2, dMlp: 64 }],
];

for (const [name, config] of CASES) {
  test(`${name}: exported safetensors load in PyTorch with the same logits`, async () => {
    const trainer = await createTrainer(config, { ...DEFAULT_INNER_OPT, warmupSteps: 2, totalSteps: 20 });
    const trained = await trainer.train({ params: await trainer.initParams(2), steps: 20, batchSize: 8, shard, seed: 3, round: 0, workerIndex: 0, stepOffset: 0 });
    trainer.dispose();
    const dir = mkdtempSync(path.join(tmpdir(), "hf-export-"));
    try {
      const files = await writeModelDir(dir, config, trained.params, { file: { kind: tok.kind, hash: tok.hash, vocabSize: tok.vocabSize, separatorId: tok.separatorId } });
      assert.deepEqual(files.sort(), ["config.json", "diloco_tokenizer.json", "generation_config.json", "model.safetensors", "vocab.json"]);
      const vocab = JSON.parse(readFileSync(path.join(dir, "vocab.json"), "utf8"));
      assert.equal(vocab.id_to_token.length, 96);
      assert.deepEqual([vocab.id_to_token[0], vocab.id_to_token[1], vocab.id_to_token[34]], ["\n", " ", "A"], "the char mapping is documented");
      const cfg = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
      assert.equal(cfg.model_type, config.family ?? "gpt2");
      const st = decodeSafetensors(new Uint8Array(readFileSync(path.join(dir, "model.safetensors"))));
      if (config.family === "llama") {
        assert.ok(st.tensors.has("model.layers.0.self_attn.q_proj.weight"));
        assert.equal(st.tensors.has("lm_head.weight"), !config.tieEmbeddings);
      } else assert.ok(st.tensors.has("transformer.h.1.attn.c_attn.weight"));

      const back = await readModelDir(dir);
      assert.deepEqual(Buffer.from(back.params.buffer), Buffer.from(trained.params.buffer), "params read back bit for bit");

      const ids = Array.from(tok.encode("The Congress sha"));
      const ours = await sequenceLogits(config, trained.params, ids);
      const res = spawnSync(defaultPython(), [LOADER, dir, JSON.stringify([ids])], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" }, maxBuffer: 1 << 26 });
      assert.equal(res.status, 0, res.stderr);
      const theirs = (JSON.parse(res.stdout).logits as number[][][])[0].flat();
      assert.equal(theirs.length, ours.length);
      let maxDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < ours.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
        maxAbs = Math.max(maxAbs, Math.abs(theirs[i]));
      }
      assert.ok(maxAbs > 0.1, "logits are not trivial");
      assert.ok(maxDiff < 1e-4 * Math.max(1, maxAbs), `logit difference ${maxDiff} (max |logit| ${maxAbs})`);

      const sample = await generateTokens(back.config, back.params, ids, { tokens: 12, temperature: 0.8, seed: 1 });
      assert.equal(sample.length, 12);
      assert.ok(sample.every((t) => t >= 0 && t < config.vocabSize));
      assert.equal(typeof back.tokenizer.decode(sample), "string");
      const greedy1 = await generateTokens(back.config, back.params, ids, { tokens: 5, temperature: 0 });
      const greedy2 = await generateTokens(back.config, back.params, ids, { tokens: 5, temperature: 0 });
      assert.deepEqual(greedy1, greedy2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("gpt2 datasets: the export writes a Hugging Face tokenizer.json that tokenises like js-tiktoken", async () => {
  const config: ModelConfig = { vocabSize: 50257, contextLength: 8, dModel: 8, nHeads: 2, nLayers: 1, dMlp: 16 };
  const params = new Float32Array(paramCount(config));
  const gpt2 = gpt2Tokenizer();
  const dir = mkdtempSync(path.join(tmpdir(), "hf-export-gpt2-"));
  try {
    const files = await writeModelDir(dir, config, params, { file: { kind: gpt2.kind, hash: gpt2.hash, vocabSize: gpt2.vocabSize, separatorId: gpt2.separatorId } });
    assert.deepEqual(files.sort(), ["config.json", "diloco_tokenizer.json", "generation_config.json", "model.safetensors", "tokenizer.json"]);
    // loaded back by @huggingface/tokenizers, not by the code that wrote it
    const hf = hfTokenizer(new Uint8Array(readFileSync(path.join(dir, "tokenizer.json"))));
    assert.equal(hf.vocabSize, 50257);
    assert.equal(hf.separatorId, 50256, "<|endoftext|> is the added special token");
    assert.deepEqual(hf.encode("The Congress shall"), [464, 3162, 2236]);
    const text = `${readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8").slice(0, 6000)}\n Déjà vu: naïve café, 日本語, emoji 🚀, tabs\t\tand   runs of spaces, numbers 1234567 and 3.14159.`;
    const ids = hf.encode(text);
    assert.deepEqual(ids, gpt2.encode(text), "same ids as js-tiktoken's gpt2 encoding");
    assert.equal(gpt2.decode(ids), text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
