/**
 * SQL for the generated API: `where` filters, orders, keyset cursors and page windows compiled to
 * one SQL statement per list (per level of nesting), for SQLite and PostgreSQL alike, run through
 * Prisma's raw query path (values come back typed: BigInt, Int, Float, Boolean, String).
 *
 * Semantics shared with the in-memory reference of test/api/pagination.test.ts:
 * - order: the orderBy field in orderDirection, then the primary key in the same direction;
 *   NULLs sort after every value in ascending order (before them in descending order); amounts
 *   (decimal strings) sort numerically (by length, then text); text compares byte-wise (COLLATE "C").
 * - window: rows matching `where`, strictly after `after` and strictly before `before`.
 * - page: the first `first` rows of the window (default 20), or its last `last` rows.
 * - hasPreviousPage / hasNextPage: whether rows matching `where` precede / follow the page.
 */
import { GraphQLError } from "graphql";
import os from "node:os";
import pg from "pg";
import { sqliteFile, type Db } from "../indexer/db/index.ts";
import type { Entity, Field, Relation } from "./model.ts";
import { PgReader } from "./pg-reader.ts";
import { SqliteReader } from "./sqlite-reader.ts";

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 20;
const INT64_MAX = 2n ** 63n - 1n;

export function userError(message: string, code: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export type Filter = Record<string, unknown>;

export interface PageArgs {
  where?: Filter | null;
  orderBy?: string | null;
  orderDirection?: "asc" | "desc" | null;
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

type Row = Record<string, unknown>;

const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** One statement's text and parameters; placeholders are numbered ($n on PostgreSQL, ?n on SQLite). */
class Sql {
  params: unknown[] = [];
  readonly pg: boolean;
  constructor(pg: boolean) {
    this.pg = pg;
  }
  p(v: unknown): string {
    this.params.push(v);
    return this.pg ? `$${this.params.length}` : `?${this.params.length}`;
  }
}

// ------------------------------------------------------------------ values

function int64(f: Field, v: unknown, what: string): bigint {
  const n = typeof v === "bigint" ? v : BigInt(v as string);
  if (n > INT64_MAX || n < -INT64_MAX - 1n) throw userError(`${what} is out of range: ${n} (${f.gql} is a 64-bit integer, at most ${INT64_MAX})`, "BAD_USER_INPUT", { field: f.gql });
  return n;
}

/** A filter or cursor value as a query parameter. */
function param(f: Field, v: unknown, what: string): unknown {
  switch (f.kind) {
    case "BigInt":
      return int64(f, v, what);
    case "Amount":
      return (typeof v === "bigint" ? v : BigInt(v as string)).toString();
    default:
      return v;
  }
}

function col(f: Field, alias = "t"): string {
  return `${alias}.${q(f.column)}`;
}

function isText(f: Field): boolean {
  return f.kind === "String" || f.kind === "Address" || f.kind === "Bytes32" || f.kind === "Enum" || f.kind === "Amount";
}

/** A column as a comparable expression (byte-wise text on PostgreSQL). */
function cexpr(s: Sql, f: Field, alias: string): string {
  return s.pg && isText(f) ? `${col(f, alias)} COLLATE "C"` : col(f, alias);
}

/** `column op value` with amounts compared numerically. */
function compare(s: Sql, f: Field, alias: string, op: "<" | ">" | "<=" | ">=", v: unknown, what: string): string {
  const pv = param(f, v, what);
  if (f.kind !== "Amount") return `${cexpr(s, f, alias)} ${op} ${s.p(pv)}`;
  const str = pv as string;
  const strict = op === "<" || op === ">" ? op : op === "<=" ? "<" : ">";
  return `(length(${col(f, alias)}) ${strict} ${s.p(str.length)} OR (length(${col(f, alias)}) = ${s.p(str.length)} AND ${cexpr(s, f, alias)} ${op} ${s.p(str)}))`;
}

// ------------------------------------------------------------------ filters

const SUFFIXES = ["not_in", "not_contains", "not_starts_with", "not_ends_with", "starts_with", "ends_with", "contains", "not", "in", "gt", "lt", "gte", "lte"] as const;
type Suffix = (typeof SUFFIXES)[number] | "";

export function suffixesFor(f: Field): Suffix[] {
  const base: Suffix[] = ["", "not", "in", "not_in"];
  if (f.kind === "Boolean") return ["", "not"];
  if (f.kind === "Enum") return base;
  if (f.kind === "Address" || f.kind === "Bytes32") return [...base, "contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with"];
  if (f.kind === "Int" || f.kind === "BigInt" || f.kind === "Float" || f.kind === "Amount") return [...base, "gt", "lt", "gte", "lte"];
  return [...base, "gt", "lt", "gte", "lte", "contains", "not_contains", "starts_with", "not_starts_with", "ends_with", "not_ends_with"];
}

function splitKey(e: Entity, key: string): { f: Field; op: Suffix } | undefined {
  const f = e.byGql.get(key);
  if (f) return { f, op: "" };
  for (const s of SUFFIXES) {
    if (key.endsWith(`_${s}`)) {
      const g = e.byGql.get(key.slice(0, -s.length - 1));
      if (g) return { f: g, op: s };
    }
  }
  return undefined;
}

function textArg(s: Sql, f: Field, alias: string, v: string): [string, string] {
  // addresses match in any case; everything else byte-wise
  const ph = (x: string) => (s.pg ? `CAST(${s.p(x)} AS TEXT)` : s.p(x));
  if (f.kind === "Address") return [`lower(${col(f, alias)})`, ph(v.toLowerCase())];
  if (f.kind === "Bytes32") return [col(f, alias), ph(v.toLowerCase())];
  return [cexpr(s, f, alias), ph(v)];
}

function fieldCondition(s: Sql, f: Field, op: Suffix, v: unknown, alias: string): string {
  const what = `${f.gql}${op ? `_${op}` : ""}`;
  const c = col(f, alias);
  switch (op) {
    case "":
      return v === null ? `${c} IS NULL` : `${c} = ${s.p(param(f, v, what))}`;
    case "not":
      return v === null ? `${c} IS NOT NULL` : `(${c} IS NULL OR ${c} <> ${s.p(param(f, v, what))})`;
    case "in":
    case "not_in": {
      const list = v as unknown[];
      if (list.length === 0) return op === "in" ? "1 = 0" : "1 = 1";
      const inList = `${c} IN (${list.map((x) => s.p(param(f, x, what))).join(", ")})`;
      return op === "in" ? inList : `(${c} IS NULL OR NOT ${inList})`;
    }
    case "gt":
      return compare(s, f, alias, ">", v, what);
    case "lt":
      return compare(s, f, alias, "<", v, what);
    case "gte":
      return compare(s, f, alias, ">=", v, what);
    case "lte":
      return compare(s, f, alias, "<=", v, what);
    default: {
      const [lhs, rhs] = textArg(s, f, alias, v as string);
      const pos = s.pg ? `strpos(${lhs}, ${rhs})` : `instr(${lhs}, ${rhs})`;
      const len = `length(${rhs})`;
      const cond = op.endsWith("contains") ? `${pos} > 0` : op.endsWith("starts_with") ? `substr(${lhs}, 1, ${len}) = ${rhs}` : `(length(${lhs}) >= ${len} AND substr(${lhs}, length(${lhs}) - ${len} + 1) = ${rhs})`;
      return op.startsWith("not_") ? `(${c} IS NULL OR NOT (${cond}))` : `(${c} IS NOT NULL AND ${cond})`;
    }
  }
}

let aliasSeq = 0;

/** Compiles a `where` input to a SQL condition on rows of `e` aliased `alias` (undefined: no condition). */
export function compileWhere(db: Db, s: Sql, e: Entity, where: Filter | null | undefined, alias = "t"): string | undefined {
  if (!where) return undefined;
  const parts: string[] = [];
  for (const [key, v] of Object.entries(where)) {
    if (v === undefined) continue;
    if (key === "AND" || key === "OR") {
      if (v === null) continue;
      const subs = (v as Filter[]).map((w) => compileWhere(db, s, e, w, alias) ?? "1 = 1");
      if (subs.length) parts.push(`(${subs.join(key === "AND" ? " AND " : " OR ")})`);
      else if (key === "OR") parts.push("1 = 0");
      continue;
    }
    const rel = e.relations.find((r) => r.name === key || (r.many && `${r.name}_some` === key) || (r.many && `${r.name}_none` === key));
    if (rel) {
      if (v === null) continue;
      const a = `r${++aliasSeq}`;
      const on = rel.fromFields.map((ff, i) => `${col(rel.toFields[i], a)} = ${col(ff, alias)}`).join(" AND ");
      const sub = compileWhere(db, s, rel.to, v as Filter, a);
      const exists = `EXISTS (SELECT 1 FROM ${db.table(rel.to.table)} ${a} WHERE ${on}${sub ? ` AND ${sub}` : ""})`;
      parts.push(key.endsWith("_none") ? `NOT ${exists}` : exists);
      continue;
    }
    const k = splitKey(e, key);
    if (!k) throw userError(`unknown filter ${key} on ${e.name}`, "BAD_USER_INPUT");
    parts.push(fieldCondition(s, k.f, k.op, v, alias));
  }
  return parts.length ? parts.join(" AND ") : undefined;
}

// ------------------------------------------------------------------ order and cursors

interface Key {
  f: Field;
  dir: "asc" | "desc";
}

/** Event rows (with `block` and `logIndex`) are in chain order unless asked otherwise; other rows by id. */
export function defaultOrder(e: Entity): Field {
  const block = e.byName.get("block");
  return block && e.byName.has("logIndex") ? block : e.id[0];
}

function orderKeys(e: Entity, orderBy: string | null | undefined, direction: "asc" | "desc"): Key[] {
  const f = orderBy ? e.byGql.get(orderBy) : defaultOrder(e);
  if (!f) throw userError(`cannot order ${e.name} by ${orderBy}`, "BAD_USER_INPUT");
  const keys: Key[] = [{ f, dir: direction }];
  // ties: chain order within a block, then the id
  if (f.name === "block" && e.byName.has("logIndex")) keys.push({ f: e.byName.get("logIndex")!, dir: direction });
  for (const id of e.id) if (!keys.some((k) => k.f === id)) keys.push({ f: id, dir: direction });
  return keys;
}

function orderSql(keys: Key[], reverse: boolean, alias: string, pg: boolean): string {
  const out: string[] = [];
  for (const k of keys) {
    const d = (k.dir === "asc") !== reverse ? "ASC" : "DESC";
    if (k.f.nullable) out.push(`(${col(k.f, alias)} IS NULL) ${d}`);
    if (k.f.kind === "Amount") out.push(`length(${col(k.f, alias)}) ${d}`);
    out.push(`${pg && isText(k.f) ? `${col(k.f, alias)} COLLATE "C"` : col(k.f, alias)} ${d}`);
  }
  return out.join(", ");
}

/** Rows strictly after (or at-or-after) the key values in the keys' order. */
function afterSql(s: Sql, keys: Key[], vals: unknown[], alias: string, inclusive: boolean): string {
  const ors: string[] = [];
  const eqs: string[] = [];
  keys.forEach((k, i) => {
    const v = vals[i];
    const c = col(k.f, alias);
    let gt: string;
    if (v === null) gt = k.dir === "asc" ? "1 = 0" : `${c} IS NOT NULL`;
    else {
      const cmp = compare(s, k.f, alias, k.dir === "asc" ? ">" : "<", v, "cursor");
      gt = k.f.nullable ? (k.dir === "asc" ? `(${c} IS NULL OR ${cmp})` : `(${c} IS NOT NULL AND ${cmp})`) : cmp;
    }
    ors.push(eqs.length ? `(${eqs.join(" AND ")} AND ${gt})` : gt);
    // (every placeholder must be used: PostgreSQL refuses unused parameters)
    if (i < keys.length - 1 || inclusive) eqs.push(v === null ? `${c} IS NULL` : `${c} = ${s.p(param(k.f, v, "cursor"))}`);
  });
  if (inclusive) ors.push(`(${eqs.join(" AND ")})`);
  return `(${ors.join(" OR ")})`;
}

const flip = (keys: Key[]): Key[] => keys.map((k) => ({ f: k.f, dir: k.dir === "asc" ? "desc" : "asc" }));

export function encodeCursor(orderBy: string, keys: Key[], row: Row): string {
  const v = keys.map((k) => {
    const x = row[k.f.name];
    return typeof x === "bigint" ? x.toString() : x;
  });
  return Buffer.from(JSON.stringify([orderBy, ...v])).toString("base64url");
}

function decodeCursor(cursor: string, orderBy: string, keys: Key[], arg: string): unknown[] {
  const bad = (why: string) => userError(`invalid cursor in ${arg}: ${why}; pass a startCursor or endCursor from a page with the same orderBy`, "INVALID_CURSOR");
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(cursor)) throw new Error();
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString());
  } catch {
    throw bad("not a cursor");
  }
  if (!Array.isArray(parsed) || parsed.length !== keys.length + 1) throw bad("not a cursor");
  if (parsed[0] !== orderBy) throw bad(`it was made for orderBy ${JSON.stringify(parsed[0])}, not ${orderBy}`);
  return keys.map((k, i) => {
    const v = parsed[i + 1];
    if (v === null) {
      if (k.f.nullable) return null;
      throw bad(`${k.f.gql} cannot be null`);
    }
    switch (k.f.kind) {
      case "BigInt":
        if (typeof v === "string" && /^-?[0-9]{1,19}$/.test(v) && BigInt(v) <= INT64_MAX && BigInt(v) >= -INT64_MAX - 1n) return BigInt(v);
        throw bad(`${k.f.gql} is not a 64-bit integer`);
      case "Int":
        if (Number.isInteger(v) && Math.abs(v) < 2 ** 31) return v;
        throw bad(`${k.f.gql} is not an Int`);
      case "Float":
        if (typeof v === "number" && Number.isFinite(v)) return v;
        throw bad(`${k.f.gql} is not a number`);
      case "Boolean":
        if (typeof v === "boolean") return v;
        throw bad(`${k.f.gql} is not a boolean`);
      case "Amount":
        if (typeof v === "string" && /^(0|[1-9][0-9]{0,77})$/.test(v)) return v;
        throw bad(`${k.f.gql} is not an amount`);
      default:
        if (typeof v === "string" && v.length <= 1024) return v;
        throw bad(`${k.f.gql} is not a string`);
    }
  });
}

