/**
 * Chain-facing behaviour the worker needs on real chains, checked on a real anvil node:
 * stuck transactions replaced with higher fees (same nonce), chain-time stalls reported, event
 * scans split when the endpoint refuses a block range, data folders bound to one chain and market.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { startDevNode, type DevNode } from "../../cli/dev-node.ts";
import { rpc } from "../../cli/chain.ts";
import { hardhatKey } from "../../cli/dev-accounts.ts";
import { TxSender, bumpFees } from "../../worker/chain/tx-sender.ts";
import { ChainClock } from "../../worker/chain/chain-clock.ts";
import { scanEvents, isRangeTooLarge } from "../../worker/chain/log-scan.ts";
import { findDeployBlock } from "../../worker/chain/deploy-block.ts";
import { bindDataDir } from "../../worker/node/data-dir.ts";
import { testTokenAbi } from "../../shared/abis.ts";

const artifact = JSON.parse(readFileSync(new URL("../../artifacts/contracts/token/TestToken.sol/TestToken.json", import.meta.url), "utf8")) as { bytecode: Hex };
const owner = privateKeyToAccount(hardhatKey(0));

/** A JSON-RPC proxy that refuses eth_getLogs over more than `maxRange` blocks, like public endpoints. */
async function rangeLimitedProxy(target: string, maxRange: number): Promise<{ url: string; server: Server; refused: () => number }> {
  let refused = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { id: number; method: string; params: { fromBlock: Hex; toBlock: Hex }[] };
    if (body.method === "eth_getLogs") {
      const { fromBlock, toBlock } = body.params[0];
      if (Number(BigInt(toBlock)) - Number(BigInt(fromBlock)) + 1 > maxRange) {
        refused += 1;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: body.id, error: { code: -32600, message: `eth_getLogs block range is too large, max is ${maxRange} blocks` } }));
        return;
      }
    }
    const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) });
    res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, refused: () => refused };
}

