/**
 * The tokenizer files written next to an exported model, in the Hugging Face layout:
 *   - "gpt2": a `tokenizer.json` generated from js-tiktoken's GPT-2 ranks (the very table the dataset
 *     was packed with): a byte-level BPE model whose vocabulary maps GPT-2's byte-to-unicode strings
 *     to ranks, and whose merges are every (left, right) split of a token into two tokens, ordered by
 *     the merged token's rank (the conversion transformers' TikTokenConverter does). Tokenising is left
 *     to the libraries (js-tiktoken, @huggingface/tokenizers, Python `tokenizers`); nothing here runs BPE.
 *   - "char": `vocab.json`, id → symbol for the 96-symbol vocabulary, with how text is normalised to it;
 *   - "byte": `vocab.json` saying that a token id is a UTF-8 byte value;
 *   - "hf": the dataset's own tokenizer.json (the caller copies its bytes).
 */
import { createRequire } from "node:module";
import { decode as charDecode, VOCAB_SIZE as CHAR_VOCAB, UNKNOWN_ID } from "../data/vocab.ts";

const require = createRequire(import.meta.url);

interface TiktokenRanks {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

/** GPT-2's byte → printable unicode character table (bytes_to_unicode in GPT-2's encoder.py). */
export function bytesToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return out;
}

/** Rank → token bytes, from js-tiktoken's compressed rank file ("! <offset> <base64> <base64> …" lines). */
function gpt2Ranks(): { tokens: Uint8Array[]; special: Record<string, number> } {
  const mod = require("js-tiktoken/ranks/gpt2") as TiktokenRanks | { default: TiktokenRanks };
  const ranks = "default" in mod ? mod.default : mod;
  const tokens: Uint8Array[] = [];
  for (const line of ranks.bpe_ranks.split("\n")) {
    if (!line) continue;
    const [, offsetStr, ...b64] = line.split(" ");
    const offset = Number.parseInt(offsetStr, 10);
    b64.forEach((t, i) => (tokens[offset + i] = new Uint8Array(Buffer.from(t, "base64"))));
  }
  return { tokens, special: ranks.special_tokens };
}

/** A Hugging Face tokenizer.json equivalent to js-tiktoken's "gpt2" encoding (vocabulary 50,257). */
export function gpt2TokenizerJson(): Uint8Array {
  const { tokens, special } = gpt2Ranks();
  const b2u = bytesToUnicode();
  const str = (bytes: Uint8Array): string => Array.from(bytes, (b) => b2u[b]).join("");
  const vocab: Record<string, number> = {};
  // one UTF-16 unit per byte (b2u stays below U+0144), so slicing a token's string splits its bytes
  const strs = tokens.map(str);
  const rankOf = new Map<string, number>(strs.map((s, rank) => [s, rank]));
  strs.forEach((s, rank) => (vocab[s] = rank));
  const merges: [string, string][] = [];
  for (const s of strs) {
    if (s.length < 2) continue;
    const local: [string, string, number, number][] = [];
    for (let i = 1; i < s.length; i++) {
      const l = s.slice(0, i);
      const r = s.slice(i);
      const rl = rankOf.get(l);
      const rr = rankOf.get(r);
      if (rl !== undefined && rr !== undefined) local.push([l, r, rl, rr]);
    }
    local.sort((x, y) => x[2] - y[2] || x[3] - y[3]);
    for (const [l, r] of local) merges.push([l, r]);
  }
  const added = Object.entries(special).map(([content, id]) => {
    vocab[content] = id;
    return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true };
  });
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  const file = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
  return new TextEncoder().encode(JSON.stringify(file));
}

/** `vocab.json` of the 96-symbol character tokenizer: symbol of each id and the normalisation rules. */
export function charVocabJson(): Uint8Array {
  const symbols = Array.from({ length: CHAR_VOCAB }, (_, id) => charDecode([id]));
  return new TextEncoder().encode(
    JSON.stringify(
      {
        tokenizer: "char",
        vocab_size: CHAR_VOCAB,
        id_to_token: symbols,
        unknown_id: UNKNOWN_ID,
        normalization:
          "Unicode NFKD with combining marks dropped; typographic quotes and dashes to ASCII; tabs and other white space to ' '; CRLF and CR to LF; any other character becomes '?' (unknown_id)",
      },
      null,
      2,
    ),
  );
}

/** `vocab.json` of the byte tokenizer. */
export function byteVocabJson(): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ tokenizer: "byte", vocab_size: 256, mapping: "token id = one byte of the text's UTF-8 encoding (0-255); decode the ids as bytes, then as UTF-8" }, null, 2));
}
