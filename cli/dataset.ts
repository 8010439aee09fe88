/**
 * `market dataset pack` and `market dataset upload` (poster side; no keys or chain needed).
 *
 *   market dataset pack <files|folders|.jsonl …> --tokenizer <char|byte|gpt2|path/to/tokenizer.json> --out <dir>
 *        [--shard-tokens N (default 65536)] [--eval-every N (default 10)] [--name NAME]
 *   market dataset upload <dir> [--blob-url URL]      prints the manifest hash a job spec names
 *
 * Documents: each .txt/.md file is one document (folders are walked in name order); each line of a
 * .jsonl file is one document (its "text" field). The packed folder holds manifest.json (canonical
 * bytes), one file per blob named by its hash, and for an hf tokenizer its tokenizer.json blob.
 */
import { readFile, readdir, stat, mkdir, writeFile, rename } from "node:fs/promises";
import path from "node:path";
import type { Hex } from "viem";
import { keccak256 } from "viem";
import { packDataset, decodeManifest, DatasetError, type PackedDataset } from "../worker/diloco/data/dataset.ts";
import { tokenizerFor, type TextTokenizer, type TokenizerKind } from "../worker/diloco/data/tokenizer.ts";
import type { BlobStore } from "../blobstore/types.ts";

export class DatasetCliError extends Error {}

async function listDocuments(inputs: string[]): Promise<{ name: string; text: string }[]> {
  const docs: { name: string; text: string }[] = [];
  const visit = async (p: string): Promise<void> => {
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new DatasetCliError(`input ${p} does not exist`);
    }
    if (st.isDirectory()) {
      for (const name of (await readdir(p)).sort()) await visit(path.join(p, name));
      return;
    }
    if (p.endsWith(".jsonl")) {
      const lines = (await readFile(p, "utf8")).split("\n");
      lines.forEach((line, i) => {
        if (!line.trim()) return;
        let obj: { text?: unknown };
        try {
          obj = JSON.parse(line);
        } catch {
          throw new DatasetCliError(`${p}:${i + 1}: not a JSON line`);
        }
        if (typeof obj.text !== "string") throw new DatasetCliError(`${p}:${i + 1}: needs a string "text" field`);
        docs.push({ name: `${p}:${i + 1}`, text: obj.text });
      });
    } else if (/\.(txt|md|text)$/.test(p)) docs.push({ name: p, text: await readFile(p, "utf8") });
  };
  for (const i of inputs) await visit(i);
  return docs;
}

export async function resolveTokenizer(spec: string): Promise<TextTokenizer> {
  if (spec === "char" || spec === "byte" || spec === "gpt2") return tokenizerFor(spec as TokenizerKind);
  if (spec.endsWith(".json")) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(spec));
    } catch (err) {
      throw new DatasetCliError(`cannot read the tokenizer ${spec}: ${(err as Error).message}`);
    }
    return tokenizerFor("hf", bytes);
  }
  throw new DatasetCliError(`unknown tokenizer "${spec}": use char, byte, gpt2 or a path to a Hugging Face tokenizer.json`);
}

export async function packFolder(opts: { inputs: string[]; tokenizer: string; out: string; shardTokens?: number; evalEvery?: number; name?: string; progress?: (step: string, done: number, total: number) => void }): Promise<PackedDataset> {
  if (opts.inputs.length === 0) throw new DatasetCliError("dataset pack needs input files, folders or .jsonl files");
  const tok = await resolveTokenizer(opts.tokenizer);
  const docs = await listDocuments(opts.inputs);
  if (docs.length === 0) throw new DatasetCliError(`no documents found in ${opts.inputs.join(", ")} (.txt, .md, or .jsonl with a "text" field)`);
  const ids: number[][] = [];
  docs.forEach((d, i) => {
    ids.push(tok.encode(d.text.trim()));
    opts.progress?.("tokenise", i + 1, docs.length);
  });
  const packed = packDataset({ name: opts.name ?? path.basename(path.resolve(opts.inputs[0])), tokenizer: tok, documents: ids, shardTokens: opts.shardTokens ?? 65536, evalEvery: opts.evalEvery ?? 10 });
  await mkdir(opts.out, { recursive: true });
  for (const [hash, bytes] of packed.blobs) {
    const tmp = path.join(opts.out, `${hash}.tmp`);
    await writeFile(tmp, bytes);
    await rename(tmp, path.join(opts.out, `${hash}.blob`));
  }
  await writeFile(path.join(opts.out, "manifest.json"), packed.manifestBytes);
  return packed;
}

/** Uploads a packed folder (every blob the manifest names), verifying each file against its name first. */
export async function uploadFolder(dir: string, blobs: BlobStore, progress?: (step: string, done: number, total: number) => void): Promise<{ manifestHash: Hex; blobs: number; bytes: number }> {
  let manifestBytes: Uint8Array;
  try {
    manifestBytes = new Uint8Array(await readFile(path.join(dir, "manifest.json")));
  } catch {
    throw new DatasetCliError(`${dir} has no manifest.json: run \`market dataset pack … --out ${dir}\` first`);
  }
  const manifest = decodeManifest(manifestBytes);
  const needed: Hex[] = [...manifest.train, ...manifest.eval].map((s) => s.hash);
  if (manifest.tokenizer.blob) needed.push(manifest.tokenizer.blob);
  let bytes = 0;
  let done = 0;
  for (const h of needed) {
    let b: Uint8Array;
    try {
      b = new Uint8Array(await readFile(path.join(dir, `${h}.blob`)));
    } catch {
      throw new DatasetError(`${dir}: shard ${h} named by the manifest is missing`);
    }
    if (keccak256(b) !== h) throw new DatasetError(`${dir}/${h}.blob: its bytes hash to ${keccak256(b)}, not its name (damaged file)`);
    if (!(await blobs.has(h))) await blobs.put(b);
    bytes += b.length;
    progress?.("upload", ++done, needed.length + 1);
  }
  const manifestHash = await blobs.put(manifestBytes);
  progress?.("upload", needed.length + 1, needed.length + 1);
  return { manifestHash, blobs: needed.length + 1, bytes: bytes + manifestBytes.length };
}
