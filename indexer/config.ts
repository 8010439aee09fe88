/**
 * The indexer's configuration, from the environment:
 *
 *   RPC_URL            JSON-RPC over HTTP (default http://127.0.0.1:8545)
 *   WS_URL             WebSocket for newHeads: a ws:// URL, "auto" (default: RPC_URL's host and port) or "off"
 *   CHAIN_ID           expected chain id (optional; a different chain is a fatal error)
 *   REGISTRY_ADDRESS, MARKET_ADDRESS   the contracts (default: the Ignition deployment for the chain, shared/addresses.ts)
 *   START_BLOCK        first block to index (default 0)
 *   FINALITY_DEPTH     blocks below the head treated as final (default 12): the deepest reorg the indexer can undo
 *   POLL_INTERVAL_MS   head polling period (default 1000)
 *   GETLOGS_RANGE      initial eth_getLogs block range (default 2000), GETLOGS_MAX_RANGE (default 100000)
 *   GETLOGS_MIN_INTERVAL_MS  least milliseconds between two eth_getLogs requests (default 0: for rate-limited RPC providers)
 *   GETLOGS_SLOW_START  blocks in a backfill pass's first eth_getLogs range, doubling per range (default 64; 0: off)
 *   DATABASE_URL       file:<path> (SQLite) or postgresql://... (default file:$DATA_DIR/indexer.db, DATA_DIR default .data)
 *   INDEXER_PORT       port of /health, /ready, /metrics (default 8787; 0 = any), INDEXER_HOST (default 127.0.0.1)
 *   LOG_LEVEL          debug | info | warn | error
 */
import { getAddress, isAddress, type Address } from "viem";
import { loadAddresses } from "../shared/addresses.ts";
import { SLOW_START_BLOCKS, type SyncConfig } from "./sync.ts";

function int(env: NodeJS.ProcessEnv, name: string, def?: number): number | undefined {
  const v = env[name];
  if (v === undefined || v === "") return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return n;
}

export async function configFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<SyncConfig & { port: number; host: string }> {
  const rpcUrl = env.RPC_URL ?? "http://127.0.0.1:8545";
  if (!/^https?:\/\/[^/]+/i.test(rpcUrl)) throw new Error(`RPC_URL must be an http(s):// URL, got "${rpcUrl}"`);
  const ws = env.WS_URL ?? "auto";
  let registry = env.REGISTRY_ADDRESS;
  let market = env.MARKET_ADDRESS;
  const chainId = int(env, "CHAIN_ID");
  if (!registry || !market) {
    let id = chainId;
    if (id === undefined) {
      const res = await fetch(rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }) }).catch((e: Error) => {
        throw new Error(`cannot reach RPC_URL ${rpcUrl} to find the chain id (${e.message}); set CHAIN_ID or REGISTRY_ADDRESS and MARKET_ADDRESS`);
      });
      id = Number(BigInt(((await res.json()) as { result: string }).result));
    }
    const a = loadAddresses(id, { env: { ...env, TOKEN_ADDRESS: env.TOKEN_ADDRESS ?? (registry && market ? "0x0000000000000000000000000000000000000001" : undefined) } });
    registry ??= a.registry;
    market ??= a.market;
  }
  for (const [n, v] of [["REGISTRY_ADDRESS", registry], ["MARKET_ADDRESS", market]] as const) {
    if (!v || !isAddress(v)) throw new Error(`${n} is not an address: "${v}"`);
  }
  return {
    rpcUrl,
    wsUrl: ws === "off" || ws === "false" ? false : ws,
    chainId,
    registry: getAddress(registry!) as Address,
    market: getAddress(market!) as Address,
    startBlock: BigInt(int(env, "START_BLOCK", 0)!),
    finalityDepth: int(env, "FINALITY_DEPTH", 12),
    pollIntervalMs: int(env, "POLL_INTERVAL_MS", 1000),
    initialRange: int(env, "GETLOGS_RANGE", 2000),
    maxRange: int(env, "GETLOGS_MAX_RANGE", 100_000),
    getLogsMinIntervalMs: int(env, "GETLOGS_MIN_INTERVAL_MS", 0),
    slowStartBlocks: int(env, "GETLOGS_SLOW_START", SLOW_START_BLOCKS),
    rpcTimeoutMs: int(env, "RPC_TIMEOUT_MS", 15_000),
    startupTimeoutMs: int(env, "STARTUP_TIMEOUT_MS", 60_000),
    port: int(env, "INDEXER_PORT", 8787)!,
    host: env.INDEXER_HOST ?? "127.0.0.1",
  };
}
