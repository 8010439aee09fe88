/**
 * A small real market network for integration tests: an EVM JSON-RPC node (child process: Hardhat's
 * node by default, or anvil with interval blocks; see cli/dev-node.ts),
 * Ignition deployment, blob service over HTTP, provider keystores for Hardhat's funded accounts,
 * and worker processes running `worker/cli.ts`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, http, parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { hardhatKey } from "../../cli/dev-accounts.ts";
export { hardhatKey };
import { startDevNode, type DevNode, type DevNodeKind } from "../../cli/dev-node.ts";
import { deployWithIgnition } from "../../cli/deploy.ts";
import { startBlobServer, type RunningBlobServer } from "../../blobstore/server.ts";
import { HttpBlobStore } from "../../blobstore/http-client.ts";
import { encryptKey, writeKeystore } from "../../worker/keys/keystore.ts";
import { testTokenAbi } from "../../shared/abis.ts";
import type { MarketAddresses } from "../../shared/addresses.ts";
import { TxSender } from "../../worker/chain/tx-sender.ts";
import { MarketReader } from "../../worker/node/market-reader.ts";
import { chainFor } from "../../worker/node/clients.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const PASSWORD = "test-password";

export function hardhatAccount(i: number): PrivateKeyAccount {
  return privateKeyToAccount(hardhatKey(i));
}

export interface TestNetwork {
  chain: DevNode;
  blob: RunningBlobServer;
  blobs: HttpBlobStore;
  addresses: MarketAddresses;
  dir: string;
  deploymentId: string;
  reader: MarketReader;
  deployer: PrivateKeyAccount;
  senderFor(account: PrivateKeyAccount): TxSender;
  mint(to: Address, tokens: string): Promise<void>;
  /** Writes an encrypted keystore for a private key and returns its path. */
  keystore(privateKey: Hex, name: string): Promise<string>;
  workerArgs(name: string, keyFile: string): string[];
  /** Spawns `worker/cli.ts` (or another script, e.g. the adversarial test worker) with `args`. */
  spawnWorker(name: string, args: string[], opts?: { env?: Record<string, string>; script?: string }): WorkerProcess;
  /** Advances chain time by `seconds` and mines a block. */
  warp(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

export interface WorkerProcess {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number>;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

export async function startTestNetwork(opts: { port?: number; chain?: DevNodeKind; blockTime?: number } = {}): Promise<TestNetwork> {
  const dir = mkdtempSync(path.join(tmpdir(), "market-net-"));
  const port = opts.port ?? 20000 + Math.floor(Math.random() * 20000);
  const chain = await startDevNode({ kind: opts.chain ?? "hardhat", port, blockTime: opts.blockTime });
  const deploymentId = `test-${process.pid}-${port}`;
  const addresses = await deployWithIgnition({ rpcUrl: chain.url, deploymentId, reset: true });
  const blob = await startBlobServer({ dir: path.join(dir, "blobs") });
  const chainDef = chainFor({ chainId: 31337, rpcUrl: chain.url });
  const publicClient = createPublicClient({ chain: chainDef, transport: http(chain.url), pollingInterval: 100 });
  const reader = new MarketReader(publicClient, addresses);
  const deployer = hardhatAccount(0);
  const senders = new Map<string, TxSender>();
  const senderFor = (account: PrivateKeyAccount) => {
    let s = senders.get(account.address);
    if (!s) {
      s = new TxSender({ publicClient, walletClient: createWalletClient({ chain: chainDef, transport: http(chain.url), account }) });
      senders.set(account.address, s);
    }
    return s;
  };
  const children: ChildProcess[] = [];
  const net: TestNetwork = {
    chain,
    blob,
    blobs: new HttpBlobStore(blob.url),
    addresses,
    dir,
    deploymentId,
    reader,
    deployer,
    senderFor,
    async mint(to, tokens) {
      await senderFor(deployer).send({ address: addresses.token, abi: testTokenAbi, functionName: "mint", args: [to, parseEther(tokens)] });
    },
    async keystore(privateKey, name) {
      const file = path.join(dir, "keys", `${name}.json`);
      await writeKeystore(file, await encryptKey(privateKey, PASSWORD, { scryptN: 1024 }));
      return file;
    },
    workerArgs(name, keyFile) {
      return [
        "--rpc-url", chain.url, "--chain-id", "31337",
        "--market", addresses.market, "--registry", addresses.registry, "--token", addresses.token,
        "--key-file", keyFile, "--blob-url", blob.url, "--data-dir", path.join(dir, "workers", name),
        "--poll-ms", "150", "--scrypt-n", "1024",
      ];
    },
    spawnWorker(name, args, o = {}) {
      const child = spawn(process.execPath, [o.script ?? path.join(root, "worker", "cli.ts"), ...args], {
        cwd: root,
        // markets of these tests have no referees unless a test registers them (and sets WORKER_MIN_REFEREES)
        env: { ...process.env, WORKER_PASSWORD: PASSWORD, WORKER_MIN_REFEREES: "0", ...o.env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      const lines: string[] = [];
      const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
      const onData = (d: Buffer) => {
        for (const line of d.toString().split("\n")) {
          if (!line.trim()) continue;
          lines.push(line);
          if (process.env.TEST_VERBOSE) process.stderr.write(`[${name}] ${line}\n`);
          for (const w of [...waiters]) if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      const exited = new Promise<number>((resolve) => child.on("exit", (code, sig) => resolve(code ?? (sig ? 128 : 1))));
      return {
        child,
        lines,
        exited,
        waitFor(re, timeoutMs = 120_000) {
          const hit = lines.find((l) => re.test(l));
          if (hit) return Promise.resolve(hit);
          return new Promise<string>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`${name}: no line matching ${re} within ${timeoutMs} ms; last lines:\n${lines.slice(-15).join("\n")}`)), timeoutMs);
            waiters.push({ re, resolve: (l) => { clearTimeout(t); resolve(l); } });
          });
        },
      };
    },
    async warp(seconds) {
      await chain.increaseTime(seconds);
    },
    async stop() {
      for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
      await blob.close();
      await chain.stop();
      rmSync(path.join(root, "ignition", "deployments", deploymentId), { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return net;
}

export function writeJsonFile(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 2));
}
