/**
 * Deploys the market with Hardhat Ignition to a JSON-RPC endpoint and returns the addresses.
 * Wraps `hardhat ignition deploy ignition/modules/Market.ts --network localhost`.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseIgnitionAddresses, type MarketAddresses } from "../shared/addresses.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export async function deployWithIgnition(opts: { rpcUrl: string; deploymentId: string; reset?: boolean; log?: (l: string) => void }): Promise<MarketAddresses> {
  const cli = path.join(root, "node_modules", "hardhat", "dist", "src", "cli.js");
  const args = [cli, "ignition", "deploy", "ignition/modules/Market.ts", "--network", "localhost", "--deployment-id", opts.deploymentId];
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
