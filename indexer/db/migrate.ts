/**
 * Applies the committed migrations (prisma/migrations/<NNNN>_<name>/<provider>.sql) in order, each
 * in one transaction together with its row in `_indexer_migrations` (name, checksum). A migration
 * already applied whose file changed since is refused (edit a schema by adding a migration, never
 * by changing one). Concurrent starters are serialised: PostgreSQL by an advisory lock, SQLite by
 * its write lock. `npm run db:migrate` runs it alone.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Db } from "./index.ts";
import { listMigrations, migrationsDir } from "./migrations.ts";

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function loadMigrations(provider: Db["provider"]): Migration[] {
  return listMigrations().map((name) => {
    const sql = readFileSync(path.join(migrationsDir, name, `${provider}.sql`), "utf8");
    return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
  });
}

/** Splits Prisma's migration SQL into statements (it never puts `;` at a line end inside one). */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
    .filter((s) => s.length > 0);
}

/** The i-th (1-based) positional placeholder in raw SQL. */
export function ph(db: Pick<Db, "provider">, i: number): string {
  return db.provider === "postgresql" ? `$${i}` : "?";
}

const LOCK_KEY = 7_104_512_339; // pg_advisory_xact_lock key for this indexer's migrations

export async function migrate(db: Db): Promise<string[]> {
  const { prisma } = db;
  const t = db.table("_indexer_migrations");
  if (db.schema) await prisma.$executeRawUnsafe(`CREATE SCHEMA IF NOT EXISTS "${db.schema.replace(/"/g, '""')}"`);
  await prisma.$executeRawUnsafe(`CREATE TABLE IF NOT EXISTS ${t} ("name" TEXT PRIMARY KEY, "checksum" TEXT NOT NULL, "appliedAt" BIGINT NOT NULL)`);
  const applied: string[] = [];
  for (const m of loadMigrations(db.provider)) {
    await prisma.$transaction(
      async (tx) => {
        if (db.provider === "postgresql") {
          await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
          await tx.$executeRawUnsafe(`SET LOCAL search_path TO "${db.schema!.replace(/"/g, '""')}"`);
        }
        const rows = await tx.$queryRawUnsafe<{ checksum: string }[]>(`SELECT "checksum" FROM ${t} WHERE "name" = ${ph(db, 1)}`, m.name);
        if (rows.length > 0) {
          if (rows[0].checksum !== m.checksum) {
            throw new Error(`migration ${m.name} was changed after it was applied (checksum differs): add a new migration instead`);
          }
          return;
        }
        for (const stmt of splitStatements(m.sql)) await tx.$executeRawUnsafe(stmt);
        await tx.$executeRawUnsafe(`INSERT INTO ${t} ("name", "checksum", "appliedAt") VALUES (${ph(db, 1)}, ${ph(db, 2)}, ${ph(db, 3)})`, m.name, m.checksum, BigInt(Date.now()));
        applied.push(m.name);
      },
      { timeout: 120_000, maxWait: 120_000 },
    );
  }
  return applied;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { openDb } = await import("./index.ts");
  const db = await openDb(undefined, { migrate: false });
  const applied = await migrate(db);
  console.log(applied.length ? `applied ${applied.join(", ")} to ${db.safeUrl}` : `${db.safeUrl} is up to date`);
  await db.close();
  process.exit(0);
}
