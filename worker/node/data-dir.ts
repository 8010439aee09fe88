/**
 * Binds a worker's data folder to one chain and one market. Job ids restart at 1 on every
 * deployment, and a job's folder holds state that the next round depends on (error-feedback
 * residual, prepared updates): reusing a folder of another chain or market would commit an update
 * a replay audit rejects. The first run writes `<data-dir>/network.json`; later runs refuse a
 * folder whose record names another chain id, market or registry.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { getAddress } from "viem";
import { readJson, writeJson } from "../state/json-state.ts";
import type { WorkerConfig } from "./config.ts";

export interface DataDirRecord {
  chainId: number;
  market: string;
  registry: string;
}

export class DataDirMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataDirMismatchError";
  }
}

export async function bindDataDir(config: Pick<WorkerConfig, "dataDir" | "chainId" | "addresses">): Promise<void> {
  const file = path.join(config.dataDir, "network.json");
  const want: DataDirRecord = { chainId: config.chainId, market: getAddress(config.addresses.market), registry: getAddress(config.addresses.registry) };
  const have = await readJson<DataDirRecord>(file);
  if (!have) {
    if (existsSync(path.join(config.dataDir, "jobs"))) {
      throw new DataDirMismatchError(`--data-dir ${config.dataDir} holds job state but no network.json naming its chain and market; move it away or pass another --data-dir`);
    }
    await writeJson(file, want);
    return;
  }
  if (have.chainId !== want.chainId || getAddress(have.market) !== want.market || getAddress(have.registry) !== want.registry) {
    throw new DataDirMismatchError(`--data-dir ${config.dataDir} belongs to chain ${have.chainId}, market ${have.market}, not chain ${want.chainId}, market ${want.market}; pass a --data-dir of its own for each chain and market`);
  }
}
