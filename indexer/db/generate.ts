/**
 * Generates one Prisma Client per database provider from prisma/schema.prisma, without Prisma's
 * native schema engine (docs/indexer.md). Runs from `npm install` (postinstall) and `npm run db:generate`.
 *
 *   prisma/schema.prisma                 the source of truth (provider "sqlite")
 *   prisma/generated/<provider>/schema.prisma   derived: datasource provider + client output differ
 *   indexer/generated/<provider>/        the generated clients (git-ignored)
 *
 * Skips work when the generated client is newer than the schema (a stamp holds the schema's hash),
 * so it is cheap to call at start-up too (`ensureGenerated`).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PROVIDERS = ["sqlite", "postgresql"] as const;
export type DbProvider = (typeof PROVIDERS)[number];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const schemaPath = path.join(root, "prisma", "schema.prisma");

/** The schema text for `provider`: only the datasource provider and the generator output change. */
export function schemaFor(provider: DbProvider, source = readFileSync(schemaPath, "utf8")): string {
  const out = source
    .replace(/provider\s*=\s*"sqlite"/, `provider = "${provider}"`)
    .replace(/output\s*=\s*"\.\.\/indexer\/generated\/sqlite"/, `output                 = "../../../indexer/generated/${provider}"`);
  if (!out.includes(`provider = "${provider}"`) || !out.includes(`indexer/generated/${provider}`)) {
    throw new Error("prisma/schema.prisma: expected datasource provider \"sqlite\" and output \"../indexer/generated/sqlite\"");
  }
  return out;
}

function stampFor(provider: DbProvider): string {
  const cli = JSON.parse(readFileSync(path.join(root, "node_modules", "prisma", "package.json"), "utf8")) as { version: string };
  return createHash("sha256").update(schemaFor(provider)).update(cli.version).digest("hex");
}

function stampFile(provider: DbProvider): string {
  return path.join(root, "indexer", "generated", provider, ".schema-hash");
}

export function isGenerated(provider: DbProvider): boolean {
  const f = stampFile(provider);
  return existsSync(f) && readFileSync(f, "utf8") === stampFor(provider);
}

export function generate(provider: DbProvider, opts: { quiet?: boolean } = {}): void {
  const dir = path.join(root, "prisma", "generated", provider);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "schema.prisma");
  writeFileSync(file, `// GENERATED from prisma/schema.prisma by indexer/db/generate.ts: do not edit.\n${schemaFor(provider)}`);
  const cli = path.join(root, "node_modules", "prisma", "build", "index.js");
  const res = spawnSync(process.execPath, [cli, "generate", "--schema", file, "--config", path.join(root, "prisma.config.ts")], {
    cwd: root,
    stdio: opts.quiet ? "pipe" : "inherit",
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? path.join(root, "prisma", "no-schema-engine.sh"),
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
      CHECKPOINT_DISABLE: "1",
    },
  });
  if (res.status !== 0) {
    const detail = opts.quiet ? `\n${res.stdout?.toString() ?? ""}${res.stderr?.toString() ?? ""}` : "";
    throw new Error(`prisma generate failed for ${provider} (exit ${res.status})${detail}`);
  }
  writeFileSync(stampFile(provider), stampFor(provider));
}

/** Generates whatever client is missing or stale (cheap when all are current). */
export function ensureGenerated(providers: readonly DbProvider[] = PROVIDERS, opts: { quiet?: boolean } = {}): void {
  for (const p of providers) if (!isGenerated(p)) generate(p, opts);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes("--force");
  for (const p of PROVIDERS) {
    if (!force && isGenerated(p)) {
      console.log(`[db:generate] ${p} client is current`);
      continue;
    }
    generate(p);
  }
}
