/**
 * One adapter for the two local EVM nodes the project runs on: Hardhat's node (EDR) and Foundry's
 * anvil (npm `@foundry-rs/anvil`). Everything dev-node-specific lives here, so that nothing else
 * (worker, poster CLI, indexer) ever calls a dev-only RPC method:
 *
 *   - interval mining: `evm_setIntervalMining` takes milliseconds on Hardhat and seconds on anvil;
 *     anvil's `--block-time` mines on an interval only (no block per transaction), like a real chain;
 *   - state persistence across restarts: anvil dumps and loads its state itself (`--state <file>`,
 *     dumped every few seconds and on exit); Hardhat's node has no dump, so the transaction journal
 *     (cli/chain-journal.ts) replays the history on a fresh node;
 *   - chain time while the network is down: both resume at the last block's time, so no deadline
 *     passes while nothing runs;
 *   - test controls (mine, increase time) under each node's method names.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { rpc, startHardhatNode, waitForRpc } from "./chain.ts";
import { ChainJournal, type ChainJournalOptions } from "./chain-journal.ts";

export type DevNodeKind = "hardhat" | "anvil";
export const DEV_NODE_KINDS: readonly DevNodeKind[] = ["hardhat", "anvil"];

export interface DevNodeOptions {
  kind: DevNodeKind;
  port: number;
  /**
   * Seconds between interval blocks. Hardhat: mines a block per transaction plus one every
   * `blockTime` s (default 1). anvil: mines only every `blockTime` s (default 2), as a real chain.
   * 0: automine only (chain time then stands still between transactions).
   */
  blockTime?: number;
  /** Folder for the node's persisted state (journal or state dump); none: in memory only. */
  stateDir?: string;
  /** Funded dev accounts (both nodes derive them from the same test mnemonic); default 20. anvil: 0 for none (as a public chain). */
  accounts?: number;
  /** anvil only: the chain id (default 31337). */
  chainId?: number;
  log?: (line: string) => void;
  /** Hardhat only: the journal's retry and failure callbacks. */
  journal?: ChainJournalOptions;
}

export interface DevNode {
  kind: DevNodeKind;
  url: string;
  port: number;
  chainId: number;
  /** Seconds between interval blocks (0: none). */
  blockTime: number;
  process: ChildProcess;
  /**
   * Brings back the persisted chain (journal replay on Hardhat; anvil loaded its dump at start) and
   * starts persisting new blocks. Returns whether there was a previous chain to resume.
   */
  restore(log?: (msg: string) => void): Promise<{ resumed: boolean; detail: string }>;
  /** Sets interval mining (seconds; 0 turns it off). */
  setBlockTime(seconds: number): Promise<void>;
  /** Mines one block now. */
  mine(): Promise<void>;
  /** Moves chain time forward by `seconds` and mines a block. */
  increaseTime(seconds: number): Promise<void>;
  /** Stops the node after persisting its state. */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** The anvil binary shipped by the npm package for this platform. */
export function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`anvil is not installed for ${process.platform}-${process.arch} (npm package ${pkg}); run ./run install, or use --chain hardhat`);
  }
  return path.join(dir, "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill(signal);
    setTimeout(() => { if (child.exitCode === null) child.kill("SIGKILL"); }, 10_000).unref();
  });
}

