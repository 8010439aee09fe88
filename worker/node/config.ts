/**
 * Worker configuration from (in increasing precedence) a JSON file, environment variables and
 * command-line flags. Every value is validated with a message naming the flag and what to do.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { getAddress, isAddress, type Address } from "viem";
import { loadAddresses, type MarketAddresses } from "../../shared/addresses.ts";
import type { BackendChoice } from "./trainer-backend.ts";
import { WORKER_LIMITS } from "../spec/runnable.ts";

export interface WorkerConfig {
  rpcUrl: string;
  chainId: number;
  addresses: MarketAddresses;
  /** Encrypted JSON keystore of the provider (staking, transaction-sending) key. */
  keyFile: string;
  /** Encrypted JSON keystore of the attestation key (created by `register` if missing). */
  attestorKeyFile: string;
  password: string;
  blobUrl: string;
  dataDir: string;
  /** Accept only jobs paying at least this per round (base units). */
  minReward: bigint;
  /** Accept only jobs whose model has at most this many parameters. */
  maxParams: number;
  /** Accept only jobs whose penalty per offence is at most this (basis points). */
  maxPenaltyBps: number;
  /** Accept only jobs of a market whose dispute game has at least this many referees outside the job. */
  minReferees: number;
  pollMs: number;
  /** First block of event scans (the market's deployment block); undefined: found on the chain. */
  fromBlock?: bigint;
  /** Lowest priority fee in wei for this worker's transactions (default: the node's suggestion). */
  minPriorityFee?: bigint;
  /** scrypt cost for keystores this process creates (tests lower it). */
  scryptN?: number;
  /** Trainer backend (--trainer jax-js|pytorch, --device cpu|cuda|auto for PyTorch). */
  backend: BackendChoice;
}

export const CONFIG_KEYS = {
  "rpc-url": "RPC_URL",
  "chain-id": "CHAIN_ID",
  market: "MARKET_ADDRESS",
  registry: "REGISTRY_ADDRESS",
  token: "TOKEN_ADDRESS",
  "key-file": "WORKER_KEY_FILE",
  "attestor-key-file": "WORKER_ATTESTOR_KEY_FILE",
  "password-file": "WORKER_PASSWORD_FILE",
  "blob-url": "BLOB_URL",
  "data-dir": "WORKER_DATA_DIR",
  "min-reward": "WORKER_MIN_REWARD",
  "max-params": "WORKER_MAX_PARAMS",
  "max-penalty-bps": "WORKER_MAX_PENALTY_BPS",
  "min-referees": "WORKER_MIN_REFEREES",
  "poll-ms": "WORKER_POLL_MS",
  "from-block": "DEPLOY_BLOCK",
  "priority-fee": "PRIORITY_FEE_WEI",
  "scrypt-n": "WORKER_SCRYPT_N",
  trainer: "WORKER_TRAINER",
  device: "WORKER_DEVICE",
  config: "WORKER_CONFIG",
} as const;
export type ConfigKey = keyof typeof CONFIG_KEYS;

