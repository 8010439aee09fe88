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
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createPublicClient, createWalletClient, formatUnits, http, parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatKey } from "./dev-accounts.ts";
import type { ChainJournal } from "./chain-journal.ts";
import { startDevNode, DEV_NODE_KINDS, type DevNodeKind } from "./dev-node.ts";
import { deployWithIgnition } from "./deploy.ts";
import { startBlobServer } from "../blobstore/server.ts";
import { uploadDemoDataset } from "./demo-dataset.ts";
import { HttpBlobStore } from "../blobstore/http-client.ts";
import { encryptKey, writeKeystore } from "../worker/keys/keystore.ts";
import { TxSender } from "../worker/chain/tx-sender.ts";
import { MarketReader } from "../worker/node/market-reader.ts";
import { chainFor } from "../worker/node/clients.ts";
import { makeSpec } from "../worker/spec/presets.ts";
import { createJobFromSpec } from "./poster/actions.ts";
import { disputeGameAbi, testTokenAbi, trainingMarketAbi } from "../shared/abis.ts";
import { decodeLoss } from "../shared/eip712.ts";
import type { MarketAddresses } from "../shared/addresses.ts";
import { JobStatus } from "../shared/types.ts";
import { EvalTracker } from "./eval-tracker.ts";
import { parseCommand, type CommandDef } from "./common/args.ts";
import { exitWithError, isVerbose, oneLine, UsageError } from "./common/errors.ts";
import { assertPortsFree } from "./common/ports.ts";
import { lockDataDir } from "./common/data-dir-lock.ts";
import { compileContracts } from "./deploy.ts";
import { writeLocalCliConfig } from "./local-config.ts";
import { WorkerProgress } from "./progress.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const START: CommandDef = {
  name: "./run start",
  summary: "Starts the local market: chain, contracts, blob store, indexer + GraphQL API, workers and a demo job.\nEverything is kept in --data-dir; Ctrl-C stops it, running it again resumes where it stopped.",
  options: {
    workers: { type: "string", arg: "<n>", default: "3", help: "worker processes (1–16)" },
    rounds: { type: "string", arg: "<n>", default: "4", help: "rounds of the demo job" },
    "inner-steps": { type: "string", arg: "<n>", default: "40", help: "inner steps H per round" },
    model: { type: "string", arg: "<size>", default: "default", help: "default (0.43M parameters) or tiny" },
    "data-dir": { type: "string", arg: "<dir>", default: ".data", help: "where everything is kept (one ./run start per folder)" },
    chain: { type: "string", arg: "<node>", default: "hardhat", help: "hardhat, or anvil (Foundry's node from npm: mines only on its interval, like a public chain)" },
    "block-time": { type: "string", arg: "<s>", help: "seconds between interval blocks (default 1 on hardhat, 2 on anvil)" },
    port: { type: "string", arg: "<n>", default: "8545", help: "chain JSON-RPC port" },
    "blob-port": { type: "string", arg: "<n>", default: "8700", help: "blob store port" },
    "indexer-port": { type: "string", arg: "<n>", default: "8787", help: "indexer health/metrics port" },
    "api-port": { type: "string", arg: "<n>", default: "4000", help: "GraphQL API and dashboard port" },
    fresh: { type: "boolean", help: "wipe the data directory and start a new network" },
    "exit-when-done": { type: "boolean", help: "stop everything once the demo job ended (for scripts and tests)" },
  },
  notes: "Each port is fixed unless its flag is given; a port in use is reported before anything starts.\nAfterwards, ./run market … and ./run worker … find this network by themselves (see README).",
};

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseCommand(process.argv.slice(2), START));
} catch (err) {
  exitWithError("start", err, "./run start --help");
}

function intOpt(name: string, min: number, max: number): number {
  const raw = values[name] as string;
  const n = Number(raw);
  if (!/^-?[0-9]+$/.test(raw) || !Number.isInteger(n) || n < min || n > max) exitWithError("start", new UsageError(`--${name} must be an integer between ${min} and ${max}, got ${raw}`), "./run start --help");
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
  dataDir: path.resolve(root, values["data-dir"] as string),
};
const chainKind = values.chain as DevNodeKind;
if (!DEV_NODE_KINDS.includes(chainKind)) exitWithError("start", new UsageError(`--chain must be one of ${DEV_NODE_KINDS.join(", ")}, got ${values.chain}`), "./run start --help");
const blockTime = values["block-time"] === undefined ? undefined : intOpt("block-time", 1, 3600);
if (opts.model !== "default" && opts.model !== "tiny") exitWithError("start", new UsageError(`--model must be "default" or "tiny", got ${opts.model}`), "./run start --help");

