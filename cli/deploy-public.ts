/**
 * `./run deploy`: deploys the market to a network of hardhat.config.ts with Ignition, without any
 * prompt, and writes the market's config file for workers and posters (docs/deploying.md).
 *
 *   ./run deploy --network testnet                       # on the project's TestToken
 *   ./run deploy --network testnet --token 0x…           # on an existing ERC-20
 *   options: --deployment-id <id> (default chain-<id>)  --parameters <file.json> (module parameters)
 *
 * Ignition resumes an interrupted deployment of the same id (run the command again). The addresses,
 * the chain id and the deployment block (where event scans start) go to
 * ignition/deployments/<id>/market-config.json, which every command takes as --config.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { isAddress, getAddress } from "viem";
import { parseIgnitionAddresses } from "../shared/addresses.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function fail(message: string): never {
  process.stderr.write(`deploy: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: { network: { type: "string" }, token: { type: "string" }, "deployment-id": { type: "string" }, parameters: { type: "string" }, help: { type: "boolean", default: false } },
  allowPositionals: false,
});
if (values.help) {
  console.log("usage: ./run deploy --network <name> [--token <erc20>] [--deployment-id <id>] [--parameters <file.json>]");
  process.exit(0);
}
if (!values.network) fail("pass --network <name> (a network of hardhat.config.ts, e.g. testnet)");
if (values.token !== undefined && !isAddress(values.token)) fail(`--token is not an address: ${values.token}`);
const module = values.token ? "MarketWithToken" : "Market";
let params: Record<string, Record<string, unknown>> = {};
if (values.parameters) {
  try {
    params = JSON.parse(readFileSync(values.parameters, "utf8")) as typeof params;
  } catch (err) {
    fail(`cannot read --parameters ${values.parameters}: ${(err as Error).message}`);
  }
}
// parameters written for either module apply to the one deployed
const own = { ...(params.Market ?? {}), ...(params.MarketWithToken ?? {}), ...(values.token ? { token: getAddress(values.token) } : {}) };
const cli = path.join(root, "node_modules", "hardhat", "dist", "src", "cli.js");

async function hardhat(args: string[], capture = false): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: root,
      // no prompt: the network and the deployment are confirmed by running this command
      env: { ...process.env, HARDHAT_IGNITION_CONFIRM_DEPLOYMENT: "true", HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
      stdio: ["ignore", capture ? "pipe" : "inherit", "inherit"],
    });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

// the chain id names the default deployment folder
const probe = path.join(root, "cli", "network-chain-id.ts");
const idRun = await hardhat(["run", "--no-compile", probe, "--network", values.network], true);
const chainId = Number(/chainId=(\d+)/.exec(idRun.out)?.[1]);
if (idRun.code !== 0 || !Number.isInteger(chainId)) fail(`cannot reach network ${values.network}: check TESTNET_RPC_URL (hardhat keystore or environment) and hardhat.config.ts`);
const deploymentId = values["deployment-id"] ?? `chain-${chainId}`;
const args = ["ignition", "deploy", `ignition/modules/${module}.ts`, "--network", values.network, "--deployment-id", deploymentId, "--parameters", JSON.stringify({ [module]: own })];
const { code } = await hardhat(args);
if (code !== 0) fail(`Ignition stopped (exit ${code}); fix the cause above and run the same command again: it resumes`);

const dir = path.join(root, "ignition", "deployments", deploymentId);
const addresses = parseIgnitionAddresses(JSON.parse(readFileSync(path.join(dir, "deployed_addresses.json"), "utf8")) as Record<string, string>);
// deployment block: the first receipt in Ignition's journal
let fromBlock: number | undefined;
const journal = path.join(dir, "journal.jsonl");
if (existsSync(journal)) {
  for (const line of readFileSync(journal, "utf8").split("\n")) {
    const m = /"blockNumber":\s*(\d+)/.exec(line);
    if (m) fromBlock = Math.min(fromBlock ?? Number.MAX_SAFE_INTEGER, Number(m[1]));
  }
}
const config = { "chain-id": String(chainId), market: addresses.market, registry: addresses.registry, token: addresses.token, ...(fromBlock !== undefined ? { "from-block": String(fromBlock) } : {}) };
const out = path.join(dir, "market-config.json");
writeFileSync(out, `${JSON.stringify(config, null, 2)}\n`);
console.log(JSON.stringify({ network: values.network, chainId, deploymentId, module, ...addresses, fromBlock: fromBlock ?? null, config: path.relative(root, out) }));
