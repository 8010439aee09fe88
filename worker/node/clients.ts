/** viem clients for a configured chain, with a chain-id check that fails fast on misconfiguration. */
import { createPublicClient, createWalletClient, defineChain, http, webSocket, type Account, type Chain } from "viem";
import type { WorkerConfig } from "./config.ts";
import { diagnoseRpc } from "../../shared/json-rpc.ts";

export function chainFor(config: Pick<WorkerConfig, "chainId" | "rpcUrl">): Chain {
  return defineChain({
    id: config.chainId,
    name: `chain-${config.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
}

/** JSON-RPC requests this process sent over HTTP (read by the round timing log and bench/chains). */
export const rpcCounter = { calls: 0 };

export function transportFor(url: string) {
  return url.startsWith("ws")
    ? webSocket(url, { retryCount: 5 })
    : http(url, { retryCount: 5, retryDelay: 200, timeout: 30_000, onFetchRequest: () => void (rpcCounter.calls += 1) });
}

export async function makeClients(config: Pick<WorkerConfig, "chainId" | "rpcUrl">, account?: Account) {
  const chain = chainFor(config);
  const transport = transportFor(config.rpcUrl);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 250 });
  let actual: number;
  try {
    actual = await publicClient.getChainId();
  } catch (err) {
    // say what actually happened: nothing listening, a timeout, or a server that is not JSON-RPC (and what it answered)
    const why = config.rpcUrl.startsWith("http") ? await diagnoseRpc(config.rpcUrl) : undefined;
    throw new Error(`--rpc-url ${config.rpcUrl}: ${why ?? (err as Error).message.split("\n")[0]}; check the URL (a JSON-RPC endpoint of the chain)`);
  }
  if (actual !== config.chainId) throw new Error(`the endpoint ${config.rpcUrl} serves chain ${actual}, but --chain-id is ${config.chainId}`);
  const walletClient = account ? createWalletClient({ chain, transport, account }) : undefined;
  return { chain, publicClient, walletClient };
}
