/**
 * Tokenizers a dataset can be packed with. None is hand-written BPE:
 *   - "char": the project's 96-symbol character vocabulary (vocab.ts);
 *   - "byte": UTF-8 bytes, vocabulary 256;
 *   - "gpt2": GPT-2's byte-level BPE (50,257 tokens; `<|endoftext|>` = 50256) through `js-tiktoken`
 *     (MIT; its `gpt2` ranks are OpenAI's GPT-2 vocabulary, MIT);
 *   - "hf": any Hugging Face `tokenizer.json` through `@huggingface/tokenizers` (Apache-2.0, pure JS).
 * A tokenizer's identity is (kind, keccak-256 of its defining bytes): for "hf" the exact tokenizer.json
 * bytes (shipped with the dataset as a blob), for the built-in kinds a fixed tag naming library and version.
 */
import { createRequire } from "node:module";
import { keccak256, toBytes, type Hex } from "viem";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { Tiktoken } from "js-tiktoken/lite";
import { encode as charEncode, decode as charDecode, VOCAB_SIZE as CHAR_VOCAB, NEWLINE_ID } from "./vocab.ts";

export type TokenizerKind = "char" | "byte" | "gpt2" | "hf";

export interface TextTokenizer {
  kind: TokenizerKind;
  /** keccak-256 identifying the exact tokenizer (see module comment). */
  hash: Hex;
  vocabSize: number;
  /** Token placed between documents when they are joined into one stream. */
  separatorId: number;
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  /** tokenizer.json bytes ("hf" only): stored as a blob next to the dataset and exported with the model. */
  json?: Uint8Array;
}

const require = createRequire(import.meta.url);
/** Pinned exactly in package.json: the identity of the "gpt2" tokenizer names it. */
const TIKTOKEN_VERSION = "1.0.21";

function tagHash(tag: string): Hex {
  return keccak256(toBytes(tag));
}

export function charTokenizer(): TextTokenizer {
  return {
    kind: "char",
    hash: tagHash("diloco-market/tokenizer/char96/v1"),
    vocabSize: CHAR_VOCAB,
    separatorId: NEWLINE_ID,
    encode: (t) => Array.from(charEncode(t)),
    decode: (ids) => charDecode(ids),
  };
}

export function byteTokenizer(): TextTokenizer {
  const dec = new TextDecoder("utf-8");
  return {
    kind: "byte",
    hash: tagHash("diloco-market/tokenizer/utf8-bytes/v1"),
    vocabSize: 256,
    separatorId: 10,
    encode: (t) => Array.from(new TextEncoder().encode(t)),
    decode: (ids) => dec.decode(Uint8Array.from(Array.from(ids, (i) => {
      if (!Number.isInteger(i) || i < 0 || i > 255) throw new Error(`token id ${i} outside the byte vocabulary [0, 256)`);
      return i;
    }))),
  };
}

let gpt2Ranks: unknown;
export function gpt2Tokenizer(): TextTokenizer {
  gpt2Ranks ??= require("js-tiktoken/ranks/gpt2");
  const ranks = (gpt2Ranks as { default?: unknown }).default ?? gpt2Ranks;
  const enc = new Tiktoken(ranks as ConstructorParameters<typeof Tiktoken>[0]);
  return {
    kind: "gpt2",
    hash: tagHash(`diloco-market/tokenizer/gpt2/js-tiktoken@${TIKTOKEN_VERSION}`),
    vocabSize: 50257,
    separatorId: 50256,
    encode: (t) => enc.encode(t, [], []),
    decode: (ids) => enc.decode(Array.from(ids)),
  };
}

/** A Hugging Face tokenizer.json (bytes as given; their hash is the identity). */
export function hfTokenizer(json: Uint8Array): TextTokenizer {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch (err) {
    throw new Error(`tokenizer.json is not UTF-8 JSON: ${(err as Error).message}`);
  }
  const model = parsed.model as { vocab?: Record<string, number> | unknown[] } | undefined;
  if (!model || !model.vocab) throw new Error("tokenizer.json has no model.vocab: not a Hugging Face tokenizer file");
  const tok = new HfTokenizer(parsed as never, {} as never);
  let maxId = -1;
  const vocab = model.vocab;
  if (Array.isArray(vocab)) maxId = vocab.length - 1;
  else for (const id of Object.values(vocab)) maxId = Math.max(maxId, id);
  for (const a of (parsed.added_tokens as { id: number }[] | undefined) ?? []) maxId = Math.max(maxId, a.id);
  const vocabSize = maxId + 1;
  const eos = ((parsed.added_tokens as { id: number; content: string }[] | undefined) ?? []).find((a) => /^(<\|endoftext\|>|<\/s>|<eos>|\[SEP\]|<\|end_of_text\|>)$/.test(a.content));
  const nl = tok.encode("\n", { add_special_tokens: false } as never).ids;
  return {
    kind: "hf",
    hash: keccak256(json),
    vocabSize,
    separatorId: eos ? eos.id : (nl[0] ?? 0),
    encode: (t) => tok.encode(t, { add_special_tokens: false } as never).ids,
    decode: (ids) => tok.decode(Array.from(ids), { skip_special_tokens: false } as never),
    json,
  };
}

/** The built-in tokenizer of a kind ("hf" needs its tokenizer.json bytes). */
export function tokenizerFor(kind: TokenizerKind, json?: Uint8Array): TextTokenizer {
  switch (kind) {
    case "char": return charTokenizer();
    case "byte": return byteTokenizer();
    case "gpt2": return gpt2Tokenizer();
    case "hf":
      if (!json) throw new Error("an \"hf\" tokenizer needs its tokenizer.json");
      return hfTokenizer(json);
    default: throw new Error(`unknown tokenizer "${String(kind)}": use char, byte, gpt2 or a path to a tokenizer.json`);
  }
}
