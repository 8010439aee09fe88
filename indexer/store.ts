/**
 * The handlers' view of the database: an in-memory write-back cache of the mutable entities
 * (providers, jobs, workers, rounds, accounts, disputes, panels and their members, referees, the
 * network row) plus append-only rows (commitments, votes, payouts, slashes, stake changes, dispute moves). Handlers read and mutate plain objects;
 * `flush` writes everything dirty with multi-row upserts inside the caller's transaction (the same
 * one that moves the checkpoint), so a batch of blocks lands whole or not at all.
 *
 * Reorg safety: while `journalBlock` is set (blocks that are not final yet), the first mutation of a
 * row in a block records the row's before-image; `flush` writes those to `reorg_journal`, and
 * `rollback` replays them backwards to undo every write of orphaned blocks.
 *
 * The cache mirrors the database exactly (the indexer is the only writer, but for the columns a
 * table lists as `external`, which its upserts leave alone): it is preloaded when
 * small enough, so a miss then means "no such row" without a query; past `maxCachedRows` a table is
 * dropped from memory after a flush and misses read the database. Any failed flush must be followed
 * by `reset()` (the engine restarts from the checkpoint).
 */
import type { Db } from "./db/index.ts";
import { ph } from "./db/migrate.ts";

export interface TableDef {
  /** Prisma delegate name. */
  model: string;
  /** Primary-key column (single column everywhere). */
  pk: string;
  /** Kept in memory (mutable entities) or written once (append-only rows). */
  cached: boolean;
  /**
   * Columns the API writes (off-chain reports, e.g. a round's eval loss): inserted with the row, but
   * never overwritten by the indexer's upserts, whose in-memory copy does not see them. A reorg
   * rollback still restores them with the rest of the before-image.
   */
  external?: readonly string[];
  /**
   * Keep the `external` columns when a reorg rolls a row back (the job's name and sample: the API
   * checks them against the job's specHash and final modelHash, so they never go stale), instead of
   * restoring the indexer's before-image of them (a round's eval loss is cleared with its finalization).
   */
  keepExternalOnRollback?: boolean;
}

export const TABLES = {
  provider: { model: "provider", pk: "address", cached: true },
  job: { model: "job", pk: "id", cached: true, external: ["name", "sample", "samplePrompt", "sampleModelHash"], keepExternalOnRollback: true },
  job_worker: { model: "jobWorker", pk: "id", cached: true },
  round: { model: "round", pk: "id", cached: true, external: ["evalLoss", "evalLossSource"] },
  account: { model: "account", pk: "address", cached: true },
  dispute: { model: "dispute", pk: "id", cached: true },
  dispute_panel: { model: "disputePanel", pk: "id", cached: true },
  panel_member: { model: "panelMember", pk: "id", cached: true },
  referee: { model: "referee", pk: "address", cached: true },
  network: { model: "network", pk: "id", cached: true },
  stake_change: { model: "stakeChange", pk: "id", cached: false },
  commitment: { model: "commitment", pk: "id", cached: false },
  vote: { model: "vote", pk: "id", cached: false },
  payout: { model: "payout", pk: "id", cached: false },
  slash: { model: "slash", pk: "id", cached: false },
  dispute_move: { model: "disputeMove", pk: "id", cached: false },
} as const satisfies Record<string, TableDef>;

export type TableName = keyof typeof TABLES;
export type Row = Record<string, unknown>;
type Key = string | number | bigint;

/** Journal JSON: bigints tagged so they come back as bigints. */
export function encodeRow(row: Row): string {
  return JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? { $n: v.toString() } : v));
}
export function decodeRow(json: string): Row {
  return JSON.parse(json, (_k, v) => (v && typeof v === "object" && typeof v.$n === "string" && Object.keys(v).length === 1 ? BigInt(v.$n) : v)) as Row;
}

/** Where a flush writes: a Prisma transaction, or the SQLite writer's (indexer/db/sqlite-writer.ts). */
export interface Tx {
  $executeRawUnsafe(sql: string, ...values: unknown[]): PromiseLike<number>;
  $queryRawUnsafe<T = unknown>(sql: string, ...values: unknown[]): PromiseLike<T>;
}

