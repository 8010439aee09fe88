/**
 * Character vocabulary of the language model: 96 symbols.
 *   id 0        '\n'
 *   id 1 … 95   printable ASCII ' ' (0x20) … '~' (0x7E), id = code − 31
 * Text is normalised to it first: Unicode NFKD with combining marks dropped (é → e), typographic quotes
 * and dashes to their ASCII forms (’ → ', “ ” → ", — → --, – ‑ → -, … → ...), tabs and other white
 * space to ' ', '\r\n' and '\r' to '\n'; any other character becomes '?'.
 */
export const VOCAB_SIZE = 96;
export const NEWLINE_ID = 0;
const FIRST_PRINTABLE = 0x20;
const LAST_PRINTABLE = 0x7e;
/** Id of '?', the stand-in for characters outside the vocabulary. */
export const UNKNOWN_ID = "?".charCodeAt(0) - 31;

const REPLACEMENTS: Record<string, string> = {
  "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
  "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
  "\u2014": "--", "\u2015": "--", "\u2013": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-",
  "\u2026": "...", "\u2022": "*", "\u00b0": " degrees",
};

function idOf(code: number): number {
  return code === 10 ? NEWLINE_ID : code - 31;
}

/** Token ids of text, normalised to the vocabulary on the way (see module comment). */
export function encode(text: string): Uint8Array {
  const t = /^[\n\x20-\x7e]*$/.test(text) ? text : text.replace(/\r\n?/g, "\n").normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  let ids = new Uint8Array(t.length + 16);
  let n = 0;
  const push = (id: number): void => {
    if (n === ids.length) {
      const bigger = new Uint8Array(ids.length * 2);
      bigger.set(ids);
      ids = bigger;
    }
    ids[n++] = id;
  };
  for (let i = 0; i < t.length; i++) {
    const code = t.charCodeAt(i);
    if (code === 10 || (code >= FIRST_PRINTABLE && code <= LAST_PRINTABLE)) {
      push(idOf(code));
      continue;
    }
    const ch = String.fromCodePoint(t.codePointAt(i) as number);
    if (ch.length === 2) i++; // astral character: skip its low surrogate
    const rep = REPLACEMENTS[ch];
    if (rep !== undefined) for (let j = 0; j < rep.length; j++) push(idOf(rep.charCodeAt(j)));
    else if (/\s/u.test(ch)) push(idOf(0x20));
    else push(UNKNOWN_ID);
  }
  return ids.slice(0, n);
}

/** Text normalised to the 96-symbol alphabet (see module comment). */
export function normalizeText(text: string): string {
  return decode(encode(text));
}

/** Text of token ids; throws on an id outside the vocabulary. */
export function decode(ids: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= VOCAB_SIZE) throw new Error(`token id ${id} outside the vocabulary [0, ${VOCAB_SIZE})`);
    s += id === NEWLINE_ID ? "\n" : String.fromCharCode(id + 31);
  }
  return s;
}
