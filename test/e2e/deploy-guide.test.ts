// @lane chain-clock: most of this file's time is spent waiting for blocks (scripts/test.ts runs it beside the CPU-bound files)
/**
 * docs/deploying.md works as written: its `bash` blocks run in order, in one shell, against anvil
 * with 12 s blocks, a chain id other than 31337 and no unlocked accounts (the deployer key comes
 * from TESTNET_DEPLOYER_KEY, as Hardhat's configVariable reads it). The test plays the faucet
 * (anvil_setBalance) where the guide says to send ether. A one-round job must complete with every
 * provider paid, through the authenticated standalone blob store.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, http, parseEther, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startDevNode, type DevNode } from "../../cli/dev-node.ts";
import { rpc } from "../../cli/chain.ts";
import { trainingMarketAbi } from "../../shared/abis.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The guide's executable blocks, in order. */
function guideBlocks(): string[] {
  const md = readFileSync(path.join(root, "docs", "deploying.md"), "utf8");
  return [...md.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe("the 'Deploying to a public testnet' guide, run as written on anvil (12 s blocks, no unlocked accounts)", { timeout: 1_500_000 }, () => {
  let node: DevNode | undefined;
  const chainId = 700_000 + Math.floor(Math.random() * 99_999);
  const work = mkdtempSync(path.join(tmpdir(), "guide-"));
  let shellPid: number | undefined;
  after(async () => {
    if (shellPid) try { process.kill(-shellPid, "SIGTERM"); } catch { /* already gone */ }
    await node?.stop();
    rmSync(path.join(root, "ignition", "deployments", `chain-${chainId}`), { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it("deploys, starts the blob store, funds, registers, posts a job and trains it to completion", async () => {
    const port = 30000 + Math.floor(Math.random() * 20000);
    node = await startDevNode({ kind: "anvil", port, blockTime: 12, accounts: 0, chainId });
    const deployerKey = generatePrivateKey();
    const deployer = privateKeyToAccount(deployerKey);
    assert.deepEqual(await rpc<string[]>(node.url, "eth_accounts"), [], "the node has no unlocked accounts");
    await rpc(node.url, "anvil_setBalance", [deployer.address, "0x8ac7230489e80000"]); // the faucet

    const blocks = guideBlocks();
    assert.ok(blocks.length >= 7, `the guide has its executable steps (found ${blocks.length})`);
    const faucetAt = blocks.findIndex((b) => b.includes("token mint"));
    assert.ok(faucetAt > 0);
    const script = [
      "set -euo pipefail",
      ...blocks.flatMap((b, i) => (i === faucetAt ? [`./run exec node test/fixtures/faucet.ts $W/keys/poster.json $W/keys/provider-*.json`, b] : [b])),
    ].join("\n");
    const blobPort = 30000 + Math.floor(Math.random() * 20000);
    const out: string[] = [];
    const code = await new Promise<number>((resolve) => {
      const shell = spawn("bash", ["-c", script], {
        cwd: root,
        detached: true,
        env: {
          ...process.env,
          TESTNET_RPC_URL: node!.url,
          TESTNET_DEPLOYER_KEY: deployerKey,
          CHAIN_ID: String(chainId),
          W: work,
          BLOB_PORT: String(blobPort),
          WORKER_PASSWORD: "guide-test-password",
          IGNITION_CONFIRMATIONS: "1",
          FAUCET_RPC: node!.url,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      shellPid = shell.pid;
      const onData = (d: Buffer) => {
        out.push(d.toString());
        if (process.env.TEST_VERBOSE) process.stderr.write(d);
      };
      shell.stdout.on("data", onData);
      shell.stderr.on("data", onData);
      shell.on("exit", (c) => resolve(c ?? 1));
    });
    const text = out.join("");
    const logs = ["1", "2", "3"].map((i) => (existsSync(path.join(work, "logs", `provider-${i}.log`)) ? readFileSync(path.join(work, "logs", `provider-${i}.log`), "utf8").split("\n").slice(-6).join("\n") : "")).join("\n---\n");
    assert.equal(code, 0, `${text.slice(-4000)}\n--- worker logs ---\n${logs}`);
    assert.match(text, /"status": "Completed"/, "job status reports the job Completed");
    assert.ok(existsSync(path.join(work, "model.bin")), "the final model was downloaded and verified");

    // on chain: every provider was paid for the round, nobody was penalised
    const config = JSON.parse(readFileSync(path.join(root, "ignition", "deployments", `chain-${chainId}`, "market-config.json"), "utf8")) as { market: Address; "from-block": string };
    const client = createPublicClient({ transport: http(node.url) });
    // (rewards accrue per job and are credited at bond release after the challenge window: issue 13)
    const jobs = await client.readContract({ address: config.market, abi: trainingMarketAbi, functionName: "jobCount" });
    const workers = await client.readContract({ address: config.market, abi: trainingMarketAbi, functionName: "workersOf", args: [jobs] });
    assert.equal(workers.length, 3);
    const rewardPerRound = (await client.readContract({ address: config.market, abi: trainingMarketAbi, functionName: "jobParams", args: [jobs] })).rewardPerRound;
    assert.equal(rewardPerRound, parseEther("10"));
    for (const w of workers) assert.equal((await client.readContract({ address: config.market, abi: trainingMarketAbi, functionName: "workerSlot", args: [jobs, w] })).paidRounds, 1);
    const pens = await client.getContractEvents({ address: config.market, abi: trainingMarketAbi, eventName: "WorkerPenalized", fromBlock: 0n });
    assert.equal(pens.length, 0);
    // the blob store authenticated every upload it accepted and refused none of the guide's
    const blobLog = readFileSync(path.join(work, "blobstore.log"), "utf8");
    assert.match(blobLog, /registered providers of 0x[0-9a-fA-F]{40} and posters/);
  });
});
