/**
 * The settings of the network `./run start` runs, written to `<data-dir>/cli-config.json` in the
 * `--config` format of the worker and market command lines, so that `./run market …` and
 * `./run worker …` find the local chain, contracts, blob store and (for the market CLI) the poster's
 * key without flags. Any flag, environment variable or explicit --config still wins.
 */
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MarketAddresses } from "../shared/addresses.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const LOCAL_CONFIG_NAME = "cli-config.json";

export function writeLocalCliConfig(dataDir: string, o: { rpcUrl: string; chainId: number; addresses: MarketAddresses; blobUrl: string; posterKeyFile: string; passwordFile: string }): string {
  const file = path.join(dataDir, LOCAL_CONFIG_NAME);
  const json = {
    "rpc-url": o.rpcUrl,
    "chain-id": String(o.chainId),
    market: o.addresses.market,
    registry: o.addresses.registry,
    token: o.addresses.token,
    "blob-url": o.blobUrl,
    "key-file": o.posterKeyFile,
    "password-file": o.passwordFile,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  return file;
}

/** The local network's settings file for `--data-dir` (default: this repository's .data), when it exists. */
export function localCliConfig(dataDir?: string): string | undefined {
  const file = path.join(path.resolve(root, dataDir ?? ".data"), LOCAL_CONFIG_NAME);
  return existsSync(file) ? file : undefined;
}
