/**
 * bench/indexer's chain: a Hardhat chain served over HTTP/WebSocket by Hardhat's JSON-RPC server,
 * the market deployed with the test fixture, and a market history of at least EVENTS events
 * (jobs of 16 workers, 10 rounds each). Prints one JSON line {url, registry, market, events,
 * head, jobs, blocks, txs, genSeconds} on stdout when ready, then keeps serving until killed.
 *
 * Many transactions per block, as on a real chain: automine is off while the history is generated,
 * and JOBS_PER_BATCH jobs run side by side: their creations are mined together, then all their
 * joins, then each round's commitments of every job, then each round's votes (up to the quorum), each
 * phase mined in blocks of up to BLOCK_TXS transactions (fewer when the block gas limit is reached). Automine is switched back on at the
 * end (the live-latency and live-mix phases of run.ts mine one transaction per block).
 */
import type { Hex } from "viem";
import { startChain } from "../../test/indexer/helpers.ts";
import { E18, jobParams, modelHashFor, registerProvider, traceFor, type Provider } from "../../test/helpers/market.ts";
import { L, runDisputeScenario } from "../../test/indexer/scenario.ts";
import { encodeLoss, signRoundUpdate } from "../../shared/eip712.ts";

const target = Number(process.env.EVENTS ?? 50_000);
const perBatch = Number(process.env.JOBS_PER_BATCH ?? 10);
const ROUNDS = 10;
const t0 = performance.now();
// 17 market actors plus the dispute scenario's 7 (poster, 3 workers, 3 referees). One scenario: a
// second one's panels would be drawn from both scenarios' referees, which it does not drive.
const chain = await startChain(undefined, { accounts: 26 }); // deployer, treasury, then `others`
const ctx = chain.ctx;
const c = L(ctx);
// a large stake each: bonds stay locked for the challenge window after a job ends
const providers: Provider[] = [];
for (let i = 0; i < 16; i++) providers.push(await registerProvider(ctx, ctx.others[1 + i] as Provider["wallet"], 1_000_000n * E18));
const poster = ctx.others[0] as Provider["wallet"];
const registry = c.registry.address as string;
const market = c.market.address as string;
const firstBlock = await chain.blockNumber();

let txs = 0;
/**
 * At most this many transactions wait in the node's mempool: EDR re-checks the pending block as each
 * one arrives (the cost of a send grows with the mempool), so a phase is mined every BLOCK_TXS sends.
 */
const blockTxs = Number(process.env.BLOCK_TXS ?? 60);
let inPool: Hex[] = [];
async function send(tx: Promise<Hex>): Promise<Hex> {
  const h = await tx;
  inPool.push(h);
  if (inPool.length >= blockTxs) {
    await mineAll(inPool);
    inPool = [];
  }
  return h;
}
/** Mines until every transaction in `hashes` has a receipt; throws on a reverted one. */
async function mineAll(hashes: Hex[]): Promise<void> {
  txs += hashes.length;
  let pending = hashes;
  while (pending.length > 0) {
    await chain.request("evm_mine");
    const left: Hex[] = [];
    for (const h of pending) {
      const r = await chain.request<{ status: string } | null>("eth_getTransactionReceipt", [h]);
      if (r === null) left.push(h);
      else if (r.status !== "0x1") throw new Error(`bench chain: transaction ${h} reverted`);
    }
    pending = left;
  }
}

/** Mines what is left of a phase. */
async function flush(): Promise<void> {
  await mineAll(inPool);
  inPool = [];
}

async function countEvents(): Promise<number> {
  const logs = await chain.request<unknown[]>("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest", address: [registry, market, c.game.address] }]);
  return logs.length;
}

const params = jobParams({ rounds: ROUNDS, maxWorkers: providers.length, minWorkers: 2 });
const [escrow] = (await c.market.read.escrowFor([params.rewardPerRound, params.rounds, params.maxWorkers])) as [bigint];
const quorum = Math.ceil((params.quorumBps * providers.length) / 10_000);
const mask = (2 ** providers.length - 1) >>> 0;
const loss = (r: number, w: number) => 4 - r * 0.2 + w * 0.003 + Math.random() * 0.01;

await chain.request("evm_setAutomine", [false]);
let events = await countEvents();
let jobs = 0;
while (events < target) {
  // about 490 events per job
  const n = Math.max(1, Math.min(perBatch, Math.ceil((target - events) / 490)));
  // one allowance for the whole batch (approve overwrites, it does not add)
  await mineAll([
    await c.token.write.mint([poster.account.address, escrow * BigInt(n)], { account: ctx.deployer.account, gas: 200_000n }),
    await c.token.write.approve([market, escrow * BigInt(n)], { account: poster.account, gas: 100_000n }),
  ]);
  const first = ((await c.market.read.jobCount()) as bigint) + 1n;
  const ids = Array.from({ length: n }, (_, k) => first + BigInt(k));
  
  for (let k = 0; k < n; k++) await send(c.market.write.createJob([params], { account: poster.account, gas: 600_000n }));
  await flush();
    for (const id of ids) for (const p of providers) await send(c.market.write.joinJob([id], { account: p.wallet.account, gas: 400_000n }));
  await flush();
  for (let r = 0; r < ROUNDS; r++) {
    for (const id of ids)
      for (let i = 0; i < providers.length; i++) {
        const p = providers[i];
        const t = traceFor(id, r, p.address);
        const updateHash = t.leaves[t.leaves.length - 1];
        const trainLoss = encodeLoss(loss(r, i));
        const sig = await signRoundUpdate(p.attestor, ctx.domain, { jobId: id, round: r, updateHash, traceRoot: t.root, trainLoss, worker: p.address });
        await send(c.market.write.commitUpdate([id, r, updateHash, t.root, trainLoss, sig], { account: p.wallet.account, gas: 400_000n }));
      }
    await flush();
    for (const id of ids)
      for (const p of providers.slice(0, quorum)) {
        const modelHash = modelHashFor(id, r);
        await send(c.market.write.submitResult([id, r, modelHash, mask], { account: p.wallet.account, gas: 1_000_000n }));
      }
    await flush();
  }
  jobs += n;
  events = await countEvents();
  process.stderr.write(`[bench chain] ${jobs} jobs, ${events} events, ${txs} transactions, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}
await chain.request("evm_setAutomine", [true]);
// disputes as well: the scenario runs a step dispute through bisection and referee votes to a fraud
// verdict, a rejected round challenge, an expired round's settlement and withdrawals (DisputeGame events)
const beforeDisputes = events;
await runDisputeScenario(ctx, { first: 17 });
events = await countEvents();
process.stderr.write(`[bench chain] dispute scenario: ${events - beforeDisputes} more events (${events} in all)\n`);
const head = await chain.blockNumber();
process.stdout.write(
  JSON.stringify({
    url: chain.url,
    wsUrl: chain.wsUrl,
    registry,
    market,
    events,
    head: head.toString(),
    jobs,
    blocks: Number(head - firstBlock),
    txs,
    providers: providers.map((p) => p.address),
    genSeconds: (performance.now() - t0) / 1000,
  }) + "\n",
);
process.on("SIGTERM", async () => {
  await chain.close();
  process.exit(0);
});
