/**
 * `npm start` (./run start): the local market. Current stage: starts Hardhat's JSON-RPC node,
 * deploys the contracts with Ignition (token, registry, market, roles wired), prints the
 * addresses and keeps the chain running until Ctrl-C. The blob store, indexer, API, workers and
 * demo job join here as their issues land.
 *
 * Options: --port <n> (default 8545), --help
 */
import { parseArgs } from "node:util";
import { startHardhatNode } from "./chain.ts";
import { deployWithIgnition } from "./deploy.ts";

const { values } = parseArgs({
  options: { port: { type: "string", default: "8545" }, help: { type: "boolean", default: false } },
  allowPositionals: false,
});
if (values.help) {
  console.log("usage: ./run start [--port 8545]\n  starts a local chain and deploys the market contracts; Ctrl-C stops it");
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`--port must be an integer between 1 and 65535, got ${values.port}`);
  process.exit(2);
}

console.log(`[start] starting Hardhat node on 127.0.0.1:${port}`);
const chain = await startHardhatNode({ port });
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  console.log("\n[start] stopping chain");
  await chain.stop();
  process.exit(code);
};
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
try {
  // The in-memory chain is new at every start, so the deployment is re-done from scratch.
  const addresses = await deployWithIgnition({ rpcUrl: chain.url, deploymentId: "local", reset: true, log: (l) => console.log(`[ignition] ${l}`) });
  console.log(`[start] chain   ${chain.url} (chain id 31337)`);
  console.log(`[start] token   ${addresses.token}`);
  console.log(`[start] registry ${addresses.registry}`);
  console.log(`[start] market  ${addresses.market}`);
  console.log("[start] running; Ctrl-C to stop");
} catch (err) {
  console.error(`[start] ${(err as Error).message}`);
  await stop(1);
}