export function checkPageArgs(a: PageArgs): void {
  for (const k of ["first", "last"] as const) {
    const v = a[k];
    if (v === undefined || v === null) continue;
    if (v < 0) throw userError(`${k} must not be negative (got ${v})`, "BAD_USER_INPUT");
    if (v > MAX_PAGE) throw userError(`${k} is ${v}, over the page size limit of ${MAX_PAGE}: pass ${k}: ${MAX_PAGE} or less and page with cursors`, "PAGE_SIZE_EXCEEDED", { limit: MAX_PAGE });
  }
  if (a.first != null && a.last != null) throw userError("pass first or last, not both", "BAD_USER_INPUT");
}

// ------------------------------------------------------------------ pages

/**
 * Rows whose `fields` take one of the `keys`: one `IN` list per column (index-friendly; for several
 * columns a superset of the keys, which the callers match exactly when grouping).
 */
function keyCondition(s: Sql, fields: Field[], keys: unknown[][]): string {
  return (
    fields
      .map((f, i) => {
        const vals = [...new Set(keys.map((k) => k[i]).filter((v) => v !== null && v !== undefined))];
        return vals.length ? `${col(f)} IN (${vals.map((v) => s.p(param(f, v, f.gql))).join(", ")})` : "1 = 0";
      })
      .join(" AND ") || "1 = 0"
  );
}