export class Store {
  readonly db: Db;
  readonly maxCachedRows: number;
  /** Block whose writes are journaled, or undefined (final blocks: no journal). */
  journalBlock: bigint | undefined;
  #columns = new Map<TableName, string[]>();
  #cache = new Map<TableName, Map<string, Row | null>>();
  #complete = new Set<TableName>();
  #dirty = new Map<TableName, Map<string, Row>>();
  #appends = new Map<TableName, Row[]>();
  #journal: { block: bigint; table: string; pk: string; before: string | null }[] = [];
  #journaled = new Set<string>();
  /** jobId → job_worker ids, for tables too big to scan. */
  #workersByJob = new Map<string, string[]>();
  #workersByJobComplete = false;
  rowsWritten = 0;

  constructor(db: Db, opts: { maxCachedRows?: number } = {}) {
    this.db = db;
    this.maxCachedRows = opts.maxCachedRows ?? 250_000;
    for (const t of Object.keys(TABLES) as TableName[]) {
      this.#cache.set(t, new Map());
      this.#dirty.set(t, new Map());
      this.#appends.set(t, []);
    }
  }

  /** Reads column lists from the database and preloads small tables. */
  async init(): Promise<void> {
    for (const t of Object.keys(TABLES) as TableName[]) this.#columns.set(t, await this.#readColumns(t));
    await this.reset();
  }

