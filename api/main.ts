/**
 * `npm run api` — the GraphQL API alone, over the database an indexer fills (same DATABASE_URL).
 * GraphiQL: open http://127.0.0.1:4000/graphql in a browser; the live dashboard is http://127.0.0.1:4000/.
 * API_PORT (default 4000), API_HOST.
 */
import { openDb } from "../indexer/db/index.ts";
import { createLogger } from "../indexer/log.ts";
import { startApi } from "./server.ts";

const log = createLogger({ svc: "api" });
const db = await openDb();
// API_CACHE=0 disables the per-block response cache (benchmarks compare both)
const api = await startApi({ db, log, cache: process.env.API_CACHE !== "0" }).catch(async (err: Error) => {
  console.error(`api: ${err.message}`);
  await db.close();
  process.exit(1);
});
const stop = async () => {
  await api.close();
  await db.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