describe("worker chain behaviour on anvil", () => {
  let node: DevNode;
  let token: Address;
  let deployBlock: bigint;
  const clients = (url: string) => ({
    publicClient: createPublicClient({ chain: foundry, transport: http(url, { retryCount: 0 }) }),
    walletClient: createWalletClient({ chain: foundry, transport: http(url, { retryCount: 0 }), account: owner }),
  });
  before(async () => {
    node = await startDevNode({ kind: "anvil", port: 30000 + Math.floor(Math.random() * 20000), blockTime: 0 });
    const { publicClient, walletClient } = clients(node.url);
    for (let i = 0; i < 3; i++) await node.mine();
    const hash = await walletClient.deployContract({ abi: testTokenAbi, bytecode: artifact.bytecode, args: [owner.address] });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    token = receipt.contractAddress!;
    deployBlock = receipt.blockNumber;
  });
  after(async () => node?.stop());

  it("finds the deployment block by binary search over eth_getCode", async () => {
    const { publicClient } = clients(node.url);
    assert.equal(await findDeployBlock(publicClient, token), deployBlock);
  });

  it("scans events in chunks when the endpoint refuses wide block ranges", async () => {
    const { publicClient } = clients(node.url);
    const s = new TxSender({ ...clients(node.url) });
    for (let i = 0; i < 12; i++) {
      await s.send({ address: token, abi: testTokenAbi, functionName: "mint", args: [owner.address, BigInt(i + 1)] });
      await node.mine(); // spread the events over many blocks
    }
    const proxy = await rangeLimitedProxy(node.url, 5);
    try {
      const limited = createPublicClient({ chain: foundry, transport: http(proxy.url, { retryCount: 0 }) });
      const head = await publicClient.getBlockNumber({ cacheTime: 0 });
      const logs = await scanEvents(limited, { address: token, abi: testTokenAbi, eventName: "Transfer", fromBlock: deployBlock, toBlock: head });
      assert.deepEqual(logs.map((l) => l.args.value), Array.from({ length: 12 }, (_, i) => BigInt(i + 1)));
      assert.ok(proxy.refused() > 0, "the proxy refused at least one wide range");
      assert.ok(isRangeTooLarge(new Error("query returned more than 10000 results")));
      assert.ok(!isRangeTooLarge(new Error("execution reverted")));
    } finally {
      proxy.server.close();
    }
  });

  it("replaces a transaction stuck in the mempool with higher fees (same nonce) until it is mined", async () => {
    const { publicClient, walletClient } = clients(node.url);
    await rpc(node.url, "evm_setAutomine", [false]);
    const broadcasts: Hex[] = [];
    const s = new TxSender({ publicClient, walletClient, bumpAfterMs: 400, onBroadcast: (h) => void broadcasts.push(h) });
    const to = privateKeyToAccount(hardhatKey(5)).address;
    const sending = s.send({ address: token, abi: testTokenAbi, functionName: "mint", args: [to, parseEther("1")] });
    while (broadcasts.length < 3) await new Promise((r) => setTimeout(r, 100));
    await rpc(node.url, "evm_mine", []);
    await rpc(node.url, "evm_setAutomine", [true]);
    const receipt = await sending;
    assert.equal(receipt.status, "success");
    assert.ok(s.bumps >= 2, `bumped ${s.bumps} times`);
    const txs = await Promise.all(broadcasts.map((h) => publicClient.getTransaction({ hash: h }).catch(() => undefined)));
    const first = await publicClient.getTransaction({ hash: receipt.transactionHash });
    assert.equal(new Set(txs.filter(Boolean).map((t) => t!.nonce)).size, 1, "every version used the same nonce");
    assert.ok(receipt.transactionHash !== broadcasts[0], "a replacement was mined, not the first version");
    assert.ok(first.maxPriorityFeePerGas! > 0n);
    assert.equal(await publicClient.readContract({ address: token, abi: testTokenAbi, functionName: "balanceOf", args: [to] }), parseEther("1"), "minted exactly once");
    // fee arithmetic: at least +12.5 % on both fields, or the market's level
    assert.deepEqual(bumpFees({ maxFeePerGas: 800n, maxPriorityFeePerGas: 8n }, { maxFeePerGas: 100n, maxPriorityFeePerGas: 1n }), { maxFeePerGas: 901n, maxPriorityFeePerGas: 10n });
    assert.deepEqual(bumpFees({ gasPrice: 80n }, { gasPrice: 500n }), { gasPrice: 500n });
  });

  it("reports chain time that does not advance, and clears the report when blocks come again", async () => {
    const { publicClient } = clients(node.url);
    const stalls: number[] = [];
    const clock = new ChainClock(publicClient, { stallMs: 300, onStall: (s) => stalls.push(s.stalledSeconds) });
    await clock.now();
    await new Promise((r) => setTimeout(r, 400));
    await clock.now();
    assert.equal(stalls.length, 1, "a stall was reported once");
    assert.equal(clock.stalled, true);
    await node.mine();
    await clock.now();
    assert.equal(clock.stalled, false);
  });

  it("refuses a worker data folder that belongs to another chain or market", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "datadir-"));
    try {
      const a = { market: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", token } as const;
      await bindDataDir({ dataDir: dir, chainId: 31337, addresses: a });
      await bindDataDir({ dataDir: dir, chainId: 31337, addresses: a }); // same: fine
      await assert.rejects(bindDataDir({ dataDir: dir, chainId: 11155111, addresses: a }), /belongs to chain 31337/);
      await assert.rejects(bindDataDir({ dataDir: dir, chainId: 31337, addresses: { ...a, market: "0x5FbDB2315678afecb367f032d93F642f64180aa3" } }), /market 0x9fE4/);
      const legacy = mkdtempSync(path.join(tmpdir(), "datadir-"));
      mkdirSync(path.join(legacy, "jobs", "1"), { recursive: true });
      await assert.rejects(bindDataDir({ dataDir: legacy, chainId: 31337, addresses: a }), /no network.json/);
      rmSync(legacy, { recursive: true, force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