async function startHardhat(o: DevNodeOptions): Promise<DevNode> {
  const blockTime = o.blockTime ?? 1;
  // a resumed chain starts just before the journal's first block and mines nothing until replayed,
  // so every replayed block keeps its original timestamp (stable "Created" times and deadlines)
  const journalFile = o.stateDir ? path.join(o.stateDir, "journal.jsonl") : undefined;
  const genesis = journalFile && existsSync(journalFile) ? new ChainJournal(journalFile, "").genesisDate() : undefined;
  const chain = await startHardhatNode({ port: o.port, log: o.log, intervalMs: genesis ? 0 : blockTime * 1000, initialDate: genesis });
  const journal = journalFile ? new ChainJournal(journalFile, chain.url, o.journal) : undefined;
  if (o.stateDir) mkdirSync(o.stateDir, { recursive: true });
  return {
    kind: "hardhat",
    url: chain.url,
    port: o.port,
    chainId: 31337,
    blockTime,
    process: chain.process,
    async restore(log) {
      if (!journal) return { resumed: false, detail: "in memory" };
      const had = existsSync(journal.file) && journal.read().blocks.length > 0;
      let n = 0;
      if (had) {
        n = await journal.replay(log);
        await rpc(chain.url, "evm_setIntervalMining", [blockTime * 1000]);
      }
      journal.start();
      return { resumed: had, detail: had ? `from the journal (${n} transactions replayed)` : "new chain" };
    },
    setBlockTime: (s) => rpc(chain.url, "evm_setIntervalMining", [s * 1000]).then(() => undefined),
    mine: () => rpc(chain.url, "evm_mine", []).then(() => undefined),
    async increaseTime(s) {
      await rpc(chain.url, "evm_increaseTime", [s]);
      await rpc(chain.url, "evm_mine", []);
    },
    async stop() {
      try {
        await journal?.stop();
      } finally {
        await chain.stop(); // the node stops even when the journal's last flush failed
      }
    },
  };
}

async function startAnvil(o: DevNodeOptions): Promise<DevNode> {
  const blockTime = o.blockTime ?? 2;
  const args = ["--host", "127.0.0.1", "--port", String(o.port), "--accounts", String(o.accounts ?? 20), "--chain-id", String(o.chainId ?? 31337)];
  if (blockTime > 0) args.push("--block-time", String(blockTime));
  let stateFile: string | undefined;
  let hadState = false;
  if (o.stateDir) {
    mkdirSync(o.stateDir, { recursive: true });
    stateFile = path.join(o.stateDir, "anvil-state.json");
    // an empty file (a crash mid-dump) would not load: set it aside and start over from the previous dump
    if (existsSync(stateFile) && statSync(stateFile).size === 0) renameSync(stateFile, `${stateFile}.empty`);
    hadState = existsSync(stateFile);
    args.push("--state", stateFile, "--state-interval", "2", "--preserve-historical-states");
  }
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  const onLine = (d: Buffer) => {
    for (const line of d.toString().split("\n")) if (line.trim()) o.log?.(line);
  };
  child.stdout?.on("data", onLine);
  child.stderr?.on("data", onLine);
  const url = `http://127.0.0.1:${o.port}`;
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`anvil exited early with code ${code}`))));
  exited.catch(() => {});
  await Promise.race([waitForRpc(url), exited]);
  return {
    kind: "anvil",
    url,
    port: o.port,
    chainId: o.chainId ?? 31337,
    blockTime,
    process: child,
    async restore() {
      if (!hadState) return { resumed: false, detail: stateFile ? "new chain" : "in memory" };
      // Resume chain time at the last block: the time the network was down does not count.
      const latest = await rpc<{ number: string; timestamp: string }>(url, "eth_getBlockByNumber", ["latest", false]);
      await rpc(url, "evm_setTime", [Number(BigInt(latest.timestamp)) + 1]);
      return { resumed: true, detail: `from anvil's state dump (block ${Number(BigInt(latest.number))})` };
    },
    setBlockTime: (s) => rpc(url, "evm_setIntervalMining", [s]).then(() => undefined),
    mine: () => rpc(url, "evm_mine", []).then(() => undefined),
    async increaseTime(s) {
      await rpc(url, "evm_increaseTime", [s]);
      await rpc(url, "evm_mine", []);
    },
    // SIGINT makes anvil dump its state (--state) before exiting
    stop: () => stopChild(child, "SIGINT"),
  };
}

/** Starts a local dev node of either kind and waits until it answers. */
export function startDevNode(o: DevNodeOptions): Promise<DevNode> {
  if (o.kind === "hardhat") return startHardhat(o);
  if (o.kind === "anvil") return startAnvil(o);
  throw new Error(`unknown chain "${o.kind as string}": use one of ${DEV_NODE_KINDS.join(", ")}`);
}