export interface PageInfo {
  hasNextPage: boolean | (() => Promise<boolean>);
  hasPreviousPage: boolean | (() => Promise<boolean>);
  startCursor: string | null;
  endCursor: string | null;
}

export interface Page {
  items: Row[];
  pageInfo: PageInfo;
  totalCount: () => Promise<number>;
}

function selectList(e: Entity, fields: Field[], alias: string): string {
  return fields.map((f) => `${col(f, alias)} AS ${q(f.name)}`).join(", ");
}

/**
 * PostgreSQL reads go straight to `pg` (Prisma's raw path costs ~2.5 ms per statement on top:
 * measured in BENCHMARKS.md), through pipelined connections that write each event-loop turn's
 * statements together (api/pg-reader.ts); SQLite reads through a query-only libSQL connection of the
 * API's own (api/sqlite-reader.ts). Values come back typed the same way: int8 → bigint, int4 → number, numeric → text.
 */
const readers = new WeakMap<Db, PgReader>();
const int8 = (v: string) => BigInt(v);
const numeric = (v: string) => v;
const pgTypes = {
  getTypeParser: (oid: number, format?: string) => (oid === 20 ? int8 : oid === 1700 ? numeric : pg.types.getTypeParser(oid, format as never)),
};

/**
 * API_PG_CONNECTIONS: the API's PostgreSQL read connections; checked when the API starts. Default: the
 * machine's cores (at most 64). Each connection carries many statements at once, and more connections
 * than cores only split the batches and add wake-ups (2 cores, PostgreSQL on the same machine: 2
 * connections gave the list p99 ~40 ms where 4 gave ~55 ms, BENCHMARKS.md).
 */
