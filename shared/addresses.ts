/**
 * Deployed contract addresses per network. Ignition writes them to
 * ignition/deployments/<deploymentId>/deployed_addresses.json; this module reads that file,
 * and environment variables (TOKEN_ADDRESS, REGISTRY_ADDRESS, MARKET_ADDRESS) override it.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getAddress, isAddress, type Address } from "viem";

export interface MarketAddresses {
  token: Address;
  registry: Address;
  market: Address;
  /** The DisputeGame (bisection, referees); absent in deployments that predate it. */
  game?: Address;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Ignition's default deployment id for a chain. */
export function deploymentId(chainId: number): string {
  return `chain-${chainId}`;
}

/**
 * Parses Ignition's deployed_addresses.json content: the Market module ("Market#TestToken", …) or
 * MarketWithToken on an existing ERC-20 ("MarketWithToken#Token", …).
 */
export function parseIgnitionAddresses(json: Record<string, string>): MarketAddresses {
  const pick = (...names: string[]): Address => {
    for (const key of Object.keys(json)) {
      const [module, name] = key.split("#");
      if ((module === "Market" || module === "MarketWithToken") && names.includes(name) && isAddress(json[key])) return getAddress(json[key]);
    }
    throw new Error(`deployment has no valid address for ${names.join(" or ")}`);
  };
  const gameKey = Object.keys(json).find((k) => k.endsWith("#DisputeGame") && isAddress(json[k]));
  return {
    token: pick("TestToken", "Token"),
    registry: pick("ProviderRegistry"),
    market: pick("TrainingMarket"),
    ...(gameKey ? { game: getAddress(json[gameKey]) } : {}),
  };
}

/**
 * Addresses for `chainId`: from the environment if all three are set, else from the Ignition
 * deployment directory (default: this repository's ignition/deployments/chain-<id>).
 */
export function loadAddresses(chainId: number, opts: { deploymentsDir?: string; env?: NodeJS.ProcessEnv } = {}): MarketAddresses {
  const env = opts.env ?? process.env;
  const fromEnv = [env.TOKEN_ADDRESS, env.REGISTRY_ADDRESS, env.MARKET_ADDRESS];
  if (fromEnv.every((v) => v !== undefined && v !== "")) {
    for (const [name, v] of [["TOKEN_ADDRESS", env.TOKEN_ADDRESS], ["REGISTRY_ADDRESS", env.REGISTRY_ADDRESS], ["MARKET_ADDRESS", env.MARKET_ADDRESS]] as const) {
      if (!isAddress(v!)) throw new Error(`${name} is not an address: ${v}`);
    }
    const game = env.GAME_ADDRESS && isAddress(env.GAME_ADDRESS) ? { game: getAddress(env.GAME_ADDRESS) } : {};
    return { token: getAddress(env.TOKEN_ADDRESS!), registry: getAddress(env.REGISTRY_ADDRESS!), market: getAddress(env.MARKET_ADDRESS!), ...game };
  }
  const dir = opts.deploymentsDir ?? path.join(repoRoot, "ignition", "deployments");
  const file = path.join(dir, deploymentId(chainId), "deployed_addresses.json");
  if (!existsSync(file)) {
    throw new Error(`no deployment for chain ${chainId}: ${file} is missing (deploy with Ignition, or set TOKEN_ADDRESS, REGISTRY_ADDRESS and MARKET_ADDRESS)`);
  }
  return parseIgnitionAddresses(JSON.parse(readFileSync(file, "utf8")) as Record<string, string>);
}
