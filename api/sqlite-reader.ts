/**
 * The API's SQLite reads: a libSQL connection of its own that only reads (`query_only`) (the engine under Prisma's SQLite
 * adapter), with each statement text prepared once. Prisma's raw path costs more per statement and
 * per row than SQLite takes to run it, and under 50 concurrent detail requests its queue left some
 * requests waiting 5–6 s (BENCHMARKS.md, "sqlite no cache detail").
 *
 * Values come back typed as Prisma's raw path gives them, from the columns' declared types: BIGINT →
 * bigint, INTEGER → number, BOOLEAN → boolean, REAL → number, TEXT → string; a computed column
 * (COUNT(*), a constant) → number. The database is in WAL mode (the indexer's writer sets it), so
 * reads see the last committed snapshot and never wait for the writer.
 */
import Database from "libsql";

type Row = Record<string, unknown>;
type Convert = (v: unknown) => unknown;

const toNumber: Convert = (v) => (v === null ? null : Number(v));
const keep: Convert = (v) => v;
/** A computed column (no declared type): integers as numbers, the rest as they come. */
const computed: Convert = (v) => (typeof v === "bigint" ? Number(v) : v);
const CONVERT: Record<string, Convert> = {
  BIGINT: keep,
  INTEGER: toNumber,
  INT: toNumber,
  BOOLEAN: (v) => (v === null ? null : v !== 0n && v !== 0),
  REAL: toNumber,
  "DOUBLE PRECISION": toNumber,
  TEXT: keep,
};

/** Statement texts kept prepared; past this the cache starts over (the API issues a few hundred shapes). */
const MAX_PREPARED = 500;

interface Prepared {
  stmt: Database.Statement;
  names: string[];
  convert: Convert[];
}

export class SqliteReader {
  readonly #db: Database.Database;
  readonly #stmts = new Map<string, Prepared>();

  constructor(file: string) {
    this.#db = new Database(file);
    this.#db.exec("PRAGMA busy_timeout = 10000");
    // (libSQL's Node binding has no read-only open mode)
    this.#db.exec("PRAGMA query_only = ON");
  }

  #prepare(text: string): Prepared {
    let p = this.#stmts.get(text);
    if (!p) {
      const stmt = this.#db.prepare(text);
      stmt.safeIntegers(true);
      stmt.raw(true);
      const cols = stmt.columns() as { name: string; type: string | null }[];
      p = {
        stmt,
        names: cols.map((c) => c.name),
        // a declared type not listed is read as it comes
        convert: cols.map((c) => (c.type === null ? computed : (CONVERT[c.type.toUpperCase()] ?? keep))),
      };
      if (this.#stmts.size >= MAX_PREPARED) this.#stmts.clear();
      this.#stmts.set(text, p);
    }
    return p;
  }

  /** Rows of one statement (`params` bound by position; booleans as 1/0, as SQLite stores them). */
  query(text: string, params: unknown[]): Row[] {
    const p = this.#prepare(text);
    const bound = params.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v));
    const raw = p.stmt.all(bound) as unknown[][];
    const out: Row[] = new Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i];
      const row: Row = {};
      for (let c = 0; c < p.names.length; c++) row[p.names[c]] = p.convert[c](r[c]);
      out[i] = row;
    }
    return out;
  }

  close(): void {
    this.#stmts.clear();
    this.#db.close();
  }
}