const say = (msg: string) => console.log(`[start] ${msg}`);
/** Referee processes of the local network (a panel needs 3 eligible referees). */
const REFEREES = 3;

interface NetworkState {
  version: 1;
  chain?: DevNodeKind;
  addresses?: MarketAddresses;
  funded?: boolean;
  registered?: string[];
  /** Referee accounts (hardhat indices) funded with tokens (and ether when the node did not fund them). */
  refereesFunded?: string[];
  jobId?: string;
  options?: { workers: number; rounds: number; innerSteps: number; model: string };
}

const stateFile = path.join(opts.dataDir, "network.json");
mkdirSync(opts.dataDir, { recursive: true });
// one orchestrator per data directory (a second one would reuse the first one's keys and chain)
let releaseLock: () => void;
try {
  releaseLock = lockDataDir(opts.dataDir);
} catch (err) {
  exitWithError("start", err);
}
// every port is checked before anything starts: a taken port is one line naming the flag to change
try {
  await assertPortsFree([
    { port: opts.port, flag: "--port", service: "the chain's JSON-RPC" },
    { port: opts.blobPort, flag: "--blob-port", service: "the blob store" },
    { port: opts.indexerPort, flag: "--indexer-port", service: "the indexer" },
    { port: opts.apiPort, flag: "--api-port", service: "the GraphQL API and dashboard" },
  ]);
} catch (err) {
  releaseLock();
  exitWithError("start", err);
}
if (values.fresh) {
  say(`--fresh: wiping ${opts.dataDir}`);
  for (const entry of readdirSync(opts.dataDir)) if (entry !== "lock") rmSync(path.join(opts.dataDir, entry), { recursive: true, force: true });
}
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
const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;
function spawnChild(name: string, script: string, args: string[], env: Record<string, string>, o: { onLine?: (line: string) => void; service?: boolean } = {}): ChildProcess {
  const logFile = path.join(opts.dataDir, "logs", `${name}.log`);
  mkdirSync(path.dirname(logFile), { recursive: true });
  const proc = spawn(process.execPath, [script, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const out = createWriteStream(logFile, { flags: "a" });
  proc.stdout!.pipe(out);
  proc.stderr!.pipe(out);
  let tail = "";
  const onData = (d: Buffer) => {
    const text = tail + d.toString();
    const lines = text.split("\n");
    tail = lines.pop()!;
    for (const l of lines) if (l.trim()) {
      lastLines.set(name, l);
      o.onLine?.(l);
    }
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  children.push({ name, proc });
  // a service that stops on its own is said at once, with its last log line (not found later in a log file)
  if (o.service) proc.once("exit", (code, signal) => {
    if (shuttingDown) return;
    say(`${name} stopped unexpectedly (${signal ?? `exit code ${code}`}): ${lastLines.get(name)?.slice(0, 300) ?? "no output"}; log: ${logFile}`);
    if (name === "indexer") void shutdown(1);
  });
  return proc;
}
const lastLines = new Map<string, string>();

let shuttingDown = false;
let chainStop: (() => Promise<void>) | undefined;
let journal: ChainJournal | undefined;
let blobClose: (() => Promise<void>) | undefined;
async function shutdown(code: number): Promise<never> {
  if (shuttingDown) process.exit(code); // a second Ctrl-C: leave at once
  shuttingDown = true;
  say("stopping: workers, indexer/API, blob store, chain");
  setTimeout(() => {
    say("some processes did not stop within 60 s; exiting anyway");
    process.exit(code || 1);
  }, 60_000).unref();
  // a child that already died (exitCode, or signalCode when a signal killed it) has no exit event to wait for
  const exits = children.filter((c) => !exited(c.proc)).map((c) => new Promise<void>((r) => {
    c.proc.once("exit", () => r());
    c.proc.kill("SIGTERM");
    setTimeout(() => { if (!exited(c.proc)) c.proc.kill("SIGKILL"); }, 8000).unref();
  }));
  await Promise.all(exits);
  try {
    await journal?.stop();
  } catch (err) {
    say(`WARNING: ${oneLine(err)}; the last blocks may be missing when resuming`);
    code ||= 1;
  }
  await blobClose?.().catch(() => {});
  try {
    await chainStop?.(); // flushes the chain journal, then stops the node
  } catch (err) {
    say(`WARNING: ${oneLine(err)}; the last blocks may be missing when resuming`);
    code ||= 1;
  }
  releaseLock();
  say(code === 0 ? "stopped; run ./run start again to resume" : "stopped");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  // ---- chain (through the dev-node adapter: Hardhat's journal or anvil's state dump)
  const chainDir = path.join(opts.dataDir, "chain");
  if (state.addresses && (state.chain ?? "hardhat") !== chainKind) {
    throw new UsageError(`${opts.dataDir} holds a network on ${state.chain ?? "hardhat"}; run with --chain ${state.chain ?? "hardhat"}, or --fresh to start over on ${chainKind}`);
  }
  if (!state.addresses) rmSync(chainDir, { recursive: true, force: true }); // nothing deployed yet: a new chain
  const chain = await startDevNode({
    kind: chainKind,
    port: opts.port,
    blockTime,
    stateDir: chainDir,
    journal: {
      onRetry: (err, ms) => { if (ms > 5000) say(`chain journal: retrying (${oneLine(err)})`); },
      onFatal: (err) => {
        say(`FATAL: ${err.message}. Stopping the network now so that no more work is done that a resume would lose; run ./run start again to resume from the journal.`);
        void shutdown(1);
      },
    },
  });
  chainStop = chain.stop;
  say(`chain: ${chainKind} node on 127.0.0.1:${opts.port} (a block every ${chain.blockTime} s${chainKind === "hardhat" ? " and per transaction" : ""})`);
  const restored = await chain.restore(say);
  if (restored.resumed) {
    rmSync(path.join(opts.dataDir, "indexer.db"), { force: true }); // block hashes may differ: re-index
  } else {
    state.addresses = undefined;
    state.funded = false;
    state.registered = [];
    state.jobId = undefined;
  }
  state.chain = chainKind;

  // ---- contracts
  if (!state.addresses) {
    await compileContracts(say);
    say("contracts: deploying with Ignition (token, registry, market, roles)");
    state.addresses = await deployWithIgnition({ rpcUrl: chain.url, deploymentId: "local", reset: true });
    saveState();
  }
  const addresses = state.addresses!;
  // one write: readers that wait for the restore line find the addresses with it
  say(`${restored.resumed ? `chain: restored ${restored.detail}\n[start] ` : ""}contracts: market ${addresses.market}, registry ${addresses.registry}, token ${addresses.token}`);
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
  const indexerProc = spawnChild("indexer", path.join(root, "indexer", "main.ts"), ["--api"], {
    RPC_URL: chain.url,
    CHAIN_ID: "31337",
    REGISTRY_ADDRESS: addresses.registry,
    MARKET_ADDRESS: addresses.market,
    DATABASE_URL: `file:${path.join(opts.dataDir, "indexer.db")}`,
    INDEXER_PORT: String(opts.indexerPort),
    API_PORT: String(opts.apiPort),
    FINALITY_DEPTH: "64",
  }, { service: true });
  say(`indexer: starting (log: ${path.join(opts.dataDir, "logs", "indexer.log")})`);
  // the URLs are printed once the API answers there (and is ours: the port was free before it started)
  void waitForApi(apiUrl, indexerProc).then((ok) => {
    if (ok) say(`indexer: http://127.0.0.1:${opts.indexerPort}/ready   API: ${apiUrl}   dashboard: http://127.0.0.1:${opts.apiPort}/`);
  });

  // ---- accounts, keys, funding
  const keysDir = path.join(opts.dataDir, "keys");
  const workerIds = Array.from({ length: opts.workers }, (_, i) => i + 2);
  // three more providers referee the DisputeGame's panels (never in the job, never its poster)
  const refereeIds = Array.from({ length: REFEREES }, (_, i) => opts.workers + 2 + i);
  for (const i of [1, ...workerIds, ...refereeIds]) {
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
  state.refereesFunded ??= [];
  for (const i of refereeIds) {
    if (state.refereesFunded.includes(String(i))) continue;
    const s = senderOf(hardhatKey(0));
    const who = privateKeyToAccount(hardhatKey(i)).address;
    await s.send({ address: addresses.token, abi: testTokenAbi, functionName: "mint", args: [who, parseEther("2000")] });
    // the dev node funds 20 accounts: later ones get their gas from the deployer
    if ((await publicClient.getBalance({ address: who })) === 0n) {
      const deployer = createWalletClient({ chain: chainDef, transport: http(chain.url), account: privateKeyToAccount(hardhatKey(0)) });
      await publicClient.waitForTransactionReceipt({ hash: await deployer.sendTransaction({ to: who, value: parseEther("100") }) });
    }
    state.refereesFunded.push(String(i));
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
  // registrations run side by side (one account each)
  await Promise.all([...workerIds, ...refereeIds].filter((i) => !state.registered!.includes(String(i))).map(async (i) => {
    const label = refereeIds.includes(i) ? `local referee ${i}` : `local worker ${i}`;
    const proc = spawnChild(`register-${i}`, workerCli, ["register", "--stake", "1000", "--metadata", label, ...workerArgs(i)], {});
    const code = await new Promise<number>((r) => proc.once("exit", (c) => r(c ?? 1)));
    if (shuttingDown) await new Promise(() => {}); // Ctrl-C during registration: shutdown() exits
    if (code !== 0) throw new Error(`${refereeIds.includes(i) ? "referee" : "worker"} ${i} failed to register (${lastLines.get(`register-${i}`) ?? "no output"}); log: ${path.join(opts.dataDir, "logs", `register-${i}.log`)}`);
    state.registered!.push(String(i));
    saveState();
  }));
  say(`workers: ${opts.workers} providers registered (stake 1000 TCRED each)`);

  // ---- demo job
  const demoData = await uploadDemoDataset(blobs); // the corpus as a content-addressed dataset (cli/demo-dataset.ts)
  say(`dataset: State of the Union (char) ${demoData.hash}, ${demoData.shards} shards`);
  const spec = makeSpec({ model: opts.model as "default" | "tiny", rounds: opts.rounds, innerSteps: opts.innerSteps, workers: opts.workers, commitWindow: 900, voteWindow: 300, name: "demo: character transformer on the State of the Union corpus", dataset: { hash: demoData.hash, shardsPerRound: demoData.shardsPerRound }, keepInnerState: true });
  if (!state.jobId) {
    const created = await createJobFromSpec({ reader, sender: senderOf(hardhatKey(1)), blobs, me: poster.address }, spec);
    state.jobId = created.jobId.toString();
    state.options = { workers: opts.workers, rounds: opts.rounds, innerSteps: opts.innerSteps, model: opts.model };
    saveState();
    say(`demo job ${state.jobId}: ${opts.rounds} rounds × H=${opts.innerSteps}, ${opts.workers} workers, escrow ${formatUnits(created.escrow, 18)} TCRED`);
  } else say(`resuming demo job ${state.jobId}`);
  const jobId = BigInt(state.jobId);
  writeLocalCliConfig(opts.dataDir, { rpcUrl: chain.url, chainId: 31337, addresses, blobUrl: blob.url, posterKeyFile: path.join(keysDir, "account-1.json"), passwordFile });
  // referees first: lock the DisputeGame's referee stake, then recompute and vote on any panel they
  // are drawn on. Workers decline a market with fewer referees than --min-referees (default 3), so
  // they start once the referees are registered on chain.
  const refereeProcs = refereeIds.map((i) => spawnChild(`referee-${i}`, workerCli, ["referee", ...workerArgs(i)], {}, { service: true }));
  const game = addresses.game ?? (await reader.client.readContract({ address: addresses.market, abi: trainingMarketAbi, functionName: "disputeGame" }));
  for (;;) {
    const registered = await reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "referees" });
    if (refereeIds.every((i) => registered.some((r) => r.toLowerCase() === privateKeyToAccount(hardhatKey(i)).address.toLowerCase()))) break;
    const dead = refereeProcs.findIndex((p) => p.exitCode !== null);
    if (dead >= 0) throw new Error(`referee ${refereeIds[dead]} stopped before registering (${lastLines.get(`referee-${refereeIds[dead]}`) ?? "no output"}); log: ${path.join(opts.dataDir, "logs", `referee-${refereeIds[dead]}.log`)}`);
    if (shuttingDown) await new Promise(() => {});
    await new Promise((r) => setTimeout(r, 250));
  }
  say(`referees: ${REFEREES} providers (accounts ${refereeIds.join(", ")}) judge disputes with \`worker referee\` (logs referee-*.log)`);
  const progress = new WorkerProgress(say);
  for (const i of workerIds) spawnChild(`worker-${i}`, workerCli, ["run", "--job", state.jobId, ...workerArgs(i)], {}, { service: true, onLine: (l) => progress.onLogLine(`w${i}`, l) });
  say(`workers: ${opts.workers} worker processes running (logs in ${path.join(opts.dataDir, "logs")})`);

  // ---- progress
  // Rounds are counted the way the dashboard and GraphQL count them: "round k of R" is the round in
  // progress (k = currentRound + 1, 1-based); "done d/R" counts finalized rounds. Rewards paid to
  // workers and the protocol fee are shown apart (the fee is feeBps of each reward, paid by the poster).
  const evals = new EvalTracker({ spec, blobs, apiUrl, poster, chainId: 31337, market: addresses.market, dataDir: opts.dataDir, log: say });
  let lastLine = "";
  let finished = false;
  let evalRun: Promise<void> | undefined;
  let latestEval: string | undefined;
  while (!finished && !shuttingDown) {
    const job = await reader.jobState(jobId);
    const status = JobStatus[job.status];
    const credits = await reader.jobEvents("Credited", jobId);
    const paid = credits.filter((c) => Number(c.args.kind) === 0).reduce((a, c) => a + (c.args.amount as bigint), 0n);
    const rewardsPaid = credits.filter((c) => Number(c.args.kind) === 0).length;
    const done = status === "Completed" ? opts.rounds : job.currentRound;
    let trainLoss = "-";
    if (done > 0) {
      const commits = await reader.commitments(jobId, done - 1);
      if (commits.length) trainLoss = (commits.reduce((a, c) => a + decodeLoss(c.trainLoss), 0) / commits.length).toFixed(4);
    }
    // evaluation runs beside the status line (it takes seconds per model on a busy machine)
    evalRun ??= evals.update(jobId, reader).then((l) => void (latestEval = l ?? latestEval), (err) => say(`eval loss: ${oneLine(err)}`)).finally(() => (evalRun = undefined));
    const evalLoss = latestEval;
    const where = status === "Running" ? `round ${job.currentRound + 1} of ${opts.rounds}` : status === "Open" ? "waiting for workers" : `${done} of ${opts.rounds} rounds`;
    const fee = job.feePerReward * BigInt(rewardsPaid);
    const line = `job ${jobId} ${status.padEnd(9)} ${where} (done ${done}/${opts.rounds})  train loss ${trainLoss}  eval loss ${evalLoss ?? "-"}  paid to workers ${formatUnits(paid, 18)} TCRED (+ fee ${formatUnits(fee, 18)})`;
    progress.round = status === "Running" ? job.currentRound : undefined;
    if (line !== lastLine) {
      say(line);
      lastLine = line;
    }
    if (job.status >= 3) finished = true;
    else await new Promise((r) => setTimeout(r, 1000));
  }
  if (finished) {
    await evalRun;
    await evals.update(jobId, reader).catch((err) => say(`eval loss: ${oneLine(err)}`));
    await evals.settle(jobId, reader).catch((err) => say(`job sample: ${oneLine(err)}`));
    const job = await reader.jobState(jobId);
    const poster_ = await reader.balanceOf(poster.address);
    const dd = path.relative(root, opts.dataDir) === ".data" ? "" : ` --network-dir ${opts.dataDir}`;
    say("──────────────── summary ────────────────");
    say(`job ${jobId}: ${JobStatus[job.status]}; final model ${job.modelHash}`);
    say(`  download it:  ./run market job model ${jobId} --out model.bin${dd}`);
    say(`  job status:   ./run market job status ${jobId}${dd}`);
    say(`  eval loss per round: ${evals.curve().map((e) => e.toFixed(4)).join(" → ") || "-"}`);
    const sample = evals.sample();
    if (sample && sample.modelHash === job.modelHash) say(`  sample of the final model: ${JSON.stringify(sample.prompt + sample.sample)}`);
    say(`  poster refund credited: ${formatUnits(poster_, 18)} TCRED (withdraw it: ./run market withdraw${dd})`);
    say(`  the poster's key: ${path.join(keysDir, "account-1.json")} (password in ${passwordFile}); CLI settings: ${path.join(opts.dataDir, "cli-config.json")}`);
    say(`GraphQL: ${apiUrl}   (GraphiQL in a browser)   dashboard: http://127.0.0.1:${opts.apiPort}/`);
    say(`sample query: curl -s ${apiUrl} -H 'content-type: application/json' -d '{"query":"{ job(id: \\"${jobId}\\") { status currentRound lossCurve { round meanTrainLoss evalLoss } } }"}'`);
    if (values["exit-when-done"]) await shutdown(job.status === 3 ? 0 : 1);
    say("services keep running for queries; Ctrl-C to stop");
  }
} catch (err) {
  if (!shuttingDown) {
    say(`error: ${oneLine(err)}`);
    if (isVerbose() && err instanceof Error) console.error(err.stack);
    await shutdown(1);
  }
}

/** Resolves true once the GraphQL API answers, false if the indexer process exited first. */
async function waitForApi(url: string, proc: ChildProcess): Promise<boolean> {
  for (;;) {
    if (exited(proc) || shuttingDown) return false;
    try {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"query":"{ __typename }"}', signal: AbortSignal.timeout(5000) });
      if (res.ok) return true;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
