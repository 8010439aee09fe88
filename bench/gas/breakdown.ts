/**
 * Where the gas of one commit and one vote goes: replays an 8-worker round on Hardhat's simulated
 * chain and sums `debug_traceTransaction` struct-log gas by opcode for the 2nd commitment, the first
 * vote (which creates its outcome's tally slot) and the 2nd vote; a call counts with everything its
 * callee did. `SLOTS=1` also lists every storage slot read or written.
 *
 *   node bench/gas/breakdown.ts
 */
import { network } from "hardhat";
import type { Hex } from "viem";
import { commit, createJob, deployMarket, jobParams, modelHashFor, registerProvider, vote, type Ctx, type Provider } from "../../test/helpers/market.ts";

const conn = await network.create({ override: { accounts: { mnemonic: "test test test test test test test test test test test junk", count: 24 } } } as never);
const ctx: Ctx = await deployMarket(conn as never);
const wallets = ctx.others as unknown as Provider["wallet"][];
const ps: Provider[] = [];
for (let i = 0; i < 8; i++) ps.push(await registerProvider(ctx, wallets[i + 1]));
const jobId = await createJob(ctx, wallets[0] as never, jobParams({ rounds: 3, maxWorkers: 8, minWorkers: 8, quorumBps: 6_667 }));
for (const p of ps) await ctx.market.write.joinJob([jobId], { account: p.wallet.account });

interface Log { op: string; gasCost: number; depth: number }
async function breakdown(label: string, hash: Hex) {
  const receipt = await ctx.publicClient.waitForTransactionReceipt({ hash });
  const trace = (await conn.provider.request({ method: "debug_traceTransaction", params: [hash, { disableStack: !process.env.SLOTS, disableMemory: true, disableStorage: true }] })) as { gas: number; structLogs: Log[] };
  type L = Log & { gas: number };
  const logs = trace.structLogs as L[];
  const byOp = new Map<string, number>();
  const top = logs[0]?.depth ?? 1;
  for (let i = 0; i < logs.length; i++) {
    const l = logs[i];
    if (l.depth !== top) continue;
    let cost = l.gasCost;
    let op = l.op;
    if (["CALL", "STATICCALL", "DELEGATECALL"].includes(l.op) && logs[i + 1]?.depth === top + 1) {
      let j = i + 1;
      while (j < logs.length && logs[j].depth > top) j++;
      cost = l.gas - logs[j].gas; // the call with everything the callee did
      op = `${l.op}+callee`;
    } else if (["CALL", "STATICCALL"].includes(l.op) && logs[i + 1]?.depth === top) {
      cost = l.gas - logs[i + 1].gas; // a precompile (ecrecover): no frame of its own
      op = `${l.op}(precompile)`;
    }
    byOp.set(op, (byOp.get(op) ?? 0) + cost);
    if (process.env.SLOTS && (l.op === "SLOAD" || l.op === "SSTORE")) {
      const stack = (l as unknown as { stack: string[] }).stack;
      console.log(`    ${l.op} ${l.gasCost} ${stack[stack.length - 1]}`);
    }
  }
  const rows = [...byOp].sort((a, b) => b[1] - a[1]);
  const exec = rows.reduce((a, [, g]) => a + g, 0);
  console.log(`\n${label}: gasUsed ${receipt.gasUsed}, execution ≈ ${exec}, intrinsic+calldata ≈ ${Number(receipt.gasUsed) - exec}`);
  for (const [op, g] of rows.slice(0, 14)) console.log(`  ${op.padEnd(14)} ${g}`);
}

const hashes: Hex[] = [];
for (const p of ps) hashes.push(await commit(ctx, p, jobId, 0));
await breakdown("commit #2", hashes[1]);
const mask = 0xff;
const votes: Hex[] = [];
for (const p of ps.slice(0, 3)) votes.push(await vote(ctx, p, jobId, 0, modelHashFor(jobId, 0), mask));
await breakdown("vote #1 (first)", votes[0]);
await breakdown("vote #2", votes[1]);
