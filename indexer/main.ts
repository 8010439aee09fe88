/**
 * `npm run indexer` — follows the market's contracts into the database and serves /health, /ready
 * and /metrics. With `--api` it also serves the GraphQL API from the same process (see api/main.ts
 * for the API alone). Configuration: indexer/config.ts. Exits 2 on a fatal misconfiguration.
 */
import { openDb } from "./db/index.ts";
import { configFromEnv } from "./config.ts";
import { createLogger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { startOpsServer } from "./server.ts";
import { FatalIndexerError, Indexer } from "./sync.ts";

const log = createLogger({ svc: "indexer" });

// signal handlers first: a stop requested during start-up is honoured once the parts exist
let stopping = false;
const shutdownParts: { api?: { close(): Promise<void> }; indexer?: Indexer; ops?: { close(): void }; db?: { close(): Promise<void> } } = {};
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal });
  const { api, indexer, ops, db } = shutdownParts;
  await api?.close().catch(() => {});
  await indexer?.stop().catch(() => {});
  ops?.close();
  await db?.close().catch(() => {});
  process.exit(0);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

function fatal(message: string): never {
  log.error("fatal", { error: message });
  process.stderr.write(`indexer: fatal: ${message}\n`);
  process.exit(2);
}

let cfg: Awaited<ReturnType<typeof configFromEnv>>;
try {
  cfg = await configFromEnv();
} catch (err) {
  fatal((err as Error).message);
}
const db = await openDb().catch((err: Error) => fatal(`database: ${err.message}`));
shutdownParts.db = db;
const metrics = new Metrics();
const indexer = new Indexer(db, cfg, { log, metrics });
shutdownParts.indexer = indexer;
try {
  await indexer.start();
} catch (err) {
  if (err instanceof FatalIndexerError) fatal(err.message);
  throw err;
}
const ops = await startOpsServer(indexer, { port: cfg.port, host: cfg.host });
shutdownParts.ops = ops;
const addr = ops.address();
log.info("ops server listening", { url: `http://${cfg.host}:${typeof addr === "object" && addr ? addr.port : cfg.port}`, endpoints: ["/health", "/ready", "/metrics"] });

if (process.argv.includes("--api")) {
  const { startApi } = await import("../api/server.ts");
  shutdownParts.api = await startApi({ db, log: log.child({ svc: "api" }), indexer });
}
indexer.done.catch((err: Error) => fatal(err.message));
