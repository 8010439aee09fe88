/**
 * Prisma CLI configuration. The CLI wants a native schema engine that it downloads from a host
 * this project cannot reach; client generation does not use it, so point the CLI at a stand-in
 * (it only needs to exist). Migrations do not go through the CLI: see indexer/db/migrate.ts and
 * docs/indexer.md. Generate the clients with `npm run db:generate` (postinstall does it too).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "prisma/config";

const root = path.dirname(fileURLToPath(import.meta.url));
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(root, "prisma", "no-schema-engine.sh");
process.env.PRISMA_HIDE_UPDATE_MESSAGE ??= "1";
process.env.CHECKPOINT_DISABLE ??= "1";

export default defineConfig({
  schema: path.join(root, "prisma", "schema.prisma"),
});
