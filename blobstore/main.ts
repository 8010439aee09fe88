/**
 * `./run blobstore`: the blob service on its own, for a deployment on any chain (docs/deploying.md).
 *
 *   ./run blobstore --dir /srv/blobs --host 0.0.0.0 --port 8700 \
 *       --rpc-url https://… --chain-id 11155111 --market 0x… --registry 0x… --token 0x…
 *
 * Reads are open. Uploads must be signed (blobstore/upload-auth.ts) by a registered provider of the
 * market's registry, or by a poster (an account that approved the market for the escrow: see
 * blobstore/chain-policy.ts). `--open` accepts unsigned uploads from anyone (local development only).
 * Options also come from the environment (BLOB_DIR, BLOB_HOST, BLOB_PORT, BLOB_MAX_BYTES and the
 * worker's RPC_URL, CHAIN_ID, MARKET_ADDRESS, …).
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { CONFIG_OPTIONS, ConfigError, configFlags, rawConfig, resolveConfig } from "../worker/node/config.ts";
import { makeClients } from "../worker/node/clients.ts";
import { startBlobServer } from "./server.ts";
import { chainUploadPolicy } from "./chain-policy.ts";

const HELP = `usage: ./run blobstore [--dir <folder>] [--host <ip>] [--port <n>] [--max-bytes <n>]
        (--rpc-url <url> --chain-id <id> --market <addr> --registry <addr> --token <addr> | --open)`;

function fail(message: string): never {
  process.stderr.write(`blobstore: ${message}\n`);
  process.exit(2);
}

async function main() {
  const { values } = parseArgs({
    options: { ...CONFIG_OPTIONS, dir: { type: "string" }, host: { type: "string" }, port: { type: "string" }, "max-bytes": { type: "string" }, open: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const dir = path.resolve(values.dir ?? process.env.BLOB_DIR ?? ".data/blobs");
  const host = values.host ?? process.env.BLOB_HOST ?? "127.0.0.1";
  const port = Number(values.port ?? process.env.BLOB_PORT ?? "8700");
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be an integer between 0 and 65535, got ${values.port}`);
  const maxBytes = Number(values["max-bytes"] ?? process.env.BLOB_MAX_BYTES ?? 256 * 1024 * 1024);
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) fail(`--max-bytes must be a positive integer, got ${values["max-bytes"]}`);
  let uploadPolicy;
  let who = "anyone (--open: unauthenticated uploads)";
  if (!values.open) {
    const raw = rawConfig(configFlags(values));
    if (!raw["rpc-url"]) fail("uploads are authenticated against a market: pass --rpc-url, --chain-id, --market, --registry and --token (or --open for local development)");
    const config = resolveConfig(raw, { needKeys: false });
    const { publicClient } = await makeClients(config);
    uploadPolicy = chainUploadPolicy({ client: publicClient, addresses: config.addresses });
    who = `registered providers of ${config.addresses.registry} and posters of ${config.addresses.market} (chain ${config.chainId})`;
  }
  const log = (msg: string, fields?: Record<string, unknown>) => console.log(JSON.stringify({ t: new Date().toISOString(), src: "blobstore", msg, ...fields }));
  const server = await startBlobServer({ dir, host, port, maxBytes, uploadPolicy, log });
  log("listening", { url: server.url, dir, maxBytes, uploads: who, reads: "open" });
  const stop = () => void server.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: unknown) => fail(err instanceof ConfigError ? err.message : (err as Error).message));