/** One line of --help per config key (the environment variable is added by the help printer). */
export const CONFIG_HELP: Record<ConfigKey, { arg: string; help: string }> = {
  "rpc-url": { arg: "<url>", help: "JSON-RPC endpoint of the chain" },
  "chain-id": { arg: "<id>", help: "chain id the endpoint must serve (default 31337)" },
  market: { arg: "<address>", help: "TrainingMarket contract" },
  registry: { arg: "<address>", help: "ProviderRegistry contract" },
  token: { arg: "<address>", help: "ERC-20 token of stakes and rewards" },
  "key-file": { arg: "<file>", help: "encrypted JSON keystore of the account" },
  "attestor-key-file": { arg: "<file>", help: "attestation keystore (default <data-dir>/attestor.keystore.json)" },
  "password-file": { arg: "<file>", help: "file holding the keystore password (or WORKER_PASSWORD)" },
  "blob-url": { arg: "<url>", help: "blob store (default http://127.0.0.1:8700)" },
  "data-dir": { arg: "<dir>", help: "worker state (default .data/worker)" },
  "min-reward": { arg: "<base units>", help: "accept only jobs paying at least this per round" },
  "max-params": { arg: "<n>", help: "accept only models with at most this many parameters" },
  "max-penalty-bps": { arg: "<bps>", help: "accept only jobs whose penalty per offence is at most this (default 2500 = 25 %)" },
  "min-referees": { arg: "<n>", help: "accept only jobs whose dispute game has at least this many referees outside the job (default 3; 0 accepts a market nobody can judge)" },
  "poll-ms": { arg: "<ms>", help: "chain polling interval (default 1000; never faster than a quarter block)" },
  "from-block": { arg: "<n>", help: "first block of event scans: the market's deployment block (default: found on the chain)" },
  "priority-fee": { arg: "<wei>", help: "lowest priority fee of this account's transactions (default: the node's suggestion)" },
  "scrypt-n": { arg: "<n>", help: "scrypt cost of keystores this command creates" },
  trainer: { arg: "<jax-js|pytorch>", help: "trainer backend (default jax-js; pytorch runs a Python subprocess)" },
  device: { arg: "<cpu|cuda|auto>", help: "PyTorch device (default cpu)" },
  config: { arg: "<file.json>", help: "JSON file with any of these settings (keys as the flag names)" },
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** parseArgs option definitions for every config key (all strings). */
export const CONFIG_OPTIONS = Object.fromEntries(Object.keys(CONFIG_KEYS).map((k) => [k, { type: "string" as const }])) as Record<ConfigKey, { type: "string" }>;

/** The config keys present among parsed command-line values. */
export function configFlags(values: Record<string, unknown>): Partial<Record<ConfigKey, string>> {
  return Object.fromEntries(Object.keys(CONFIG_KEYS).filter((k) => values[k] !== undefined).map((k) => [k, String(values[k])])) as Partial<Record<ConfigKey, string>>;
}

/**
 * Merges file < env < flags into raw strings. `localDefaults` (the settings file `./run start` writes
 * for its network) is used as the file when no --config is given and no flag or environment variable
 * names a chain or contract, so that commands find the local network without flags; keys listed in
 * `ignore` are not taken from it (the worker CLI does not take the local poster's key).
 */
export function rawConfig(flags: Partial<Record<ConfigKey, string>>, env: NodeJS.ProcessEnv = process.env, localDefaults?: { file: string | undefined; ignore?: ConfigKey[] }): Partial<Record<ConfigKey, string>> {
  const explicit = flags.config ?? env[CONFIG_KEYS.config];
  const namesChain = (["rpc-url", "market", "registry", "token"] as ConfigKey[]).some((k) => flags[k] !== undefined || env[CONFIG_KEYS[k]]);
  const useLocal = !explicit && !namesChain && localDefaults?.file !== undefined;
  const fileName = explicit ?? (useLocal ? localDefaults!.file : undefined);
  let file: Record<string, unknown> = {};
  if (fileName) {
    try {
      file = JSON.parse(readFileSync(fileName, "utf8")) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`--config ${fileName}: cannot read a JSON object (${(err as Error).message})`);
    }
    for (const k of Object.keys(file)) if (!(k in CONFIG_KEYS)) throw new ConfigError(`--config ${fileName}: unknown key "${k}" (known: ${Object.keys(CONFIG_KEYS).join(", ")})`);
    if (useLocal) for (const k of localDefaults!.ignore ?? []) delete file[k];
  }
  const out: Partial<Record<ConfigKey, string>> = {};
  for (const key of Object.keys(CONFIG_KEYS) as ConfigKey[]) {
    const v = flags[key] ?? env[CONFIG_KEYS[key]] ?? (file[key] !== undefined ? String(file[key]) : undefined);
    if (v !== undefined && v !== "") out[key] = v;
  }
  return out;
}

function need(raw: Partial<Record<ConfigKey, string>>, key: ConfigKey): string {
  const v = raw[key];
  if (v === undefined) throw new ConfigError(`missing --${key} (or ${CONFIG_KEYS[key]} in the environment, or "${key}" in --config)`);
  return v;
}

function intIn(raw: Partial<Record<ConfigKey, string>>, key: ConfigKey, def: number, min: number, max: number): number {
  const v = raw[key];
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`--${key} must be an integer between ${min} and ${max}, got ${v}`);
  return n;
}

