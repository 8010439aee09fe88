/**
 * The poster's training commands that need no keys or chain (wired from cli/market.ts):
 *   market dataset pack <inputs…> --tokenizer <char|byte|gpt2|tokenizer.json> --out <dir> [--shard-tokens N] [--eval-every N] [--name S]
 *   market dataset upload <dir> [--blob-url URL]
 *   market generate --model <dir> --prompt "…" [--tokens N] [--temperature T] [--seed S]
 */
import { parseArgs } from "node:util";
import { HttpBlobStore } from "../blobstore/http-client.ts";
import { packFolder, uploadFolder } from "./dataset.ts";
import { readModelDir } from "./poster/export-model.ts";
import { generateTokens } from "../worker/diloco/model/generate.ts";
import { progressBar } from "./progress.ts";

function intFlag(v: string | undefined, name: string, def: number, min: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
}

/** Runs the command when it is one of these; returns false otherwise. */
export async function runTrainingCommand(argv: string[]): Promise<boolean> {
  const [group, action] = argv;
  if (group !== "dataset" && group !== "generate") return false;
  const { values, positionals } = parseArgs({
    args: argv.slice(group === "dataset" ? 2 : 1),
    options: {
      tokenizer: { type: "string" }, out: { type: "string" }, "shard-tokens": { type: "string" }, "eval-every": { type: "string" }, name: { type: "string" },
      "blob-url": { type: "string" }, model: { type: "string" }, prompt: { type: "string" }, tokens: { type: "string" }, temperature: { type: "string" }, seed: { type: "string" },
    },
    allowPositionals: true,
  });
  if (group === "dataset" && action === "pack") {
    if (!values.tokenizer) throw new Error("dataset pack needs --tokenizer <char|byte|gpt2|path/to/tokenizer.json>");
    if (!values.out) throw new Error("dataset pack needs --out <dir>");
    const packed = await packFolder({ inputs: positionals, tokenizer: values.tokenizer, out: values.out, shardTokens: intFlag(values["shard-tokens"], "shard-tokens", 65536, 2), evalEvery: intFlag(values["eval-every"], "eval-every", 10, 2), name: values.name, progress: progressBar("pack") });
    const m = packed.manifest;
    console.log(JSON.stringify({ manifestHash: packed.manifestHash, out: values.out, tokenizer: m.tokenizer.kind, vocabSize: m.tokenizer.vocabSize, dtype: m.dtype, trainShards: m.train.length, evalShards: m.eval.length, trainTokens: m.train.reduce((a, s) => a + s.tokens, 0), evalTokens: m.eval.reduce((a, s) => a + s.tokens, 0) }));
    return true;
  }
  if (group === "dataset" && action === "upload") {
    const dir = positionals[0];
    if (!dir) throw new Error("dataset upload needs the packed folder: market dataset upload <dir>");
    const blobs = new HttpBlobStore(values["blob-url"] ?? process.env.BLOB_URL ?? "http://127.0.0.1:8700");
    console.log(JSON.stringify(await uploadFolder(dir, blobs, progressBar("upload"))));
    return true;
  }
  if (group === "generate") {
    if (!values.model) throw new Error("generate needs --model <dir> (from `market job model <id> --format safetensors --out <dir>`)");
    if (values.prompt === undefined) throw new Error("generate needs --prompt \"…\"");
    const temperature = values.temperature === undefined ? 0.8 : Number(values.temperature);
    if (!(temperature >= 0 && temperature <= 100)) throw new Error(`--temperature must be a number in [0, 100], got ${values.temperature}`);
    const m = await readModelDir(values.model);
    const prompt = m.tokenizer.encode(values.prompt);
    const ids = await generateTokens(m.config, m.params, prompt, { tokens: intFlag(values.tokens, "tokens", 100, 1), temperature, seed: intFlag(values.seed, "seed", 0, 0) });
    console.log(values.prompt + m.tokenizer.decode(ids));
    return true;
  }
  throw new Error(`unknown command "${argv.slice(0, 2).join(" ")}": dataset pack | dataset upload | generate`);
}
