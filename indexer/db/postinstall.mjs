// npm postinstall: generates the Prisma clients (indexer/db/generate.ts). Plain JavaScript so that it
// never breaks an install: on a Node that cannot run TypeScript it only warns, and the clients are
// generated at first use instead (openDb → ensureGenerated). Any failure is reported, not fatal.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "generate.ts");
if (!process.features?.typescript) {
  console.warn(`[postinstall] Node ${process.version} cannot run TypeScript: Prisma clients will be generated at first use`);
  process.exit(0);
}
const res = spawnSync(process.execPath, [script], { stdio: "inherit" });
if (res.status !== 0) console.warn("[postinstall] Prisma client generation failed; it will be retried at first use (npm run db:generate to see why)");
process.exit(0);
