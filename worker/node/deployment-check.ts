/**
 * Checks that each configured address holds the contract it is supposed to, before any command
 * reads or sends anything: a market address that is really the token would otherwise print the
 * token's balance as "earned". Each check names the flag that is wrong and what the address holds.
 */
import type { Address, PublicClient } from "viem";
import { providerRegistryAbi, trainingMarketAbi, testTokenAbi } from "../../shared/abis.ts";
import type { MarketAddresses } from "../../shared/addresses.ts";

export class DeploymentMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeploymentMismatchError";
  }
}

async function tryRead<T>(client: PublicClient, address: Address, abi: readonly unknown[], functionName: string): Promise<T | undefined> {
  try {
    return (await client.readContract({ address, abi: abi as never, functionName: functionName as never })) as T;
  } catch {
    return undefined;
  }
}

/** What an address holds, in words: "no contract", "the ProviderRegistry", "an ERC-20 token (TCRED)", … */
export async function describeAddress(client: PublicClient, address: Address): Promise<string> {
  const code = await client.getCode({ address });
  if (!code || code === "0x") return "no contract (an account without code)";
  if ((await tryRead(client, address, trainingMarketAbi, "registry")) !== undefined) return "a TrainingMarket";
  if ((await tryRead(client, address, providerRegistryAbi, "stakeToken")) !== undefined) return "a ProviderRegistry";
  const symbol = await tryRead<string>(client, address, testTokenAbi, "symbol");
  if (symbol !== undefined) return `an ERC-20 token (${symbol})`;
  return "a contract that is none of the market's";
}

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** Throws a DeploymentMismatchError naming the wrong flag; resolves when all three addresses fit together. */
export async function checkDeployment(client: PublicClient, a: MarketAddresses, chainId: number): Promise<void> {
  const where = `on chain ${chainId}`;
  const marketRegistry = await tryRead<Address>(client, a.market, trainingMarketAbi, "registry");
  const marketToken = await tryRead<Address>(client, a.market, trainingMarketAbi, "token");
  if (marketRegistry === undefined || marketToken === undefined) {
    throw new DeploymentMismatchError(`--market ${a.market} is not a TrainingMarket ${where}: it holds ${await describeAddress(client, a.market)}; pass the market's address`);
  }
  if (!same(marketRegistry, a.registry)) {
    throw new DeploymentMismatchError(`--registry ${a.registry} is not the registry of market ${a.market} (${marketRegistry}); it holds ${await describeAddress(client, a.registry)}`);
  }
  if (!same(marketToken, a.token)) {
    throw new DeploymentMismatchError(`--token ${a.token} is not the token of market ${a.market} (${marketToken}); it holds ${await describeAddress(client, a.token)}`);
  }
  const stakeToken = await tryRead<Address>(client, a.registry, providerRegistryAbi, "stakeToken");
  if (!same(stakeToken, a.token)) throw new DeploymentMismatchError(`--registry ${a.registry} does not stake --token ${a.token} ${where}`);
}