function bigIn(raw: Partial<Record<ConfigKey, string>>, key: ConfigKey): bigint | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v)) throw new ConfigError(`--${key} must be a non-negative integer, got ${v}`);
  return BigInt(v);
}

/** Builds a validated WorkerConfig. `needKeys` = false for commands that do not sign (e.g. status). */
export function resolveConfig(raw: Partial<Record<ConfigKey, string>>, opts: { needKeys?: boolean } = {}): WorkerConfig {
  const rpcUrl = need(raw, "rpc-url");
  try {
    const u = new URL(rpcUrl);
    if (!["http:", "https:", "ws:", "wss:"].includes(u.protocol)) throw new Error();
  } catch {
    throw new ConfigError(`--rpc-url must be an http(s) or ws(s) URL, got ${rpcUrl}`);
  }
  const chainId = intIn(raw, "chain-id", 31337, 1, 2 ** 53 - 1);
  let addresses: MarketAddresses;
  if (raw.market || raw.registry || raw.token) {
    const pick = (k: "market" | "registry" | "token"): Address => {
      const v = need(raw, k);
      if (!isAddress(v)) throw new ConfigError(`--${k} is not an address: ${v}`);
      return getAddress(v);
    };
    addresses = { market: pick("market"), registry: pick("registry"), token: pick("token") };
  } else {
    try {
      addresses = loadAddresses(chainId);
    } catch (err) {
      throw new ConfigError(`${(err as Error).message}; or pass --market, --registry and --token`);
    }
  }
  const dataDir = path.resolve(raw["data-dir"] ?? ".data/worker");
  const needKeys = opts.needKeys ?? true;
  let password = "";
  if (needKeys) {
    const pwFile = raw["password-file"];
    password = pwFile ? readFileSync(pwFile, "utf8").trim() : (process.env.WORKER_PASSWORD ?? "");
    if (!password) throw new ConfigError("no keystore password: set WORKER_PASSWORD or pass --password-file");
  }
  const minRewardRaw = raw["min-reward"] ?? "0";
  if (!/^[0-9]+$/.test(minRewardRaw)) throw new ConfigError(`--min-reward must be a non-negative integer of base units, got ${minRewardRaw}`);
  const blobUrl = raw["blob-url"] ?? "http://127.0.0.1:8700";
  try {
    new URL(blobUrl);
  } catch {
    throw new ConfigError(`--blob-url must be a URL, got ${blobUrl}`);
  }
  const backendName = raw.trainer ?? "jax-js";
  if (backendName !== "jax-js" && backendName !== "pytorch") throw new ConfigError(`--trainer must be jax-js or pytorch, got ${backendName}`);
  const device = raw.device ?? "cpu";
  if (device !== "cpu" && device !== "cuda" && device !== "auto") throw new ConfigError(`--device must be cpu, cuda or auto, got ${device}`);
  if (raw.device !== undefined && backendName !== "pytorch") throw new ConfigError("--device applies to --trainer pytorch only");
  const backend: BackendChoice = backendName === "pytorch" ? { backend: "pytorch", device, threads: 1 } : { backend: "jax-js" };
  return {
    backend,
    rpcUrl,
    chainId,
    addresses,
    keyFile: needKeys ? path.resolve(need(raw, "key-file")) : "",
    attestorKeyFile: path.resolve(raw["attestor-key-file"] ?? path.join(dataDir, "attestor.keystore.json")),
    password,
    blobUrl,
    dataDir,
    minReward: BigInt(minRewardRaw),
    maxParams: intIn(raw, "max-params", WORKER_LIMITS.maxParams, 1, 2 ** 40),
    maxPenaltyBps: intIn(raw, "max-penalty-bps", 2500, 0, 10_000),
    minReferees: intIn(raw, "min-referees", 3, 0, 1000),
    pollMs: intIn(raw, "poll-ms", 1000, 10, 600_000),
    fromBlock: bigIn(raw, "from-block"),
    minPriorityFee: bigIn(raw, "priority-fee"),
    scryptN: raw["scrypt-n"] !== undefined ? intIn(raw, "scrypt-n", 131072, 2, 2 ** 20) : undefined,
  };
}
