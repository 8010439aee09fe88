/**
 * The README's first line, end to end: `cli/start.ts` runs a small network (3 workers, 3 rounds,
 * tiny model); everything is then checked through GraphQL alone, and the indexer's view is compared
 * with the contracts' state read directly.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, getAddress, http, keccak256, parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { trainingMarketAbi } from "../../shared/abis.ts";
import { hardhatKey } from "../helpers/network.ts";
import { JobStatus } from "../../shared/types.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const base = 21000 + Math.floor(Math.random() * 15000);
const ports = { chain: base, blob: base + 1, indexer: base + 2, api: base + 3 };
const apiUrl = `http://127.0.0.1:${ports.api}/graphql`;

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(apiUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(`GraphQL: ${body.errors.map((e) => e.message).join("; ")}`);
  return body.data!;
}

describe("./run start runs a whole local market to a completed demo job", { timeout: 900_000 }, () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "local-market-"));
  let proc: ChildProcess | undefined;
  const lines: string[] = [];
  after(async () => {
    if (proc && proc.exitCode === null) {
      proc.kill("SIGINT");
      await new Promise((r) => proc!.once("exit", r));
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(path.join(root, "ignition", "deployments", "local"), { recursive: true, force: true });
  });

  it("completes the job; GraphQL shows falling eval loss, exact payouts, the refund, the model hash, and agrees with the chain", async () => {
    proc = spawn(process.execPath, [path.join(root, "cli", "start.ts"), "--model", "tiny", "--rounds", "3", "--inner-steps", "12", "--workers", "3", "--data-dir", dataDir,
      "--port", String(ports.chain), "--blob-port", String(ports.blob), "--indexer-port", String(ports.indexer), "--api-port", String(ports.api)], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    const summary = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        for (const l of d.toString().split("\n").filter(Boolean)) {
          lines.push(l);
          if (process.env.TEST_VERBOSE) process.stderr.write(`${l}\n`);
          if (l.includes("services keep running")) resolve();
        }
      };
      proc!.stdout!.on("data", onData);
      proc!.stderr!.on("data", onData);
      proc!.once("exit", (code) => reject(new Error(`start exited with ${code}:\n${lines.slice(-20).join("\n")}`)));
    });
    await summary;
    const jobLine = lines.find((l) => /demo job \d+:/.test(l))!;
    const jobId = /demo job (\d+):/.exec(jobLine)![1];

    // eval losses are reported by the poster process: wait until all three rounds have one
    type LossCurve = { job: { status: string; lossCurve: { round: number; status: string; meanTrainLoss: number; evalLoss: number | null }[] } };
    let curve: LossCurve["job"]["lossCurve"] = [];
    for (let i = 0; i < 120; i++) {
      curve = (await gql<LossCurve>(`query($id: BigInt!) { job(id: $id) { status lossCurve { round status meanTrainLoss evalLoss } } }`, { id: jobId })).job.lossCurve;
      if (curve.length === 3 && curve.every((p) => p.evalLoss !== null)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(curve.length, 3);
    assert.ok(curve.every((p) => p.status === "Finalized"));
    assert.ok(curve[2].evalLoss! < curve[0].evalLoss!, `eval loss should fall: ${curve.map((p) => p.evalLoss).join(" → ")}`);

    // the poster process published the job's name (its spec) and a sample of the final model, printed in the summary
    const notes = (await gql<{ job: { name: string | null; sample: string | null; samplePrompt: string | null; sampleModelHash: string | null; modelHash: string } }>(`query($id: BigInt!) { job(id: $id) { name sample samplePrompt sampleModelHash modelHash } }`, { id: jobId })).job;
    assert.equal(notes.name, "demo: character transformer on the State of the Union corpus");
    assert.ok(notes.sample && notes.sample.length > 0, "a sample of the final model");
    assert.equal(notes.sampleModelHash, notes.modelHash.toLowerCase());
    const sampleLine = lines.find((l) => l.includes("sample of the final model:"));
    assert.ok(sampleLine?.includes(JSON.stringify(notes.samplePrompt! + notes.sample).slice(1, 20)), `summary prints the sample: ${sampleLine}`);

    // rewards accrue per job and are credited when each bond is released after the job's challenge
    // window (issue 13): move the dev chain's time past it, release the three bonds (anyone may), and
    // wait for the indexer to see the credits
    const rpc = `http://127.0.0.1:${ports.chain}`;
    const market = getAddress(/market (0x[0-9a-fA-F]{40})/.exec(lines.find((l) => l.includes("contracts: market"))!)![1]);
    const client = createPublicClient({ chain: hardhat, transport: http(rpc) });
    const releaser = createWalletClient({ account: privateKeyToAccount(hardhatKey(15)), chain: hardhat, transport: http(rpc) });
    const window = (await client.readContract({ address: market, abi: trainingMarketAbi, functionName: "jobParams", args: [BigInt(jobId)] })).challengeWindow;
    await client.request({ method: "evm_increaseTime" as never, params: [Number(window) + 1] as never });
    await client.request({ method: "evm_mine" as never, params: [] as never });
    for (const w of await client.readContract({ address: market, abi: trainingMarketAbi, functionName: "workersOf", args: [BigInt(jobId)] })) {
      const slot = await client.readContract({ address: market, abi: trainingMarketAbi, functionName: "workerSlot", args: [BigInt(jobId), w] });
      if (slot.bondReleased) continue; // a worker service may have released it already
      await client.waitForTransactionReceipt({ hash: await releaser.writeContract({ address: market, abi: trainingMarketAbi, functionName: "releaseBond", args: [BigInt(jobId), w] }) });
    }
    const head = await client.getBlockNumber();
    for (let i = 0; i < 120; i++) {
      if (BigInt((await gql<{ _meta: { block: string } }>(`{ _meta { block } }`))._meta.block) >= head) break;
      await new Promise((r) => setTimeout(r, 500));
    }

    type JobView = { job: { status: string; poster: Address; modelHash: Hex; escrow: string; escrowInitial: string; totalPaid: string; refunded: string; currentRound: number | null; workerCount: number; rewardPerRound: string; feePerReward: string; rounds: number; workers: { items: { worker: Address; earned: string; active: boolean; index: number; bond: string }[] } } };
    const { job } = await gql<JobView>(`query($id: BigInt!) { job(id: $id) { status poster modelHash escrow escrowInitial totalPaid refunded currentRound workerCount rewardPerRound feePerReward rounds workers(first: 100) { items { worker earned active index bond } } } }`, { id: jobId });
    assert.equal(job.status, "Completed");
    const reward = BigInt(job.rewardPerRound);
    assert.equal(reward, parseEther("10"));
    assert.equal(job.workers.items.length, 3);
    for (const w of job.workers.items) {
      assert.equal(BigInt(w.earned), 3n * reward, `worker ${w.worker} credited exactly rounds × reward`);
      type Payouts = { payouts: { items: { kind: string; amount: string; jobId: string }[] } };
      const p = await gql<Payouts>(`query($a: Address!) { payouts(where: { account: $a }, first: 100) { items { kind amount jobId } } }`, { a: w.worker });
      const rewards = p.payouts.items.filter((x) => x.kind === "Reward" && x.jobId === jobId).reduce((a, x) => a + BigInt(x.amount), 0n);
      assert.equal(rewards, 3n * reward);
    }
    // the poster was refunded whatever was not paid out (here every slot was paid, so escrow − paid − fees)
    const fees = 9n * BigInt(job.feePerReward);
    assert.equal(BigInt(job.refunded), BigInt(job.escrowInitial) - 9n * reward - fees);
    assert.equal(BigInt(job.escrow), 0n);

    // the final model: the chain's hash equals the hash of the blob downloaded from the blob store
    const blob = new Uint8Array(await (await fetch(`http://127.0.0.1:${ports.blob}/blobs/${job.modelHash}`)).arrayBuffer());
    assert.equal(keccak256(blob), job.modelHash);

    // the indexer's view equals the contracts' state read directly
    const read = <T>(functionName: string, args: unknown[]) => client.readContract({ address: market, abi: trainingMarketAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
    const chainJob = await read<{ poster: Address; status: number; workerCount: number; escrow: bigint; modelHash: Hex; currentRound: number }>("jobState", [BigInt(jobId)]);
    assert.equal(JobStatus[chainJob.status], job.status);
    assert.equal(chainJob.modelHash, job.modelHash);
    assert.equal(chainJob.escrow, BigInt(job.escrow));
    assert.equal(chainJob.workerCount, job.workerCount);
    assert.equal(getAddress(chainJob.poster), getAddress(job.poster));
    for (const w of job.workers.items) {
      const slot = await read<{ index: number; active: boolean; bond: bigint }>("workerSlot", [BigInt(jobId), w.worker]);
      assert.equal(slot.index, w.index);
      assert.equal(slot.active, w.active);
      assert.equal(slot.bond, BigInt(w.bond));
      type Acct = { account: { balance: string } | null };
      const a = await gql<Acct>(`query($a: Address!) { account(address: $a) { balance } }`, { a: w.worker });
      assert.equal(BigInt(a.account?.balance ?? "0"), await read<bigint>("balanceOf", [w.worker]));
    }
    const posterAcct = await gql<{ account: { balance: string } | null }>(`query($a: Address!) { account(address: $a) { balance } }`, { a: job.poster });
    assert.equal(BigInt(posterAcct.account?.balance ?? "0"), await read<bigint>("balanceOf", [job.poster]));
    const meta = await gql<{ _meta: { chainId: number } }>(`{ _meta { chainId } }`);
    assert.equal(meta._meta.chainId, 31337);
  });
});
