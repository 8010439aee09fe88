/**
 * The block a contract was deployed in, so that event scans start there instead of at genesis.
 * Found by binary search over `eth_getCode` at historical blocks (about log2(head) calls, once);
 * nodes that keep no historical state (non-archive public endpoints) cannot answer, and the caller
 * then falls back to an explicit --from-block.
 */
import type { Address } from "viem";
import type { Client } from "./types.ts";

export async function findDeployBlock(client: Client, address: Address): Promise<bigint> {
  const head = await client.getBlockNumber({ cacheTime: 0 });
  const has = async (n: bigint) => {
    const code = await client.getCode({ address, blockNumber: n });
    return code !== undefined && code !== "0x";
  };
  if (!(await has(head))) throw new Error(`no contract at ${address} at block ${head}`);
  let lo = 0n; // lo: no code (or genesis)
  let hi = head; // hi: has code
  if (await has(0n)) return 0n;
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (await has(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