export function pgConnectionsFromEnv(): number {
  const raw = process.env.API_PG_CONNECTIONS;
  if (raw === undefined || raw === "") return Math.min(64, Math.max(1, os.availableParallelism()));
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`API_PG_CONNECTIONS must be a whole number from 1 to 64, got "${raw}"`);
  return n;
}

function reader(db: Db): PgReader {
  let r = readers.get(db);
  if (!r) {
    const u = new URL(db.url);
    u.searchParams.delete("schema");
    r = new PgReader({ connectionString: u.toString(), size: pgConnectionsFromEnv(), types: pgTypes as pg.CustomTypesConfig });
    readers.set(db, r);
  }
  return r;
}

const sqliteReaders = new WeakMap<Db, SqliteReader>();

/** The API's own read connection to a SQLite file (api/sqlite-reader.ts); none for an in-memory database, which only Prisma's connection sees. */
function sqliteReader(db: Db): SqliteReader | undefined {
  if (db.provider !== "sqlite" || !db.url) return undefined;
  let r = sqliteReaders.get(db);
  if (!r) {
    const file = sqliteFile(db.url);
    if (file === ":memory:") return undefined;
    r = new SqliteReader(file);
    sqliteReaders.set(db, r);
  }
  return r;
}

/** Closes the API's own connections to `db` (the server does this on close). */
export async function closeReaders(db: Db): Promise<void> {
  const r = readers.get(db);
  readers.delete(db);
  await r?.close();
  sqliteReaders.get(db)?.close();
  sqliteReaders.delete(db);
}

