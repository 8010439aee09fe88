/**
 * Who may upload to a market's blob store, decided from the chain: a registered provider (workers
 * upload updates and models), the poster of a job on the market, or an account about to post one
 * (it has approved the market to take at least `minAllowance` of the token: `job create` approves
 * the escrow before it uploads the spec and the initial model). Positive answers are cached; a
 * refusal is re-checked after a minute.
 */
import type { Address, Hex } from "viem";
import { providerRegistryAbi, testTokenAbi } from "../shared/abis.ts";
import type { MarketAddresses } from "../shared/addresses.ts";
import type { Client } from "../worker/chain/types.ts";
import type { UploadPolicy } from "./upload-auth.ts";

export function chainUploadPolicy(opts: { client: Client; addresses: MarketAddresses; minAllowance?: bigint; isPoster?: (who: Address) => Promise<boolean> }): UploadPolicy {
  const allowed = new Set<string>();
  const refused = new Map<string, number>();
  const minAllowance = opts.minAllowance ?? 1n;
  return async (signer: Address, _id: Hex) => {
    const key = signer.toLowerCase();
    if (allowed.has(key)) return undefined;
    const until = refused.get(key);
    if (until && until > Date.now()) return `${signer} is neither a registered provider nor a poster on this market`;
    const info = await opts.client.readContract({ address: opts.addresses.registry, abi: providerRegistryAbi, functionName: "providerOf", args: [signer] });
    let ok = info.registeredAt !== 0n;
    if (!ok) {
      const allowance = await opts.client.readContract({ address: opts.addresses.token, abi: testTokenAbi, functionName: "allowance", args: [signer, opts.addresses.market] });
      ok = allowance >= minAllowance;
    }
    if (!ok && opts.isPoster) ok = await opts.isPoster(signer);
    if (ok) {
      allowed.add(key);
      return undefined;
    }
    refused.set(key, Date.now() + 60_000);
    return `${signer} is neither a registered provider nor a poster on this market (posters approve the market for the escrow before uploading)`;
  };
}
