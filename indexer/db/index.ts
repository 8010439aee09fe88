/**
 * Opens the indexer's database: SQLite (a file under the data directory, the default) or
 * PostgreSQL (when DATABASE_URL is a postgres:// URL), through Prisma 7 driver adapters, and
 * applies the committed migrations (indexer/db/migrate.ts).
 *
 *   file:/abs/or/relative/path.db           SQLite (libSQL driver)
 *   postgresql://user@host:5432/db?schema=x PostgreSQL; `schema` selects a PostgreSQL schema (default public)
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureGenerated, type DbProvider } from "./generate.ts";
import { migrate } from "./migrate.ts";
import type { PrismaClient } from "../generated/sqlite/client.ts";

export type { DbProvider };
export type Prisma = PrismaClient;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface Db {
  provider: DbProvider;
  /** The Prisma Client (typed as the SQLite client; the PostgreSQL client has the same API). */
  prisma: PrismaClient;
  /** PostgreSQL schema, or undefined for SQLite. */
  schema: string | undefined;
  /** A quoted, schema-qualified table name for raw SQL. */
  table(name: string): string;
  /** The URL without credentials, for logs. */
  safeUrl: string;
  /** The URL as given (readers that bypass Prisma, such as the API's SQL, connect with it). */
  url: string;
  close(): Promise<void>;
}

export function defaultDatabaseUrl(dataDir = process.env.DATA_DIR ?? path.join(root, ".data")): string {
  return `file:${path.join(dataDir, "indexer.db")}`;
}

export function providerOf(url: string): DbProvider {
  if (/^postgres(ql)?:\/\//i.test(url)) return "postgresql";
  if (/^file:/i.test(url)) return "sqlite";
  throw new Error(`DATABASE_URL must start with file: (SQLite) or postgresql:// (PostgreSQL), got "${redact(url)}"`);
}

/** The file of a file: URL (query string dropped). */
export function sqliteFile(url: string): string {
  return url.replace(/^file:/i, "").replace(/\?.*$/, "");
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

export interface OpenOptions {
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Prisma query log callback (used by tests to count queries). */
  onQuery?: (e: { query: string; duration: number }) => void;
}

export async function openDb(url = process.env.DATABASE_URL ?? defaultDatabaseUrl(), opts: OpenOptions = {}): Promise<Db> {
  const provider = providerOf(url);
  ensureGenerated([provider], { quiet: true });
  const log = opts.onQuery ? [{ emit: "event" as const, level: "query" as const }] : [];
  let prisma: PrismaClient;
  let schema: string | undefined;
  if (provider === "sqlite") {
    const file = sqliteFile(url);
    if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const { PrismaLibSql } = await import("@prisma/adapter-libsql");
    const { PrismaClient: Client } = await import("../generated/sqlite/client.ts");
    const adapter = new PrismaLibSql({ url: `file:${file}` });
    prisma = new Client({ adapter, log }) as unknown as PrismaClient;
    // WAL: readers (the API) never block the writer; NORMAL sync is safe against process crashes.
    await prisma.$queryRawUnsafe("PRAGMA journal_mode = WAL");
    await prisma.$queryRawUnsafe("PRAGMA busy_timeout = 10000");
    await prisma.$executeRawUnsafe("PRAGMA synchronous = NORMAL");
  } else {
    const u = new URL(url);
    schema = u.searchParams.get("schema") ?? "public";
    u.searchParams.delete("schema");
    const { PrismaPg } = await import("@prisma/adapter-pg");
    const { PrismaClient: Client } = await import("../generated/postgresql/client.ts");
    const adapter = new PrismaPg({ connectionString: u.toString(), max: Number(process.env.PG_POOL_SIZE ?? 10) }, { schema });
    prisma = new Client({ adapter, log }) as unknown as PrismaClient;
  }
  if (opts.onQuery) (prisma as unknown as { $on(e: "query", cb: (e: { query: string; duration: number }) => void): void }).$on("query", opts.onQuery);
  const db: Db = {
    provider,
    prisma,
    schema,
    table: (name) => (schema ? `${quoteIdent(schema)}.${quoteIdent(name)}` : quoteIdent(name)),
    safeUrl: redact(url),
    url,
    close: () => prisma.$disconnect(),
  };
  if (opts.migrate !== false) await migrate(db);
  return db;
}
