/**
 * Issue 10 end to end, with real processes on a real chain: a poster packs a few text files with the
 * GPT-2 BPE tokenizer into a content-addressed dataset and uploads it, posts a Llama-style job pinned to
 * this machine's PyTorch determinism class; two workers on the PyTorch backend train it to completion
 * while a jax-js worker declines it (class mismatch, logged); the poster exports the final model as
 * model.safetensors + config.json (verified against the on-chain hash), an auditor replays a worker bit
 * for bit within the class and within tolerance from jax-js, an independent PyTorch loader
 * reproduces the project's logits from those files, and `market generate` samples text from them.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { keccak256 } from "viem";
import { providerRegistryAbi } from "../../shared/abis.ts";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork, type WorkerProcess } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { createJobFromSpec, jobStatus } from "../../cli/poster/actions.ts";
import { packFolder, uploadFolder } from "../../cli/dataset.ts";
import { exportModel, readModelDir } from "../../cli/poster/export-model.ts";
import { probeCapabilities } from "../../worker/node/trainer-backend.ts";
import { defaultPython } from "../../worker/diloco/trainer/torch-trainer.ts";
import { sequenceLogits } from "../../worker/diloco/model/generate.ts";
import { replayWorker } from "../../worker/node/audit.ts";
import { hfTokenizer } from "../../worker/diloco/data/tokenizer.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TEXTS = [
  "The Congress shall have power to lay and collect taxes, duties, imposts and excises, to pay the debts and provide for the common defence and general welfare of the United States.",
  "We the people of the United States, in order to form a more perfect union, establish justice, insure domestic tranquility, provide for the common defence, promote the general welfare.",
  "Fellow citizens of the Senate and House of Representatives: it is with great satisfaction that I meet you again in the discharge of the public business.",
  "The President shall, from time to time, give to the Congress information of the state of the union, and recommend to their consideration such measures as he shall judge necessary.",
];

describe("a poster's own dataset and a Llama-style model, trained by PyTorch workers, exported and sampled", { timeout: 900_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork();
  });
  after(async () => net?.stop());

  it("packs, posts, trains on two PyTorch workers (a jax-js worker declines), exports safetensors and generates", async () => {
    // ---- the poster packs and uploads a dataset
    const inDir = path.join(net.dir, "texts");
    mkdirSync(inDir, { recursive: true });
    for (let i = 0; i < 10; i++) writeFileSync(path.join(inDir, `doc${String(i).padStart(2, "0")}.txt`), `${TEXTS[i % 4]} ${TEXTS[(i + 1) % 4]}\n`.repeat(3));
    const packed = await packFolder({ inputs: [inDir], tokenizer: "gpt2", out: path.join(net.dir, "packed"), shardTokens: 128, evalEvery: 5 });
    const up = await uploadFolder(path.join(net.dir, "packed"), net.blobs);
    assert.equal(up.manifestHash, packed.manifestHash);
    assert.ok(packed.manifest.train.length >= 4, `${packed.manifest.train.length} train shards`);

    // ---- job: Llama-style, GPT-2 vocabulary, pinned to this machine's PyTorch CPU class
    const caps = await probeCapabilities({ backend: "pytorch", device: "cpu", threads: 1 });
    const poster = hardhatAccount(1);
    await net.mint(poster.address, "10000");
    const spec = makeSpec({
      rounds: 2, innerSteps: 6, batchSize: 4, workers: 2, commitWindow: 180, voteWindow: 90, name: "llama on my texts",
      modelConfig: { family: "llama", vocabSize: 50257, contextLength: 16, dModel: 32, nHeads: 2, nLayers: 1, dMlp: 64, tieEmbeddings: true },
      dataset: { hash: up.manifestHash, shardsPerRound: 1, description: "a few documents, GPT-2 BPE" },
      trainer: { backend: "pytorch", determinism: caps.determinismClass, tolerance: { updateRelL2: 0.2, loss: 0.05 } },
      keepInnerState: true,
    });
    const bad = makeSpec({ modelConfig: { ...spec.model, vocabSize: 1000 }, dataset: { hash: up.manifestHash, shardsPerRound: 1 } });
    await assert.rejects(createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, bad), /more than the model's vocabSize 1000/);
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);

    // ---- providers: two PyTorch workers, one jax-js worker
    const setup: [number, string[]][] = [[2, ["--trainer", "pytorch"]], [3, ["--trainer", "pytorch"]], [4, []]];
    for (const [i, extra] of setup) {
      await net.mint(hardhatAccount(i).address, "1000");
      const key = await net.keystore(hardhatKey(i), `w${i}`);
      const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...extra, ...net.workerArgs(`w${i}`, key)]);
      assert.equal(await reg.exited, 0, reg.lines.join("\n"));
    }
    const regs = await net.reader.client.getContractEvents({ address: net.addresses.registry, abi: providerRegistryAbi, eventName: "ProviderRegistered", fromBlock: 0n });
    const uri = regs.find((e) => e.args.provider === hardhatAccount(2).address)?.args.metadataURI ?? "";
    const meta = JSON.parse(decodeURIComponent(uri.replace(/^data:application\/json,/, "")));
    assert.equal(meta.backend, "pytorch");
    assert.equal(meta.determinismClass, caps.determinismClass, "the provider metadata names its determinism class");
    assert.ok(meta.memoryBytes > 0);
    const jaxWorker = net.spawnWorker("w4", ["run", "--job", jobId.toString(), ...net.workerArgs("w4", `${net.dir}/keys/w4.json`)]);
    const declined = await jaxWorker.waitFor(/declined job/, 120_000);
    assert.match(declined, /determinism class mismatch/);
    const workers: WorkerProcess[] = [2, 3].map((i) => net.spawnWorker(`w${i}`, ["run", "--job", jobId.toString(), "--trainer", "pytorch", ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)]));
    const codes = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(codes, [0, 0], workers.map((w) => w.lines.slice(-12).join("\n")).join("\n---\n"));
    assert.equal(await jaxWorker.exited, 0, jaxWorker.lines.slice(-5).join("\n"));
    assert.ok(!jaxWorker.lines.some((l) => l.includes('"msg":"joined job"')), "the jax-js worker never joined");

    const status = await jobStatus(net.reader, jobId);
    assert.equal(status.status, "Completed");
    assert.ok(status.losses.every((r) => r.status === "Finalized"));
    for (let round = 0; round < 2; round++) {
      const hashes = new Set(workers.map((w) => w.lines.find((l) => l.includes('"msg":"voted"') && l.includes(`"round":${round},`))).filter(Boolean).map((l) => JSON.parse(l!).modelHash));
      assert.equal(hashes.size, 1, `round ${round}: the two PyTorch workers agree bit for bit`);
    }

    // ---- audits: bit-exact replay within the class (inner AdamW state and residual carried from round 0),
    //      a tolerance check from the jax-js class
    assert.ok(existsSync(path.join(net.dir, "workers", "w2", "jobs", jobId.toString(), "inner.bin")), "the worker kept its inner AdamW state");
    const w2 = hardhatAccount(2).address;
    const inClass = await replayWorker(net.reader, net.blobs, jobId, 1, w2, { backend: "pytorch", device: "cpu", threads: 1 });
    assert.equal(inClass.mode, "replay");
    assert.ok(inClass.match, `replay of round 1 reproduces the commitment: ${JSON.stringify(inClass, (_, v) => (typeof v === "bigint" ? v.toString() : v))}`);
    const crossClass = await replayWorker(net.reader, net.blobs, jobId, 1, w2, { backend: "jax-js" });
    assert.equal(crossClass.mode, "tolerance");
    assert.ok(crossClass.match && crossClass.tolerance!.relL2 < 0.2, `cross-class audit within tolerance: ${JSON.stringify(crossClass.tolerance)}`);

    // ---- export, load in PyTorch independently, generate
    const outDir = path.join(net.dir, "model");
    const exp = await exportModel(net.reader, net.blobs, jobId, outDir);
    assert.equal(exp.modelHash, (await net.reader.jobState(jobId)).modelHash);
    assert.deepEqual(exp.files.sort(), ["config.json", "diloco_tokenizer.json", "generation_config.json", "model.safetensors", "tokenizer.json"]);
    // the GPT-2 tokenizer in the Hugging Face layout, read back by @huggingface/tokenizers
    assert.deepEqual(hfTokenizer(new Uint8Array(readFileSync(path.join(outDir, "tokenizer.json")))).encode("The Congress shall"), [464, 3162, 2236]);
    const cfg = JSON.parse(readFileSync(path.join(outDir, "config.json"), "utf8"));
    assert.equal(cfg.model_type, "llama");
    assert.equal(cfg.tie_word_embeddings, true);
    const model = await readModelDir(outDir);
    const ids = model.tokenizer.encode("The Congress shall");
    assert.deepEqual(ids, [464, 3162, 2236]); // GPT-2 ids
    const ours = await sequenceLogits(model.config, model.params, ids);
    const res = spawnSync(defaultPython(), [path.join(root, "scripts", "hf", "load_hf.py"), outDir, JSON.stringify([ids])], { encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" } });
    assert.equal(res.status, 0, res.stderr);
    const theirs = (JSON.parse(res.stdout).logits as number[][][])[0].flat();
    let maxDiff = 0;
    for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
    assert.ok(maxDiff < 1e-4, `logits differ by ${maxDiff}`);

    const gen = spawnSync(process.execPath, [path.join(root, "cli", "market.ts"), "generate", "--model", outDir, "--prompt", "The Congress", "--tokens", "8", "--temperature", "0.7"], { cwd: root, encoding: "utf8" });
    assert.equal(gen.status, 0, gen.stderr);
    assert.ok(gen.stdout.startsWith("The Congress") && gen.stdout.trim().length > "The Congress".length, gen.stdout);
    assert.equal(keccak256(readFileSync(path.join(outDir, "model.safetensors"))).length, 66);
  });
});
