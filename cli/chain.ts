/**
 * Starts Hardhat's JSON-RPC node as a child process and waits until it answers.
 * Used by `npm start` (cli/start.ts) and by tests that need a real HTTP endpoint.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface RunningChain {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

import { rpc } from "../shared/json-rpc.ts";
export { rpc, describeAnswer } from "../shared/json-rpc.ts";

export async function waitForRpc(url: string, timeoutMs = 240_000): Promise<void> {
  const start = Date.now();
  let lastError: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      await rpc(url, "eth_chainId");
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`JSON-RPC at ${url} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

/**
 * Starts `hardhat node` on `port` (127.0.0.1) and resolves once it serves requests. Besides mining on
 * every transaction, it mines an empty block every `intervalMs` (default 1000) so that chain time —
 * which round deadlines are measured in — advances even when nobody sends transactions.
 */
export async function startHardhatNode(opts: { port: number; log?: (line: string) => void; intervalMs?: number; initialDate?: Date }): Promise<RunningChain> {
  const cli = path.join(root, "node_modules", "hardhat", "dist", "src", "cli.js");
  const child = spawn(process.execPath, [cli, "node", "--hostname", "127.0.0.1", "--port", String(opts.port)], {
    cwd: root,
    env: { ...process.env, ...(opts.initialDate ? { HARDHAT_NODE_INITIAL_DATE: opts.initialDate.toISOString() } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = `http://127.0.0.1:${opts.port}`;
  const onLine = (d: Buffer) => {
    for (const line of d.toString().split("\n")) if (line.trim()) opts.log?.(line);
  };
  child.stdout?.on("data", onLine);
  child.stderr?.on("data", onLine);
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`hardhat node exited early with code ${code}`))),
  );
  await Promise.race([waitForRpc(url), exited]);
  if ((opts.intervalMs ?? 1000) > 0) await rpc(url, "evm_setIntervalMining", [opts.intervalMs ?? 1000]);
  return {
    url,
    port: opts.port,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        // a child killed by a signal has exitCode null and signalCode set: it has exited all the same
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL"); }, 10_000).unref();
      }),
  };
}
