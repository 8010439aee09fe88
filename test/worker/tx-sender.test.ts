import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createPublicClient, createWalletClient, http, parseEther, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { startHardhatNode, type RunningChain } from "../../cli/chain.ts";
import { deployWithIgnition } from "../../cli/deploy.ts";
import { ContractRevertError, TxSender } from "../../worker/chain/tx-sender.ts";
import { testTokenAbi, trainingMarketAbi } from "../../shared/abis.ts";

// Hardhat's first default account (deployer, token owner) and another funded account.
const DEPLOYER = privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
const OTHER = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");

/** A JSON-RPC proxy that answers 503 to the first `failFirst` requests, then forwards. */
async function faultyProxy(target: string, failFirst: number): Promise<{ url: string; server: Server; failures: () => number }> {
  let seen = 0;
  let failed = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen += 1;
    if (seen <= failFirst) {
      failed += 1;
      res.writeHead(503).end("unavailable");
      return;
    }
    const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) });
    res.writeHead(upstream.status, { "content-type": "application/json" }).end(await upstream.text());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, failures: () => failed };
}

describe("TxSender against a real Hardhat JSON-RPC node", () => {
  let chain: RunningChain;
  let token: Address;
  let market: Address;
  before(async () => {
    chain = await startHardhatNode({ port: 18545 + Math.floor(Math.random() * 1000) });
    const addrs = await deployWithIgnition({ rpcUrl: chain.url, deploymentId: `test-tx-${process.pid}`, reset: true });
    token = addrs.token;
    market = addrs.market;
  });
  after(async () => {
    await chain.stop();
    const { rm } = await import("node:fs/promises");
    await rm(new URL(`../../ignition/deployments/test-tx-${process.pid}`, import.meta.url), { recursive: true, force: true });
  });

  function sender(url: string, account = DEPLOYER) {
    const publicClient = createPublicClient({ chain: hardhat, transport: http(url, { retryCount: 0 }) });
    const walletClient = createWalletClient({ chain: hardhat, transport: http(url, { retryCount: 0 }), account });
    return { publicClient, sender: new TxSender({ publicClient, walletClient, backoffMs: 20 }) };
  }

  it("sends concurrent transactions with locally managed nonces, all mined in order", async () => {
    const { publicClient, sender: s } = sender(chain.url);
    const before = await publicClient.getTransactionCount({ address: DEPLOYER.address });
    const receipts = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        s.send({ address: token, abi: testTokenAbi, functionName: "mint", args: [OTHER.address, parseEther(String(i + 1))] }),
      ),
    );
    assert.ok(receipts.every((r) => r.status === "success"));
    assert.equal(await publicClient.getTransactionCount({ address: DEPLOYER.address }), before + 6);
    assert.equal(await publicClient.readContract({ address: token, abi: testTokenAbi, functionName: "balanceOf", args: [OTHER.address] }), parseEther("21"));
  });

  it("decodes a revert into its custom error name before spending gas", async () => {
    const { publicClient, sender: s } = sender(chain.url, OTHER);
    const nonce = await publicClient.getTransactionCount({ address: OTHER.address });
    await assert.rejects(
      s.send({ address: market, abi: trainingMarketAbi, functionName: "withdraw", args: [] }),
      (err: unknown) => err instanceof ContractRevertError && err.errorName === "NothingToWithdraw" && /withdraw reverted with NothingToWithdraw/.test(err.message),
    );
    assert.equal(await publicClient.getTransactionCount({ address: OTHER.address }), nonce, "no transaction was sent");
  });

  it("retries transient 5xx answers from the RPC with backoff and then succeeds", async () => {
    const proxy = await faultyProxy(chain.url, 3);
    try {
      const { sender: s } = sender(proxy.url);
      const r = await s.send({ address: token, abi: testTokenAbi, functionName: "mint", args: [OTHER.address, 1n] });
      assert.equal(r.status, "success");
      assert.equal(proxy.failures(), 3);
    } finally {
      proxy.server.close();
    }
  });

  it("recovers when another client used the account's nonce in between", async () => {
    const { sender: s } = sender(chain.url);
    await s.send({ address: token, abi: testTokenAbi, functionName: "mint", args: [OTHER.address, 1n] });
    const { sender: other } = sender(chain.url); // same account, separate nonce cache
    await other.send({ address: token, abi: testTokenAbi, functionName: "mint", args: [OTHER.address, 1n] });
    const r = await s.send({ address: token, abi: testTokenAbi, functionName: "mint", args: [OTHER.address, 1n] });
    assert.equal(r.status, "success");
  });
});