/** Statements run by the generated resolvers (tests count them to prove batching). */
export const statements = { count: 0 };

async function raw(db: Db, s: Sql, text: string): Promise<Row[]> {
  statements.count++;
  if (db.provider === "postgresql" && db.url) {
    return reader(db).query(text, s.params.map((v) => (typeof v === "bigint" ? v.toString() : v)));
  }
  const lite = sqliteReader(db);
  if (lite) return lite.query(text, s.params);
  return (await db.prisma.$queryRawUnsafe(text, ...s.params)) as Row[];
}

interface Plan {
  keys: Key[];
  orderBy: string;
  backward: boolean;
  size: number;
  after?: unknown[];
  before?: unknown[];
}

function plan(e: Entity, a: PageArgs): Plan {
  checkPageArgs(a);
  const keys = orderKeys(e, a.orderBy, a.orderDirection === "desc" ? "desc" : "asc");
  const orderBy = keys[0].f.gql;
  const backward = a.last != null;
  const size = (backward ? a.last : a.first) ?? DEFAULT_PAGE;
  return {
    keys,
    orderBy,
    backward,
    size,
    after: a.after != null ? decodeCursor(a.after, orderBy, keys, "after") : undefined,
    before: a.before != null ? decodeCursor(a.before, orderBy, keys, "before") : undefined,
  };
}

