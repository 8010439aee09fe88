/**
 * Writes a new migration: `npm run db:migration -- <name>`.
 *
 * Each migration is a folder prisma/migrations/<NNNN>_<name>/ holding the schema it brings the
 * database to (schema.prisma, a snapshot of prisma/schema.prisma) and the SQL for each provider
 * (sqlite.sql, postgresql.sql). The SQL is Prisma's own: the schema engine (as WebAssembly,
 * indexer/db/schema-engine.ts) diffs the previous snapshot against the current schema, so no
 * database and no native engine are needed (the PostgreSQL diff connects to MIGRATION_PG_URL,
 * default postgresql://postgres@127.0.0.1:5432/test, without changing it). indexer/db/migrate.ts
 * applies the folders in order at start-up.
 *
 *   --check   exit 1 if the committed migrations do not reach prisma/schema.prisma (CI / tests)
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PROVIDERS, schemaFor, schemaPath, type DbProvider } from "./generate.ts";
import { diffSchemas } from "./schema-engine.ts";
import { listMigrations, migrationsDir } from "./migrations.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Post-processes the engine's SQL: tables live in the connection's schema, not always "public". */
export function normalizeSql(provider: DbProvider, sql: string): string {
  let out = sql.replace(/\r\n/g, "\n");
  if (provider === "postgresql") out = out.replace(/-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS "public";\n*/g, "");
  return out.trim() + "\n";
}

/** SQL from the last committed snapshot (or nothing) to the current schema, per provider. */
export async function pendingDiff(providers: readonly DbProvider[] = PROVIDERS): Promise<Record<string, string>> {
  const current = readFileSync(schemaPath, "utf8");
  const last = listMigrations().at(-1);
  const previous = last ? readFileSync(path.join(migrationsDir, last, "schema.prisma"), "utf8") : undefined;
  const out: Record<string, string> = {};
  for (const p of providers) {
    const sql = await diffSchemas(p, previous === undefined ? undefined : schemaFor(p, previous), schemaFor(p, current));
    out[p] = sql.trim() === "" || /^-- This is an empty migration\.?$/m.test(sql.trim()) ? "" : normalizeSql(p, sql);
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2).filter((a) => a !== "--");
  const check = args.includes("--check");
  const diff = await pendingDiff();
  const changed = Object.values(diff).some((s) => s !== "");
  if (check) {
    if (changed) {
      console.error("prisma/schema.prisma has changes that no migration covers: run `npm run db:migration -- <name>`");
      for (const [p, sql] of Object.entries(diff)) if (sql) console.error(`--- ${p}\n${sql}`);
      process.exit(1);
    }
    console.log("migrations are in sync with prisma/schema.prisma");
    process.exit(0);
  }
  if (!changed) {
    console.log("no schema changes: nothing to write");
    process.exit(0);
  }
  const name = (args.find((a) => !a.startsWith("--")) ?? "migration").toLowerCase().replace(/[^a-z0-9]+/g, "_");
  const n = listMigrations().length + 1;
  const dir = path.join(migrationsDir, `${String(n).padStart(4, "0")}_${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "schema.prisma"), readFileSync(schemaPath, "utf8"));
  for (const [p, sql] of Object.entries(diff)) writeFileSync(path.join(dir, `${p}.sql`), sql || "-- no change for this provider\n");
  console.log(`wrote ${path.relative(root, dir)}`);
  process.exit(0);
}
