/**
 * `market job model <id> --format safetensors --out <dir>`: the job's current (final, once Completed)
 * model, verified against the on-chain hash, written in the Hugging Face layout of its family:
 * model.safetensors, config.json, generation_config.json and the tokenizer: diloco_tokenizer.json naming
 * its kind and identity, plus tokenizer.json for an hf tokenizer (the dataset's own bytes) and for gpt2
 * (generated from js-tiktoken's ranks, worker/diloco/export/tokenizer-files.ts), or vocab.json
 * documenting the id mapping of the char and byte tokenizers.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Hex } from "viem";
import type { BlobStore } from "../../blobstore/types.ts";
import { decodeGlobalState } from "../../worker/diloco/outer/index.ts";
import { buildLayout } from "../../worker/diloco/model/layout.ts";
import { blobId } from "../../worker/diloco/hash.ts";
import { decodeJobSpec, isDatasetData } from "../../worker/spec/job-spec.ts";
import { decodeManifest } from "../../worker/diloco/data/dataset.ts";
import { charTokenizer, tokenizerFor, type TextTokenizer, type TokenizerKind } from "../../worker/diloco/data/tokenizer.ts";
import { encodeSafetensors, decodeSafetensors } from "../../worker/diloco/export/safetensors.ts";
import { byteVocabJson, charVocabJson, gpt2TokenizerJson } from "../../worker/diloco/export/tokenizer-files.ts";
import { fromHfTensors, hfConfig, modelConfigFromHf, toHfTensors } from "../../worker/diloco/export/hf.ts";
import type { ModelConfig } from "../../worker/diloco/types.ts";
import type { MarketReader } from "../../worker/node/market-reader.ts";

export interface TokenizerFile {
  kind: TokenizerKind;
  hash: Hex;
  vocabSize: number;
  separatorId: number;
}

export async function writeModelDir(dir: string, config: ModelConfig, params: Float32Array, tok: { file: TokenizerFile; json?: Uint8Array }, meta: Record<string, string> = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const put = async (name: string, data: Uint8Array | string): Promise<void> => {
    await writeFile(path.join(dir, name), data);
    files.push(name);
  };
  await put("model.safetensors", encodeSafetensors(toHfTensors(config, params), { format: "pt", ...meta }));
  await put("config.json", JSON.stringify(hfConfig(config), null, 2));
  await put("generation_config.json", JSON.stringify({ eos_token_id: tok.file.separatorId, max_length: config.contextLength }, null, 2));
  await put("diloco_tokenizer.json", JSON.stringify(tok.file, null, 2));
  if (tok.json) await put("tokenizer.json", tok.json);
  else if (tok.file.kind === "gpt2") await put("tokenizer.json", gpt2TokenizerJson());
  else if (tok.file.kind === "char") await put("vocab.json", charVocabJson());
  else if (tok.file.kind === "byte") await put("vocab.json", byteVocabJson());
  return files;
}

export async function readModelDir(dir: string): Promise<{ config: ModelConfig; params: Float32Array; tokenizer: TextTokenizer }> {
  const read = async (name: string): Promise<Buffer> => {
    try {
      return await readFile(path.join(dir, name));
    } catch {
      throw new Error(`${dir} lacks ${name}: export it with \`market job model <id> --format safetensors --out ${dir}\``);
    }
  };
  const config = modelConfigFromHf(JSON.parse((await read("config.json")).toString("utf8")));
  const { tensors } = decodeSafetensors(new Uint8Array(await read("model.safetensors")));
  const params = fromHfTensors(config, tensors);
  const tf = JSON.parse((await read("diloco_tokenizer.json")).toString("utf8")) as TokenizerFile;
  const tokenizer = tf.kind === "hf" ? tokenizerFor("hf", new Uint8Array(await read("tokenizer.json"))) : tokenizerFor(tf.kind);
  return { config, params, tokenizer };
}

/** The tokenizer a job trained with (from its dataset manifest; the legacy corpus is char-level). */
export async function jobTokenizer(blobs: BlobStore, specHash: Hex): Promise<{ file: TokenizerFile; json?: Uint8Array }> {
  const spec = decodeJobSpec(await blobs.get(specHash));
  if (!isDatasetData(spec.data)) {
    const t = charTokenizer();
    return { file: { kind: t.kind, hash: t.hash, vocabSize: t.vocabSize, separatorId: t.separatorId } };
  }
  const m = decodeManifest(await blobs.get(spec.data.dataset));
  const file: TokenizerFile = { kind: m.tokenizer.kind, hash: m.tokenizer.hash, vocabSize: m.tokenizer.vocabSize, separatorId: m.tokenizer.separatorId };
  return m.tokenizer.blob ? { file, json: await blobs.get(m.tokenizer.blob) } : { file };
}

export async function exportModel(reader: MarketReader, blobs: BlobStore, jobId: bigint, out: string): Promise<{ modelHash: Hex; dir: string; files: string[]; family: string; params: number }> {
  const s = await reader.jobState(jobId);
  if (s.status === 0) throw new Error(`job ${jobId} does not exist`);
  const params = await reader.jobParams(jobId);
  const bytes = await blobs.get(s.modelHash);
  if (blobId(bytes) !== s.modelHash.toLowerCase()) throw new Error("model bytes do not match the on-chain hash");
  const spec = decodeJobSpec(await blobs.get(params.specHash));
  const state = decodeGlobalState(bytes, { expectedLayout: buildLayout(spec.model) });
  const tok = await jobTokenizer(blobs, params.specHash);
  const files = await writeModelDir(out, spec.model, state.params, tok, { jobId: jobId.toString(), modelHash: s.modelHash, specHash: params.specHash });
  return { modelHash: s.modelHash, dir: out, files, family: spec.model.family ?? "gpt2", params: state.params.length };
}