/** The filter, the parent condition and the window's cursor conditions. */
function conditions(db: Db, s: Sql, e: Entity, p: Plan, where: Filter | null | undefined, extra: string[]): string[] {
  const conds = [...extra];
  const w = compileWhere(db, s, e, where);
  if (w) conds.push(w);
  if (p.after) conds.push(afterSql(s, p.keys, p.after, "t", false));
  if (p.before) conds.push(afterSql(s, flip(p.keys), p.before, "t", false));
  return conds;
}

async function exists(db: Db, e: Entity, where: Filter | null | undefined, extra: (s: Sql) => string[], cursorCond: (s: Sql) => string): Promise<boolean> {
  const s = new Sql(db.provider === "postgresql");
  const conds = [...extra(s)];
  const w = compileWhere(db, s, e, where);
  if (w) conds.push(w);
  conds.push(cursorCond(s));
  const rows = await raw(db, s, `SELECT 1 AS x FROM ${db.table(e.table)} t WHERE ${conds.join(" AND ")} LIMIT 1`);
  return rows.length > 0;
}

/**
 * Pages of `e` for each parent key (parentFields = keyTuples[i]), or one page when no parent is
 * given: one SQL statement for all of them (a window function partitions by parent).
 */
export async function findPages(db: Db, e: Entity, a: PageArgs, columns: Field[], parent?: { fields: Field[]; keys: unknown[][] }): Promise<Page[]> {
  const p = plan(e, a);
  const pg = db.provider === "postgresql";
  const s = new Sql(pg);
  const parentCond = (sq: Sql, key: unknown[]) => parent!.fields.map((f, i) => (key[i] === null ? "1 = 0" : `${col(f)} = ${sq.p(key[i])}`)).join(" AND ");
  const extra: string[] = [];
  if (parent) extra.push(keyCondition(s, parent.fields, parent.keys));
  const conds = conditions(db, s, e, p, a.where, extra);
  const cols = [...new Set([...columns, ...p.keys.map((k) => k.f), ...(parent?.fields ?? [])])];
  const whereSql = conds.length ? ` WHERE ${conds.join(" AND ")}` : "";
  const order = orderSql(p.keys, p.backward, "t", pg);
  let rows: Row[];
  if (p.size === 0 && !parent) rows = await raw(db, s, `SELECT ${selectList(e, cols, "t")} FROM ${db.table(e.table)} t${whereSql} ORDER BY ${order} LIMIT 1`);
  else if (!parent) rows = await raw(db, s, `SELECT ${selectList(e, cols, "t")} FROM ${db.table(e.table)} t${whereSql} ORDER BY ${order} LIMIT ${p.size + 1}`);
  else {
    const part = parent.fields.map((f) => col(f)).join(", ");
    rows = await raw(
      db,
      s,
      // the outer list leaves "__rn" out: rows keep one shape (deleting a property makes a slow object)
      `SELECT ${cols.map((f) => `w.${q(f.name)}`).join(", ")} FROM (SELECT ${selectList(e, cols, "t")}, ROW_NUMBER() OVER (PARTITION BY ${part} ORDER BY ${order}) AS "__rn" FROM ${db.table(e.table)} t${whereSql}) w WHERE "__rn" <= ${p.size + 1} ORDER BY "__rn"`,
    );
  }
  const groups = new Map<string, Row[]>();
  const keyOf = (vals: unknown[]) => vals.map(String).join("\u0000");
  for (const r of rows) {
    const k = parent ? keyOf(parent.fields.map((f) => r[f.name])) : "";
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const parentKeys = parent ? parent.keys : [[]];
  return parentKeys.map((pk) => {
    const got = groups.get(parent ? keyOf(pk) : "") ?? [];
    const more = got.length > p.size;
    const items = got.slice(0, p.size);
    if (p.backward) items.reverse();
    const extraFor = (sq: Sql) => (parent ? [parentCond(sq, pk)] : []);
    const existsAfter = (vals: unknown[], inclusive: boolean) => () => exists(db, e, a.where, extraFor, (sq) => afterSql(sq, p.keys, vals, "t", inclusive));
    const existsBefore = (vals: unknown[], inclusive: boolean) => () => exists(db, e, a.where, extraFor, (sq) => afterSql(sq, flip(p.keys), vals, "t", inclusive));
    let hasNextPage: PageInfo["hasNextPage"];
    let hasPreviousPage: PageInfo["hasPreviousPage"];
    // an empty window (inverted cursors) places the page right after `after` (forward) or right before `before` (backward)
    const existsAny = () => exists(db, e, a.where, extraFor, () => "1 = 1");
    if (!p.backward) {
      if (items.length === 0 && !more) hasNextPage = p.after ? existsAfter(p.after, false) : p.before ? existsAny : false;
      else hasNextPage = more ? true : p.before ? existsAfter(p.before, true) : false;
      hasPreviousPage = p.after ? existsBefore(p.after, true) : false;
    } else {
      if (items.length === 0 && !more) hasPreviousPage = p.before ? existsBefore(p.before, false) : p.after ? existsAny : false;
      else hasPreviousPage = more ? true : p.after ? existsBefore(p.after, true) : false;
      hasNextPage = p.before ? existsAfter(p.before, true) : false;
    }
    let total: Promise<number> | undefined;
    return {
      items,
      pageInfo: {
        hasNextPage,
        hasPreviousPage,
        startCursor: items.length ? encodeCursor(p.orderBy, p.keys, items[0]) : null,
        endCursor: items.length ? encodeCursor(p.orderBy, p.keys, items[items.length - 1]) : null,
      },
      totalCount: () => (total ??= count(db, e, a.where, extraFor)),
    };
  });
}

export async function count(db: Db, e: Entity, where: Filter | null | undefined, extra: (s: Sql) => string[] = () => []): Promise<number> {
  const s = new Sql(db.provider === "postgresql");
  const conds = [...extra(s)];
  const w = compileWhere(db, s, e, where);
  if (w) conds.push(w);
  const rows = await raw(db, s, `SELECT COUNT(*) AS c FROM ${db.table(e.table)} t${conds.length ? ` WHERE ${conds.join(" AND ")}` : ""}`);
  return Number(rows[0].c);
}

/** Counts per parent key in one statement (GROUP BY). */
export async function countByParent(db: Db, e: Entity, where: Filter | null | undefined, fields: Field[], keys: unknown[][]): Promise<number[]> {
  const s = new Sql(db.provider === "postgresql");
  const conds = [keyCondition(s, fields, keys)];
  const w = compileWhere(db, s, e, where);
  if (w) conds.push(w);
  const rows = await raw(db, s, `SELECT ${selectList(e, fields, "t")}, COUNT(*) AS "__c" FROM ${db.table(e.table)} t WHERE ${conds.join(" AND ")} GROUP BY ${fields.map((f) => col(f)).join(", ")}`);
  const m = new Map(rows.map((r) => [fields.map((f) => String(r[f.name])).join("\u0000"), Number(r.__c)]));
  return keys.map((k) => m.get(k.map(String).join("\u0000")) ?? 0);
}

/** Rows of `e` whose `fields` equal one of `keys` (every column), in one statement. */
export async function findByKeys(db: Db, e: Entity, fields: Field[], keys: unknown[][], columns: Field[] = e.fields): Promise<Row[]> {
  const s = new Sql(db.provider === "postgresql");
  if (keys.length === 0) return [];
  const cond = keyCondition(s, fields, keys);
  return raw(db, s, `SELECT ${selectList(e, columns, "t")} FROM ${db.table(e.table)} t WHERE ${cond}`);
}

export function relationKey(r: Relation, row: Row): unknown[] {
  return r.fromFields.map((f) => row[f.name] ?? null);
}
