/**
 * `./run start`: the whole market on this machine, in one command.
 *
 *   chain (Hardhat node, journaled so it survives restarts) → contracts (Ignition) → blob store →
 *   indexer + GraphQL API (+ dashboard) → provider workers (separate processes) → a demo job
 *   trained to completion, with live progress (round r/R, train and eval loss, tokens paid) and a
 *   summary with the GraphQL URL and a sample query.
 *
 * Everything lives under --data-dir (default .data/). Ctrl-C stops every process cleanly; running it
 * again resumes the same chain, contracts, workers and job; --fresh wipes the data directory first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createPublicClient, createWalletClient, formatUnits, http, parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatKey } from "./dev-accounts.ts";
import { startHardhatNode, rpc } from "./chain.ts";
import { ChainJournal } from "./chain-journal.ts";
import { deployWithIgnition } from "./deploy.ts";
import { startBlobServer } from "../blobstore/server.ts";
import { HttpBlobStore } from "../blobstore/http-client.ts";
import { encryptKey, writeKeystore } from "../worker/keys/keystore.ts";
import { TxSender } from "../worker/chain/tx-sender.ts";
import { MarketReader } from "../worker/node/market-reader.ts";
import { chainFor } from "../worker/node/clients.ts";
import { makeSpec } from "../worker/spec/presets.ts";
import { createJobFromSpec } from "./poster/actions.ts";
import { testTokenAbi, trainingMarketAbi } from "../shared/abis.ts";
import { decodeLoss } from "../shared/eip712.ts";
import type { MarketAddresses } from "../shared/addresses.ts";
import { JobStatus } from "../shared/types.ts";
import { EvalTracker } from "./eval-tracker.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const HELP = `usage: ./run start [options]

Starts the local market: chain, contracts, blob store, indexer + GraphQL API, workers and a demo job.

  --workers <n>       worker processes (default 3, max 16)
  --rounds <n>        rounds of the demo job (default 4)
  --inner-steps <n>   inner steps H per round (default 40)
  --model <size>      default (0.43M parameters) or tiny (default: default)
  --data-dir <dir>    where everything is kept (default .data)
  --port <n>          chain JSON-RPC port (default 8545); the blob store, indexer and API use the
                      next ones unless given: --blob-port (8700), --indexer-port (8787), --api-port (4000)
  --fresh             wipe the data directory and start a new network
  --exit-when-done    stop everything once the demo job ended (for scripts and tests)
  --help              this text`;

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "3" },
    rounds: { type: "string", default: "4" },
    "inner-steps": { type: "string", default: "40" },
    model: { type: "string", default: "default" },
    "data-dir": { type: "string", default: path.join(root, ".data") },
    port: { type: "string", default: "8545" },
    "blob-port": { type: "string", default: "8700" },
    "indexer-port": { type: "string", default: "8787" },
    "api-port": { type: "string", default: "4000" },
    fresh: { type: "boolean", default: false },
    "exit-when-done": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
  allowPositionals: false,
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}

function intOpt(name: keyof typeof values, min: number, max: number): number {
  const raw = values[name] as string;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be an integer between ${min} and ${max}, got ${raw}`);
    process.exit(2);
  }
  return n;
}
const opts = {
  workers: intOpt("workers", 1, 16),
  rounds: intOpt("rounds", 1, 1000),
  innerSteps: intOpt("inner-steps", 1, 100_000),
  port: intOpt("port", 1, 65535),
  blobPort: intOpt("blob-port", 1, 65535),
  indexerPort: intOpt("indexer-port", 1, 65535),
  apiPort: intOpt("api-port", 1, 65535),
  model: values.model as string,
  dataDir: path.resolve(values["data-dir"] as string),
};
if (opts.model !== "default" && opts.model !== "tiny") {
  console.error(`--model must be "default" or "tiny", got ${opts.model}`);
  process.exit(2);
}

const say = (msg: string) => console.log(`[start] ${msg}`);

interface NetworkState {
  version: 1;
  addresses?: MarketAddresses;
  funded?: boolean;
  registered?: string[];
  jobId?: string;
  options?: { workers: number; rounds: number; innerSteps: number; model: string };
}

const stateFile = path.join(opts.dataDir, "network.json");
if (values.fresh && existsSync(opts.dataDir)) {
  say(`--fresh: wiping ${opts.dataDir}`);
  rmSync(opts.dataDir, { recursive: true, force: true });
}
mkdirSync(opts.dataDir, { recursive: true });
const state: NetworkState = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, "utf8")) : { version: 1 };
const saveState = () => writeFileSync(stateFile, JSON.stringify(state, null, 2));
if (state.options && state.jobId) {
  const o = state.options;
  if (o.workers !== opts.workers || o.rounds !== opts.rounds || o.model !== opts.model || o.innerSteps !== opts.innerSteps) {
    say(`resuming job ${state.jobId} with its original settings (${o.workers} workers, ${o.rounds} rounds, H=${o.innerSteps}, ${o.model} model); use --fresh to change them`);
    Object.assign(opts, { workers: o.workers, rounds: o.rounds, innerSteps: o.innerSteps, model: o.model });
  }
}

const passwordFile = path.join(opts.dataDir, "keys", "password");
if (!existsSync(passwordFile)) {
  mkdirSync(path.dirname(passwordFile), { recursive: true });
  writeFileSync(passwordFile, randomBytes(16).toString("hex"), { mode: 0o600 });
}
const password = readFileSync(passwordFile, "utf8").trim();

const children: { name: string; proc: ChildProcess }[] = [];
function spawnChild(name: string, script: string, args: string[], env: Record<string, string>, quiet = true): ChildProcess {
  const logFile = path.join(opts.dataDir, "logs", `${name}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const proc = spawn(process.execPath, [script, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const out = createWriteStream(logFile, { flags: "a" });
  proc.stdout!.pipe(out);
  proc.stderr!.pipe(out);
  if (!quiet) proc.stderr!.on("data", (d: Buffer) => process.stderr.write(`[${name}] ${d}`));
  children.push({ name, proc });
  return proc;
}

let shuttingDown = false;
let chainStop: (() => Promise<void>) | undefined;
let journal: ChainJournal | undefined;
let blobClose: (() => Promise<void>) | undefined;
async function shutdown(code: number): Promise<never> {
  if (shuttingDown) process.exit(code);
  shuttingDown = true;
  say("stopping: workers, indexer/API, blob store, chain");
  const exits = children.filter((c) => c.proc.exitCode === null).map((c) => new Promise<void>((r) => {
    c.proc.once("exit", () => r());
    c.proc.kill("SIGTERM");
    setTimeout(() => { if (c.proc.exitCode === null) c.proc.kill("SIGKILL"); }, 8000).unref();
  }));
  await Promise.all(exits);
  await journal?.stop();
  await blobClose?.();
  await chainStop?.();
  say("stopped; run ./run start again to resume");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  // ---- chain
  const journalFile = path.join(opts.dataDir, "chain", "journal.jsonl");
  mkdirSync(path.dirname(journalFile), { recursive: true });
  say(`chain: Hardhat node on 127.0.0.1:${opts.port}`);
  const chain = await startHardhatNode({ port: opts.port });
  chainStop = chain.stop;
  journal = new ChainJournal(journalFile, chain.url);
  const resumed = existsSync(journalFile) && state.addresses !== undefined;
  if (resumed) {
    const n = await journal.replay(say);
    await rpc(chain.url, "evm_setIntervalMining", [1000]);
    say(`chain: restored from the journal (${n} transactions replayed)`);
    rmSync(path.join(opts.dataDir, "indexer.db"), { force: true }); // block hashes were re-created: re-index
  } else {
    state.addresses = undefined;
    state.funded = false;
    state.registered = [];
    state.jobId = undefined;
  }
  journal.start();

  // ---- contracts
  if (!state.addresses) {
    say("contracts: deploying with Ignition (token, registry, market, roles)");
    state.addresses = await deployWithIgnition({ rpcUrl: chain.url, deploymentId: "local", reset: true });
    saveState();
  }
  const addresses = state.addresses!;
  say(`contracts: market ${addresses.market}, registry ${addresses.registry}, token ${addresses.token}`);
  const chainDef = chainFor({ chainId: 31337, rpcUrl: chain.url });
  const publicClient = createPublicClient({ chain: chainDef, transport: http(chain.url), pollingInterval: 250 });
  const reader = new MarketReader(publicClient, addresses);
  const poster = privateKeyToAccount(hardhatKey(1));
  const senderOf = (pk: Hex) => new TxSender({ publicClient, walletClient: createWalletClient({ chain: chainDef, transport: http(chain.url), account: privateKeyToAccount(pk) }) });

  // ---- blob store
  const blob = await startBlobServer({ dir: path.join(opts.dataDir, "blobs"), port: opts.blobPort });
  blobClose = blob.close;
  const blobs = new HttpBlobStore(blob.url);
  say(`blob store: ${blob.url}`);

  // ---- indexer + API
  const apiUrl = `http://127.0.0.1:${opts.apiPort}/graphql`;
  spawnChild("indexer", path.join(root, "indexer", "main.ts"), ["--api"], {
    RPC_URL: chain.url,
    CHAIN_ID: "31337",
    REGISTRY_ADDRESS: addresses.registry,
    MARKET_ADDRESS: addresses.market,
    DATABASE_URL: `file:${path.join(opts.dataDir, "indexer.db")}`,
    INDEXER_PORT: String(opts.indexerPort),
    API_PORT: String(opts.apiPort),
    FINALITY_DEPTH: "64",
  });
  say(`indexer: http://127.0.0.1:${opts.indexerPort}/ready   API: ${apiUrl}   dashboard: http://127.0.0.1:${opts.apiPort}/`);

  // ---- accounts, keys, funding
  const keysDir = path.join(opts.dataDir, "keys");
  const workerIds = Array.from({ length: opts.workers }, (_, i) => i + 2);
  for (const i of [1, ...workerIds]) {
    const file = path.join(keysDir, `account-${i}.json`);
    if (!existsSync(file)) await writeKeystore(file, await encryptKey(hardhatKey(i), password, { scryptN: 16384 }));
  }
  if (!state.funded) {
    const s = senderOf(hardhatKey(0));
    for (const i of [1, ...workerIds]) {
      await s.send({ address: addresses.token, abi: testTokenAbi, functionName: "mint", args: [privateKeyToAccount(hardhatKey(i)).address, parseEther(i === 1 ? "100000" : "2000")] });
    }
    state.funded = true;
    saveState();
  }

  const workerArgs = (i: number) => [
    "--rpc-url", chain.url, "--chain-id", "31337",
    "--market", addresses.market, "--registry", addresses.registry, "--token", addresses.token,
    "--key-file", path.join(keysDir, `account-${i}.json`), "--password-file", passwordFile,
    "--blob-url", blob.url, "--data-dir", path.join(opts.dataDir, "workers", `w${i}`), "--poll-ms", "300",
  ];
  const workerCli = path.join(root, "worker", "cli.ts");
  state.registered ??= [];
  for (const i of workerIds) {
    if (state.registered.includes(String(i))) continue;
    const proc = spawnChild(`register-${i}`, workerCli, ["register", "--stake", "1000", "--metadata", `local worker ${i}`, ...workerArgs(i)], {});
    const code = await new Promise<number>((r) => proc.once("exit", (c) => r(c ?? 1)));
    if (code !== 0) throw new Error(`worker ${i} failed to register; see ${path.join(opts.dataDir, "logs", `register-${i}.log`)}`);
    state.registered.push(String(i));
    saveState();
  }
  say(`workers: ${opts.workers} providers registered (stake 1000 TCRED each)`);

  // ---- demo job
  const spec = makeSpec({ model: opts.model as "default" | "tiny", rounds: opts.rounds, innerSteps: opts.innerSteps, workers: opts.workers, commitWindow: 900, voteWindow: 300, name: "demo: character transformer on the State of the Union corpus" });
  if (!state.jobId) {
    const created = await createJobFromSpec({ reader, sender: senderOf(hardhatKey(1)), blobs, me: poster.address }, spec);
    state.jobId = created.jobId.toString();
    state.options = { workers: opts.workers, rounds: opts.rounds, innerSteps: opts.innerSteps, model: opts.model };
    saveState();
    say(`demo job ${state.jobId}: ${opts.rounds} rounds × H=${opts.innerSteps}, ${opts.workers} workers, escrow ${formatUnits(created.escrow, 18)} TCRED`);
  } else say(`resuming demo job ${state.jobId}`);
  const jobId = BigInt(state.jobId);
  for (const i of workerIds) spawnChild(`worker-${i}`, workerCli, ["run", "--job", state.jobId, ...workerArgs(i)], {});
  say(`workers: ${opts.workers} worker processes running (logs in ${path.join(opts.dataDir, "logs")})`);

  // ---- progress
  const evals = new EvalTracker({ spec, blobs, apiUrl, poster, chainId: 31337, market: addresses.market, dataDir: opts.dataDir, log: say });
  let lastLine = "";
  let finished = false;
  while (!finished && !shuttingDown) {
    const job = await reader.jobState(jobId);
    const status = JobStatus[job.status];
    const credits = await publicClient.getContractEvents({ address: addresses.market, abi: trainingMarketAbi, eventName: "Credited", args: { jobId }, fromBlock: 0n });
    const paid = credits.filter((c) => c.args.kind === 0).reduce((a, c) => a + c.args.amount!, 0n);
    const finalizedRounds = status === "Completed" ? opts.rounds : job.currentRound;
    let trainLoss = "-";
    if (finalizedRounds > 0) {
      const commits = await reader.commitments(jobId, finalizedRounds - 1);
      if (commits.length) trainLoss = (commits.reduce((a, c) => a + decodeLoss(c.trainLoss), 0) / commits.length).toFixed(4);
    }
    const evalLoss = await evals.update(jobId, reader);
    const line = `job ${jobId} ${status.padEnd(9)} round ${Math.min(finalizedRounds, opts.rounds)}/${opts.rounds}  train loss ${trainLoss}  eval loss ${evalLoss ?? "-"}  paid ${formatUnits(paid, 18)} TCRED`;
    if (line !== lastLine) {
      say(line);
      lastLine = line;
    }
    if (job.status >= 3) finished = true;
    else await new Promise((r) => setTimeout(r, 1000));
  }
  if (finished) {
    const job = await reader.jobState(jobId);
    const poster_ = await reader.balanceOf(poster.address);
    say("──────────────── summary ────────────────");
    say(`job ${jobId}: ${JobStatus[job.status]}; final model ${job.modelHash}`);
    say(`  download it: node cli/market.ts job model ${jobId} --out model.bin --rpc-url ${chain.url} --market ${addresses.market} --registry ${addresses.registry} --token ${addresses.token} --blob-url ${blob.url}`);
    say(`  eval loss per round: ${evals.curve().map((e) => e.toFixed(4)).join(" → ") || "-"}`);
    say(`  poster refund credited: ${formatUnits(poster_, 18)} TCRED`);
    say(`GraphQL: ${apiUrl}   (GraphiQL in a browser)   dashboard: http://127.0.0.1:${opts.apiPort}/`);
    say(`sample query: curl -s ${apiUrl} -H 'content-type: application/json' -d '{"query":"{ job(id: \\"${jobId}\\") { status currentRound lossCurve { round meanTrainLoss evalLoss } } }"}'`);
    if (values["exit-when-done"]) await shutdown(job.status === 3 ? 0 : 1);
    say("services keep running for queries; Ctrl-C to stop");
  }
} catch (err) {
  console.error(`[start] ${(err as Error).message}`);
  await shutdown(1);
}
