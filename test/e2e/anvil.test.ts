/**
 * The market on a second EVM implementation: Foundry's anvil (npm @foundry-rs/anvil) mining a block
 * every 2 s and only then (no block per transaction), as a real chain does. Honest workers finish a
 * job with no reverted transaction and no penalty; an absent worker is penalised while the others
 * are paid in full; a worker killed mid-round restarts and is paid for every round.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { getAddress, parseEther, type Address } from "viem";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork, type WorkerProcess } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { createJobFromSpec, jobStatus } from "../../cli/poster/actions.ts";
import { trainingMarketAbi } from "../../shared/abis.ts";
import { PenaltyReason } from "../../shared/types.ts";

const ADVERSARY = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "adversarial-worker.ts");
const REWARD = parseEther("10");

/** What `who` earned in the job: paid rounds × reward, accrued per job and credited when its bond is released after the challenge window (issue 13). */
async function rewardsOf(net: TestNetwork, jobId: bigint, who: Address): Promise<bigint> {
  const slot = await net.reader.slot(jobId, who);
  return BigInt(slot.paidRounds) * BigInt((await net.reader.jobParams(jobId)).rewardPerRound);
}

async function penalties(net: TestNetwork, jobId: bigint): Promise<[Address, string][]> {
  const logs = await net.reader.client.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "WorkerPenalized", args: { jobId }, fromBlock: 0n });
  return logs.map((l) => [getAddress(l.args.worker!), PenaltyReason[l.args.reason!]]);
}

/** Transactions sent by `accounts` in blocks [from, head] that reverted. */
async function revertedTxs(net: TestNetwork, from: bigint, accounts: Address[]): Promise<string[]> {
  const client = net.reader.client;
  const head = await client.getBlockNumber({ cacheTime: 0 });
  const out: string[] = [];
  const mine = new Set(accounts.map((a) => a.toLowerCase()));
  for (let n = from; n <= head; n++) {
    const block = await client.getBlock({ blockNumber: n, includeTransactions: true });
    for (const tx of block.transactions) {
      if (!mine.has(tx.from.toLowerCase())) continue;
      const r = await client.getTransactionReceipt({ hash: tx.hash });
      if (r.status !== "success") out.push(`${tx.from} ${tx.input.slice(0, 10)} in block ${n}`);
    }
  }
  return out;
}

describe("the market on anvil with 2 s interval blocks", { timeout: 900_000 }, () => {
  let net: TestNetwork;
  const poster = hardhatAccount(1);
  before(async () => {
    net = await startTestNetwork({ chain: "anvil", blockTime: 2 });
    await net.mint(poster.address, "100000");
    for (let i = 2; i <= 10; i++) {
      await net.mint(hardhatAccount(i).address, "1000");
      const key = await net.keystore(hardhatKey(i), `w${i}`);
      const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...net.workerArgs(`w${i}`, key)]);
      assert.equal(await reg.exited, 0, reg.lines.join("\n"));
    }
  });
  after(async () => net?.stop());

  const args = (jobId: bigint, i: number) => ["run", "--job", jobId.toString(), ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)];

  it("three honest workers complete a job: paid in full, never penalised, no reverted transaction", async () => {
    const start = await net.reader.client.getBlockNumber({ cacheTime: 0 });
    const spec = makeSpec({ model: "tiny", rounds: 2, innerSteps: 6, workers: 3, commitWindow: 300, voteWindow: 300 });
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    const procs: WorkerProcess[] = [2, 3, 4].map((i) => net.spawnWorker(`w${i}`, args(jobId, i)));
    const codes = await Promise.all(procs.map((p) => p.exited));
    assert.deepEqual(codes, [0, 0, 0], procs.map((p) => p.lines.slice(-8).join("\n")).join("\n---\n"));
    const status = await jobStatus(net.reader, jobId);
    assert.equal(status.status, "Completed");
    assert.ok(status.losses.every((r) => r.status === "Finalized"));
    const addrs = [2, 3, 4].map((i) => hardhatAccount(i).address);
    for (const a of addrs) assert.equal(await rewardsOf(net, jobId, a), 2n * REWARD, `${a} paid for both rounds`);
    assert.deepEqual(await penalties(net, jobId), []);
    assert.deepEqual(await revertedTxs(net, start, addrs), [], "no worker transaction reverted (no late commit, no vote after the quorum)");
  });

  it("an absent worker is penalised and removed; the others are paid in full", async () => {
    const spec = makeSpec({ model: "tiny", rounds: 2, innerSteps: 6, workers: 3, commitWindow: 40, voteWindow: 60 });
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    const procs = [5, 6].map((i) => net.spawnWorker(`w${i}`, args(jobId, i)));
    const silent = net.spawnWorker("w7-silent", args(jobId, 7).slice(1), { script: ADVERSARY, env: { ADVERSARY: "silent" } });
    const codes = await Promise.all([...procs, silent].map((p) => p.exited));
    assert.deepEqual(codes, [0, 0, 0], [...procs, silent].map((p) => p.lines.slice(-8).join("\n")).join("\n---\n"));
    assert.equal((await jobStatus(net.reader, jobId)).status, "Completed");
    for (const i of [5, 6]) assert.equal(await rewardsOf(net, jobId, hardhatAccount(i).address), 2n * REWARD, `honest worker ${i} paid in full`);
    const absent = hardhatAccount(7).address;
    assert.deepEqual(await penalties(net, jobId), [[absent, "Absent"]]);
    assert.equal((await net.reader.slot(jobId, absent)).active, false);
  });

  it("a worker killed after its commit (SIGKILL) restarts and is paid for every round", async () => {
    const spec = makeSpec({ model: "tiny", rounds: 2, innerSteps: 6, workers: 3, commitWindow: 300, voteWindow: 300 });
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    const procs = [8, 9, 10].map((i) => net.spawnWorker(`w${i}`, args(jobId, i)));
    await procs[0].waitFor(/"msg":"committed".*"round":0,/, 300_000);
    procs[0].child.kill("SIGKILL");
    assert.notEqual(await procs[0].exited, 0);
    const restarted = net.spawnWorker("w8-restarted", args(jobId, 8));
    const codes = await Promise.all([restarted, procs[1], procs[2]].map((p) => p.exited));
    assert.deepEqual(codes, [0, 0, 0], [restarted, procs[1], procs[2]].map((p) => p.lines.slice(-8).join("\n")).join("\n---\n"));
    assert.equal((await jobStatus(net.reader, jobId)).status, "Completed");
    for (const i of [8, 9, 10]) assert.equal(await rewardsOf(net, jobId, hardhatAccount(i).address), 2n * REWARD, `worker ${i} paid for every round`);
    assert.deepEqual(await penalties(net, jobId), []);
    assert.ok(!restarted.lines.some((l) => l.includes('"msg":"joined job"')), "the restarted worker resumed its job");
  });
});
