/**
 * The indexer's SQLite write path: a libSQL connection of its own (the engine under Prisma's SQLite
 * adapter) for the sync engine's commits. Prisma's raw statements cost more per bound parameter than
 * SQLite takes to write the row (measured: bench/indexer/backfill-only.ts, BENCHMARKS.md); here a
 * commit's multi-row upserts run as cached prepared statements.
 *
 * Crash safety is unchanged: everything a commit writes (rows, reorg journal, block hashes,
 * checkpoint) is one SQLite transaction (BEGIN IMMEDIATE … COMMIT), so a killed process leaves the
 * database at the previous checkpoint. Readers (Prisma's connection, the API) use WAL snapshots.
 */
import Database from "libsql";

export class SqliteWriter {
  readonly #db: Database.Database;
  readonly #stmts = new Map<string, Database.Statement>();

  constructor(file: string) {
    this.#db = new Database(file);
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec("PRAGMA busy_timeout = 10000");
    // NORMAL in WAL mode: a process crash never loses a committed transaction (a power cut may lose the last ones; they are indexed again)
    this.#db.exec("PRAGMA synchronous = NORMAL");
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#stmts.get(sql);
    if (!s) {
      if (this.#stmts.size >= 256) this.#stmts.clear();
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  /** Same shape as Prisma's, for Store.flush: SQLite has no boolean, libSQL binds 1/0. */
  async $executeRawUnsafe(sql: string, ...params: unknown[]): Promise<number> {
    for (let i = 0; i < params.length; i++) if (typeof params[i] === "boolean") params[i] = params[i] ? 1 : 0;
    return Number(this.#stmt(sql).run(...params).changes);
  }

  async $queryRawUnsafe<T>(sql: string, ...params: unknown[]): Promise<T> {
    return this.#stmt(sql).all(...params) as T;
  }

  /** Runs `fn` in one write transaction; rolls back when it throws. */
  async transaction<T>(fn: (tx: SqliteWriter) => Promise<T>): Promise<T> {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const out = await fn(this);
      this.#db.exec("COMMIT");
      return out;
    } catch (err) {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  close(): void {
    this.#stmts.clear();
    this.#db.close();
  }
}
