/**
 * Prisma's schema engine as WebAssembly (@prisma/schema-engine-wasm, a devDependency pinned to the
 * engines version of prisma 7.10.0), driven through a driver adapter instead of the native binary
 * that the Prisma CLI would download. Used only to write migration SQL (`npm run db:migration`) and
 * by the test that checks the committed migrations match prisma/schema.prisma; running the indexer
 * never needs it. The package's own entry imports the .wasm as an ES module, which Node cannot do,
 * so the module is instantiated by hand (docs/indexer.md, "Prisma without its native engine").
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type { DbProvider } from "./generate.ts";

const require = createRequire(import.meta.url);

type Bg = typeof import("@prisma/schema-engine-wasm/schema_engine_bg");
let bgPromise: Promise<Bg> | undefined;

async function loadWasm(): Promise<Bg> {
  const bg = (await import("@prisma/schema-engine-wasm/schema_engine_bg")) as Bg & { __wbg_set_wasm(w: unknown): void };
  const wasmPath = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg").replace(/schema_engine_bg\.js$/, "schema_engine_bg.wasm");
  const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(m: string): void }; __prismaPanic?: string };
  g.PRISMA_WASM_PANIC_REGISTRY ??= { set_message: (m: string) => (g.__prismaPanic = m) };
  const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), { "./schema_engine_bg.js": bg as unknown as WebAssembly.ModuleImports });
  bg.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start(): void }).__wbindgen_start();
  return bg;
}

async function adapterFactory(provider: DbProvider, pgUrl?: string): Promise<object> {
  if (provider === "sqlite") {
    const { PrismaLibSql } = await import("@prisma/adapter-libsql");
    return new PrismaLibSql({ url: ":memory:" });
  }
  const { PrismaPg } = await import("@prisma/adapter-pg");
  return new PrismaPg({ connectionString: pgUrl ?? process.env.MIGRATION_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test" });
}

/**
 * SQL that takes a database from the schema `from` (undefined: empty) to the schema `to`, for one
 * provider. Both are Prisma schema texts; no database is read or changed.
 */
export async function diffSchemas(provider: DbProvider, from: string | undefined, to: string, opts: { pgUrl?: string } = {}): Promise<string> {
  bgPromise ??= loadWasm();
  const bg = await bgPromise;
  const factory = await adapterFactory(provider, opts.pgUrl);
  const engine = await bg.SchemaEngine.new(
    { datamodels: undefined },
    () => {},
    bindMigrationAwareSqlAdapterFactory(factory as never),
  );
  try {
    const target = (content: string) => ({ tag: "schemaDatamodel" as const, files: [{ path: "schema.prisma", content }] });
    const res = await engine.diff({
      from: from === undefined ? { tag: "empty" } : target(from),
      to: target(to),
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    } as never);
    return res.stdout ?? "";
  } finally {
    engine.free();
  }
}
