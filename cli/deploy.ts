/**
 * Deploys the market with Hardhat Ignition to a JSON-RPC endpoint and returns the addresses.
 * Wraps `hardhat ignition deploy ignition/modules/Market.ts --network localhost` with the local-chain
 * limits below.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseIgnitionAddresses, type MarketAddresses } from "../shared/addresses.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Protocol limits for a local development chain (Hardhat's node or anvil, chain 31337), where the
 * public-chain defaults of ignition/modules/MarketCore.ts (commit and vote windows >= 300 s, challenge
 * window >= 1 day, bisection moves of 1 h, referee votes within 1 day) would make a local demo or an
 * end-to-end test wait for hours. Only the minimum windows are lowered: the penalty, bounty and
 * bond-to-reward bounds, the referee stake, panel size and slash stay at their defaults, so local jobs are
 * checked against the same economic bounds as public ones. `./run deploy` (public chains) never uses these.
 */
export const LOCAL_CHAIN_PARAMETERS = Object.freeze({
  minCommitWindow: 10,
  minVoteWindow: 10,
  minChallengeWindow: 60,
  moveWindow: 120,
  refereeWindow: 300,
});

export async function deployWithIgnition(opts: { rpcUrl: string; deploymentId: string; reset?: boolean; parameters?: Record<string, number | string>; log?: (l: string) => void }): Promise<MarketAddresses> {
  const cli = path.join(root, "node_modules", "hardhat", "dist", "src", "cli.js");
  const parameters = { Market: { ...LOCAL_CHAIN_PARAMETERS, ...(opts.parameters ?? {}) } };
  const args = [cli, "ignition", "deploy", "ignition/modules/Market.ts", "--network", "localhost", "--deployment-id", opts.deploymentId, "--parameters", JSON.stringify(parameters)];
  if (opts.reset) args.push("--reset");
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      // one confirmation: a local dev node does not reorganise (anvil's interval mining would otherwise wait 5 blocks per step)
      env: { ...process.env, RPC_URL: opts.rpcUrl, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true", IGNITION_CONFIRMATIONS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const onData = (d: Buffer) => d.toString().split("\n").filter((l) => l.trim()).forEach((l) => opts.log?.(l));
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new Error(`Ignition deployment failed (exit ${code}); see the log above`);
  const file = path.join(root, "ignition", "deployments", opts.deploymentId, "deployed_addresses.json");
  return parseIgnitionAddresses(JSON.parse(readFileSync(file, "utf8")) as Record<string, string>);
}

/**
 * Compiles the contracts (`hardhat build`) with visible progress: Hardhat's own lines, and a line
 * every 20 s while the compiler works (the first build with the bundled solc.js takes minutes on a
 * slow machine; later builds reuse the cache and take seconds).
 */
export async function compileContracts(say: (line: string) => void): Promise<void> {
  const cli = path.join(root, "node_modules", "hardhat", "dist", "src", "cli.js");
  const t0 = Date.now();
  say("contracts: compiling Solidity (solc.js; the first build takes a few minutes, later ones reuse the cache)");
  const timer = setInterval(() => say(`contracts: still compiling… ${Math.round((Date.now() - t0) / 1000)} s`), 20_000);
  const out: string[] = [];
  try {
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [cli, "build", "--no-tests", "--default-build-profile", "production"], { cwd: root, env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" }, stdio: ["ignore", "pipe", "pipe"] });
      const onData = (d: Buffer) => {
        for (const l of d.toString().split("\n")) {
          if (!l.trim()) continue;
          out.push(l);
          if (/^(Compiling|Compiled|No contracts to compile|Nothing to compile)/i.test(l.trim())) say(`contracts: ${l.trim()}`);
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("close", (c) => resolve(c ?? 1));
    });
    if (code !== 0) throw new Error(`compiling the contracts failed (exit ${code}): ${out.filter((l) => /error/i.test(l)).slice(0, 3).join(" | ") || out.slice(-3).join(" | ")}`);
  } finally {
    clearInterval(timer);
  }
  say(`contracts: compiled in ${Math.round((Date.now() - t0) / 1000)} s`);
}