  async #readColumns(t: TableName): Promise<string[]> {
    if (this.db.provider === "sqlite") {
      const rows = await this.db.prisma.$queryRawUnsafe<{ name: string }[]>(`PRAGMA table_info("${t}")`);
      return rows.map((r) => r.name);
    }
    const rows = await this.db.prisma.$queryRawUnsafe<{ column_name: string }[]>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
      this.db.schema,
      t,
    );
    return rows.map((r) => r.column_name);
  }

  columns(t: TableName): string[] {
    const c = this.#columns.get(t);
    if (!c || c.length === 0) throw new Error(`table ${t} has no columns: was the database migrated?`);
    return c;
  }

  /** Drops everything in memory (after a failed flush or a rollback) and preloads again. */
  async reset(): Promise<void> {
    for (const t of Object.keys(TABLES) as TableName[]) {
      this.#cache.get(t)!.clear();
      this.#dirty.get(t)!.clear();
      this.#appends.get(t)!.length = 0;
    }
    this.#complete.clear();
    this.#journal = [];
    this.#journaled.clear();
    this.#workersByJob.clear();
    this.#workersByJobComplete = false;
    for (const t of Object.keys(TABLES) as TableName[]) {
      const def: TableDef = TABLES[t];
      if (!def.cached) continue;
      const delegate = this.#delegate(t);
      const count = await delegate.count();
      if (count > this.maxCachedRows) continue;
      const rows = (await delegate.findMany()) as Row[];
      const cache = this.#cache.get(t)!;
      for (const r of rows) cache.set(String(r[def.pk]), r);
      this.#complete.add(t);
      if (t === "job_worker") {
        for (const r of rows) this.#indexWorker(r);
        this.#workersByJobComplete = true;
      }
    }
  }

  #delegate(t: TableName): { count(): Promise<number>; findMany(a?: unknown): Promise<unknown[]>; findUnique(a: unknown): Promise<unknown> } {
    return (this.db.prisma as unknown as Record<string, never>)[TABLES[t].model];
  }

  #indexWorker(r: Row): void {
    const k = String(r.jobId);
    const list = this.#workersByJob.get(k);
    if (list) list.push(r.id as string);
    else this.#workersByJob.set(k, [r.id as string]);
  }

  /** The row, or undefined. Do not mutate it: use `mut`. */
  async get<T extends Row>(t: TableName, key: Key): Promise<T | undefined> {
    const k = String(key);
    const cache = this.#cache.get(t)!;
    const hit = cache.get(k);
    if (hit !== undefined) return (hit ?? undefined) as T | undefined;
    if (this.#complete.has(t) || !TABLES[t].cached) return undefined;
    const def: TableDef = TABLES[t];
    const row = (await this.#delegate(t).findUnique({ where: { [def.pk]: key } })) as Row | null;
    cache.set(k, row);
    return (row ?? undefined) as T | undefined;
  }

  /** The row, ready to be mutated in place (journaled and marked dirty), or undefined. */
  async mut<T extends Row>(t: TableName, key: Key): Promise<T | undefined> {
    const row = await this.get<T>(t, key);
    if (!row) return undefined;
    this.#touch(t, String(key), row);
    return row;
  }

  /** Like `mut`, but throws when the row is missing (events out of order means a bug or a bad start block). */
  async must<T extends Row>(t: TableName, key: Key): Promise<T> {
    const row = await this.mut<T>(t, key);
    if (!row) throw new Error(`indexer state: no ${t} row ${String(key)} (events before their entity: is START_BLOCK after the deployment?)`);
    return row;
  }

  #touch(t: TableName, k: string, row: Row, created = false): void {
    if (this.journalBlock !== undefined) {
      const jk = `${t}\u0000${k}`;
      if (!this.#journaled.has(jk)) {
        this.#journaled.add(jk);
        this.#journal.push({ block: this.journalBlock, table: t, pk: encodeRow({ k: this.#pkValue(t, row) }), before: created ? null : encodeRow({ ...row }) });
      }
    }
    this.#dirty.get(t)!.set(k, row);
  }

  #pkValue(t: TableName, row: Row): unknown {
    return row[TABLES[t].pk];
  }

  /** Creates a row (cached tables: also readable through get/mut from now on). */
  create<T extends Row>(t: TableName, row: T): T {
    const def: TableDef = TABLES[t];
    const k = String(row[def.pk]);
    if (def.cached) {
      this.#cache.get(t)!.set(k, row);
      this.#touch(t, k, row, true);
      if (t === "job_worker") this.#indexWorker(row);
    } else {
      this.#appends.get(t)!.push(row);
      if (this.journalBlock !== undefined) {
        this.#journal.push({ block: this.journalBlock, table: t, pk: encodeRow({ k: row[def.pk] }), before: null });
      }
    }
    return row;
  }

  /** The job_worker rows of a job, in join order. */
  async workersOf<T extends Row>(jobId: bigint): Promise<T[]> {
    const k = String(jobId);
    let ids = this.#workersByJob.get(k);
    if (!ids && !this.#workersByJobComplete) {
      const rows = (await this.#delegate("job_worker").findMany({ where: { jobId } })) as Row[];
      const cache = this.#cache.get("job_worker")!;
      for (const r of rows) if (!cache.has(String(r.id))) cache.set(String(r.id), r);
      ids = rows.map((r) => r.id as string);
      this.#workersByJob.set(k, ids);
    }
    const out: T[] = [];
    for (const id of ids ?? []) {
      const r = await this.get<T>("job_worker", id);
      if (r) out.push(r);
    }
    return out.sort((a, b) => (a.index as number) - (b.index as number));
  }

  /** The rows of a cached table whose `column` equals `value` (read-only: mutate them through `mut`). */
  async rowsWhere<T extends Row>(t: TableName, column: string, value: unknown): Promise<T[]> {
    const def: TableDef = TABLES[t];
    if (!def.cached) throw new Error(`rowsWhere: ${t} is not a cached table`);
    const cache = this.#cache.get(t)!;
    if (!this.#complete.has(t)) {
      const rows = (await this.#delegate(t).findMany({ where: { [column]: value } })) as Row[];
      for (const r of rows) if (!cache.get(String(r[def.pk]))) cache.set(String(r[def.pk]), r);
    }
    const out: T[] = [];
    for (const r of cache.values()) if (r && r[column] === value) out.push(r as T);
    return out;
  }

  /** Rows and journal entries waiting for `flush`. */
  get pending(): number {
    let n = this.#journal.length;
    for (const m of this.#dirty.values()) n += m.size;
    for (const a of this.#appends.values()) n += a.length;
    return n;
  }

  /** Writes everything dirty inside `tx`; call `afterCommit` once the transaction committed. */
  async flush(tx: Tx): Promise<void> {
    for (const t of Object.keys(TABLES) as TableName[]) {
      const dirty = this.#dirty.get(t)!;
      if (dirty.size > 0) await this.#write(tx, t, [...dirty.values()], true);
      const appends = this.#appends.get(t)!;
      if (appends.length > 0) await this.#write(tx, t, appends, false);
    }
    if (this.#journal.length > 0) {
      const rows = this.#journal.map((j) => ({ block: j.block, tableName: j.table, pk: j.pk, before: j.before }));
      await this.#insert(tx, "reorg_journal", ["block", "tableName", "pk", "before"], rows, undefined);
    }
  }

  /** Forgets what was flushed; evicts big tables. */
  afterCommit(): void {
    for (const t of Object.keys(TABLES) as TableName[]) {
      this.#dirty.get(t)!.clear();
      this.#appends.get(t)!.length = 0;
      const cache = this.#cache.get(t)!;
      if (TABLES[t].cached && cache.size > this.maxCachedRows) {
        cache.clear();
        this.#complete.delete(t);
        if (t === "job_worker") {
          this.#workersByJob.clear();
          this.#workersByJobComplete = false;
        }
      }
    }
    this.#journal = [];
    this.#journaled.clear();
  }

  /** Starts journaling for `block` (undefined: final blocks, no journal). */
  setJournalBlock(block: bigint | undefined): void {
    this.journalBlock = block;
    this.#journaled.clear();
  }

  async #write(tx: Tx, t: TableName, rows: Row[], upsert: boolean): Promise<void> {
    const def: TableDef = TABLES[t];
    await this.#insert(tx, t, this.columns(t), rows, upsert ? def.pk : undefined, def.external);
  }

  async #insert(tx: Tx, t: string, cols: string[], rows: Row[], conflictKey: string | undefined, keep: readonly string[] = []): Promise<void> {
    const table = this.db.table(t);
    const colList = cols.map((c) => `"${c}"`).join(", ");
    const update = conflictKey
      ? ` ON CONFLICT ("${conflictKey}") DO UPDATE SET ${cols.filter((c) => c !== conflictKey && !keep.includes(c)).map((c) => `"${c}" = excluded."${c}"`).join(", ")}`
      : "";
    const perStmt = Math.max(1, Math.floor((this.db.provider === "sqlite" ? 30_000 : 60_000) / cols.length));
    const pg = this.db.provider === "postgresql";
    for (let i = 0; i < rows.length; i += perStmt) {
      const chunk = rows.slice(i, i + perStmt);
      const params: unknown[] = [];
      const tuples: string[] = [];
      let n = 0;
      for (const r of chunk) {
        const ph: string[] = [];
        for (const c of cols) {
          const v = r[c];
          params.push(v === undefined ? null : v);
          ph.push(pg ? `$${++n}` : "?");
        }
        tuples.push(`(${ph.join(", ")})`);
      }
      await tx.$executeRawUnsafe(`INSERT INTO ${table} (${colList}) VALUES ${tuples.join(", ")}${update}`, ...params);
      this.rowsWritten += chunk.length;
    }
  }

  /**
   * Undoes every write journaled for blocks after `ancestor` (newest first), inside `tx`.
   * The caller then resets the cache.
   */
  async rollback(tx: Tx, ancestor: bigint): Promise<number> {
    const j = this.db.table("reorg_journal");
    const entries = await tx.$queryRawUnsafe<{ id: number; tableName: string; pk: string; before: string | null }[]>(
      `SELECT "id", "tableName", "pk", "before" FROM ${j} WHERE "block" > ${ph(this.db, 1)} ORDER BY "id" DESC`,
      ancestor,
    );
    for (const e of entries) {
      const t = e.tableName as TableName;
      const def: TableDef = TABLES[t];
      const pk = decodeRow(e.pk).k;
      if (e.before === null) {
        await tx.$executeRawUnsafe(`DELETE FROM ${this.db.table(t)} WHERE "${def.pk}" = ${ph(this.db, 1)}`, pk);
      } else {
        await this.#insert(tx, t, this.columns(t), [decodeRow(e.before)], def.pk, def.keepExternalOnRollback ? def.external : []);
      }
    }
    await tx.$executeRawUnsafe(`DELETE FROM ${j} WHERE "block" > ${ph(this.db, 1)}`, ancestor);
    return entries.length;
  }
}
