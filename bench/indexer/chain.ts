/**
 * bench/indexer's chain: a Hardhat chain served over HTTP/WebSocket by Hardhat's JSON-RPC server,
 * the market deployed with the test fixture, and a market history of at least EVENTS events
 * (jobs of 16 workers, 10 rounds each). Prints one JSON line {url, registry, market, events,
 * head, jobs, genSeconds} on stdout when ready, then keeps serving until killed.
 */
import { startChain } from "../../test/indexer/helpers.ts";
import { E18, registerProvider, type Provider } from "../../test/helpers/market.ts";
import { honestJob, L } from "../../test/indexer/scenario.ts";
import { providerRegistryAbi, trainingMarketAbi } from "../../shared/abis.ts";

const target = Number(process.env.EVENTS ?? 50_000);
const t0 = performance.now();
const chain = await startChain();
// a large stake each: bonds stay locked for the challenge window after a job ends
const providers: Provider[] = [];
for (let i = 0; i < 16; i++) providers.push(await registerProvider(chain.ctx, chain.ctx.others[1 + i] as Provider["wallet"], 1_000_000n * E18));
const poster = chain.ctx.others[0] as never;
const registry = L(chain.ctx).registry.address as string;
const market = L(chain.ctx).market.address as string;
async function countEvents(): Promise<number> {
  const logs = await chain.request<unknown[]>("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest", address: [registry, market] }]);
  return logs.length;
}
let events = await countEvents();
let jobs = 0;
while (events < target) {
  // about 490 events per job; recount every 10 jobs
  for (let i = 0; i < 10 && events + i * 490 < target + 490; i++) {
    await honestJob(chain.ctx, poster, providers, 10, undefined, (r, w) => 4 - r * 0.2 + w * 0.003 + Math.random() * 0.01);
    jobs++;
  }
  events = await countEvents();
  process.stderr.write(`[bench chain] ${jobs} jobs, ${events} events, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}
void providerRegistryAbi;
void trainingMarketAbi;
const head = await chain.blockNumber();
process.stdout.write(
  JSON.stringify({ url: chain.url, wsUrl: chain.wsUrl, registry, market, events, head: head.toString(), jobs, providers: providers.map((p) => p.address), genSeconds: (performance.now() - t0) / 1000 }) + "\n",
);
process.on("SIGTERM", async () => {
  await chain.close();
  process.exit(0);
});
