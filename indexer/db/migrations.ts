/** Where the committed migrations live (prisma/migrations/<NNNN>_<name>/). */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "prisma", "migrations");

export function listMigrations(): string[] {
  if (!existsSync(migrationsDir)) return [];
  return readdirSync(migrationsDir).filter((d) => /^\d{4}_[a-z0-9_]+$/.test(d)).sort();
}
