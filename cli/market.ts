/**
 * Poster commands against any EVM JSON-RPC endpoint (`./run market …`).
 *
 *   market job create --spec <file.json>         validate, upload spec + initial model, lock escrow
 *   market job status <id>                       rounds, loss per round, workers, escrow left
 *   market job cancel <id>                       cancel (refund; the round in flight is paid)
 *   market job model <id> --out <file>           download the current/final model, verified by hash
 *   market withdraw                              withdraw refunds and other credits
 *   market job start <id>                        start a job past its join window (≥ minWorkers joined)
 *   market token mint --to <addr|keystore> --amount <tokens>   mint the test token (its owner only)
 *   market spec init --out <file> [flags]        write a validated spec from a preset (windows checked
 *                                                against the chain's block time with --rpc-url)
 *   (cli/poster/chain-commands.ts; docs/deploying.md)
 *
 * Every command answers --help. Options: --rpc-url --chain-id --market --registry --token --key-file
 * --password-file --blob-url (or the same environment variables / --config file as the worker;
 * WORKER_PASSWORD for the key); without them, the network of `./run start` and its poster's key.
 */
import { readFile } from "node:fs/promises";
import { formatUnits, type Hex } from "viem";
import { HttpBlobStore } from "../blobstore/http-client.ts";
import { trainingMarketAbi } from "../shared/abis.ts";
import { JobStatus } from "../shared/types.ts";
import { TxSender } from "../worker/chain/tx-sender.ts";
import { loadKeystore } from "../worker/keys/keystore.ts";
import { makeClients } from "../worker/node/clients.ts";
import { CONFIG_HELP, CONFIG_KEYS, configFlags, rawConfig, resolveConfig, type ConfigKey } from "../worker/node/config.ts";
import { checkDeployment } from "../worker/node/deployment-check.ts";
import { MarketReader } from "../worker/node/market-reader.ts";
import { parseJobSpec } from "../worker/spec/job-spec.ts";
import { checkSpecRunnable } from "../worker/spec/runnable.ts";
import { cancelJob, createJobFromSpec, downloadModel, jobStatus } from "./poster/actions.ts";
import { progressBar } from "./progress.ts";
import { readMarketLimits, type MarketLimits } from "../shared/job-limits.ts";
import { checkGas, checkSpecForChain, keystoreAddress, mintTestToken, specFromFlags, startJob, writeSpecFile, type DatasetFacts } from "./poster/chain-commands.ts";
import { decodeManifest } from "../worker/diloco/data/dataset.ts";
import { recentBlockTime } from "../worker/chain/chain-clock.ts";
import { findDeployBlock } from "../worker/chain/deploy-block.ts";
import { runTrainingCommand } from "./market-training.ts";
import { exportModel } from "./poster/export-model.ts";
import { groupHelp, parseCommand, type CommandDef, type OptionDef } from "./common/args.ts";
import { exitWithError, UsageError } from "./common/errors.ts";
import { localCliConfig } from "./local-config.ts";

const CHAIN_KEYS: ConfigKey[] = ["rpc-url", "chain-id", "market", "registry", "token", "key-file", "password-file", "blob-url", "from-block", "priority-fee", "config"];
const CONFIG_DEFS: Record<string, OptionDef> = Object.fromEntries(CHAIN_KEYS.map((k) => [k, { type: "string", arg: CONFIG_HELP[k].arg, help: `${CONFIG_HELP[k].help} [env ${CONFIG_KEYS[k]}]` }]));
CONFIG_DEFS["network-dir"] = { type: "string", arg: "<dir>", help: "data directory of a ./run start network whose settings to use (default .data)" };
const NOTE = "Without --config, --rpc-url or contract addresses, the network of ./run start in this folder is used\n(.data/cli-config.json, or --network-dir), with its poster's key (.data/keys/account-1.json, password in .data/keys/password).";

const COMMANDS: Record<string, CommandDef> = {
  "job create": { name: "market job create", summary: "Validates a job spec (before any gas), uploads it and the initial model, and locks the escrow.", options: { spec: { type: "string", arg: "<file.json>", help: "the job spec (required)" }, ...CONFIG_DEFS }, notes: NOTE },
  "job status": { name: "market job status", positionals: "<job id>", summary: "Prints a job's state: rounds, loss per round, workers, escrow left (JSON).", options: { ...CONFIG_DEFS }, notes: NOTE },
  "job cancel": { name: "market job cancel", positionals: "<job id>", summary: "Cancels an open or running job: unspent escrow is credited back (the round in flight is paid to the workers who committed).", options: { ...CONFIG_DEFS }, notes: NOTE },
  "job model": { name: "market job model", positionals: "<job id>", summary: "Downloads the job's current (or final) model, verified against the hash on chain; --format safetensors writes a Hugging Face folder (model.safetensors, config.json, tokenizer).", options: { out: { type: "string", arg: "<file>", help: "where to write the model (required; a folder with --format safetensors)" }, format: { type: "string", arg: "<dlxs|safetensors>", help: "dlxs (the project's global-state blob, default) or safetensors" }, ...CONFIG_DEFS }, notes: NOTE },
  withdraw: { name: "market withdraw", summary: "Withdraws the account's refunds and other credits.", options: { ...CONFIG_DEFS }, notes: NOTE },
  "job start": { name: "market job start", positionals: "<job id>", summary: "Starts a job whose join window has passed with at least minWorkers joined (anyone may).", options: { ...CONFIG_DEFS }, notes: NOTE },
  "token mint": { name: "market token mint", summary: "Mints the project's TestToken (its owner only; refuses any other token).", options: { to: { type: "string", arg: "<address|keystore>", help: "recipient (an address, or a keystore file naming one) (required)" }, amount: { type: "string", arg: "<tokens>", help: "whole tokens, e.g. 1000 (required)" }, ...CONFIG_DEFS }, notes: NOTE },
  "spec init": { name: "market spec init", summary: "Writes a validated job spec from a preset and flags; with --rpc-url, windows are checked against (and default to at least) 10 blocks of the chain.", options: { out: { type: "string", arg: "<file.json>", help: "where to write the spec (required)" }, preset: { type: "string", arg: "<tiny|default>", help: "model preset (default: default)" }, rounds: { type: "string", arg: "<n>", help: "rounds" }, workers: { type: "string", arg: "<n>", help: "workers" }, "inner-steps": { type: "string", arg: "<n>", help: "inner steps H per round" }, reward: { type: "string", arg: "<tokens>", help: "reward per worker per round" }, bond: { type: "string", arg: "<tokens>", help: "worker bond" }, "join-window": { type: "string", arg: "<s>", help: "join window" }, "commit-window": { type: "string", arg: "<s>", help: "commit window" }, "vote-window": { type: "string", arg: "<s>", help: "vote window" }, "challenge-window": { type: "string", arg: "<s>", help: "challenge window" }, name: { type: "string", arg: "<text>", help: "job name" }, dataset: { type: "string", arg: "<manifest hash>", help: "train on a packed and uploaded dataset (market dataset pack/upload; read from --blob-url) instead of the built-in corpus" }, model: { type: "string", arg: "<preset>", help: "with --dataset: gpt2-0.43m (default), llama-0.43m, llama-10m, llama-50m or llama-125m, vocabulary from the dataset" }, "shards-per-round": { type: "string", arg: "<n>", help: "with --dataset: training shards each worker reads per round (default 1)" }, force: { type: "boolean", help: "overwrite --out" }, ...CONFIG_DEFS }, notes: NOTE },
};

const HELP = groupHelp("market", "Commands for job posters (disputes go to the DisputeGame; no arbiter).", [
  { name: "job create", summary: "validate a spec, upload it, lock escrow" },
  { name: "job status", summary: "a job's rounds, losses, workers, escrow" },
  { name: "job cancel", summary: "cancel a job (unspent escrow refunded)" },
  { name: "job model", summary: "download the model, verified by hash" },
  { name: "withdraw", summary: "withdraw refunds and credits" },
  { name: "job start", summary: "start a job past its join window" },
  { name: "token mint", summary: "mint the test token (its owner only)" },
  { name: "spec init", summary: "write a validated spec from a preset" },
  { name: "dataset pack", summary: "tokenise text into content-addressed shards (no chain needed)" },
  { name: "dataset upload", summary: "upload a packed dataset; prints its manifest hash" },
  { name: "generate", summary: "sample text from an exported model folder" },
], NOTE);

function commandOf(argv: string[]): { key: string; rest: string[] } {
  const [group, action] = argv;
  if (group === "job" || group === "token" || group === "spec") {
    const key = `${group} ${action}`;
    if (!(key in COMMANDS)) {
      const choices = Object.keys(COMMANDS).filter((k) => k.startsWith(`${group} `)).map((k) => `"${k}"`).join(", ");
      throw new UsageError(action === undefined || action.startsWith("-") ? `${group} needs a sub-command: ${choices}` : `unknown command "${key}"; commands: ${choices}`);
    }
    return { key, rest: argv.slice(2) };
  }
  if (group === "withdraw") return { key: group, rest: argv.slice(1) };
  throw new UsageError(`unknown command "${group}"; commands: ${Object.keys(COMMANDS).join(", ")}`);
}

function idArg(v: string | undefined, what: string): bigint {
  if (!v || !/^[0-9]+$/.test(v) || BigInt(v) === 0n) throw new UsageError(`${what} must be a positive integer id, got ${v ?? "nothing"}`);
  return BigInt(v);
}

async function main(argv: string[]) {
  if (await runTrainingCommand(argv)) return; // dataset pack/upload, generate (cli/market-training.ts)
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(HELP);
    return;
  }
  const { key, rest } = commandOf(argv);
  const { values, positionals } = parseCommand(rest, COMMANDS[key]);
  const flags = configFlags(values);
  const readOnly = key === "job status" || key === "job model";
  const id = COMMANDS[key].positionals ? idArg(positionals[0], COMMANDS[key].positionals!.replace(/[<>]/g, "")) : undefined;
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`);
  if (key === "job model" && !values.out) throw new UsageError("job model needs --out <file> (or --format safetensors --out <dir>)");
  if (key === "job model" && values.format !== undefined && values.format !== "dlxs" && values.format !== "safetensors") throw new UsageError(`--format must be dlxs or safetensors, got ${values.format}`);

  if (key === "spec init") {
    if (!values.out) throw new UsageError("spec init needs --out <file.json>");
    const raw = rawConfig(flags, process.env);
    let blockTime: number | undefined;
    let limits: MarketLimits | undefined;
    if (raw["rpc-url"]) {
      const config = resolveConfig(raw, { needKeys: false });
      const { publicClient } = await makeClients(config);
      blockTime = await recentBlockTime(publicClient);
      if (config.addresses.market) limits = await readMarketLimits(publicClient, config.addresses.market);
    }
    let dataset: DatasetFacts | undefined;
    if (values.dataset !== undefined) {
      const hash = values.dataset as string;
      if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) throw new UsageError(`--dataset must be a manifest hash (0x + 64 hex digits, printed by \`market dataset upload\`), got ${hash}`);
      const local = localCliConfig(values["network-dir"] as string | undefined);
      const blobUrl = (raw["blob-url"] as string | undefined) ?? (local ? (JSON.parse(await readFile(local, "utf8")) as Record<string, string | undefined>)["blob-url"] : undefined) ?? "http://127.0.0.1:8700";
      let m;
      try {
        m = decodeManifest(await new HttpBlobStore(blobUrl).get(hash as Hex));
      } catch (err) {
        throw new UsageError(`--dataset ${hash}: cannot read its manifest from the blob store ${blobUrl}: ${(err as Error).message.split("\n")[0]} (upload it with \`market dataset upload <dir> --blob-url ${blobUrl}\`)`);
      }
      dataset = { hash: hash.toLowerCase() as Hex, vocabSize: m.tokenizer.vocabSize, trainShards: m.train.length, tokenizer: m.tokenizer.kind };
    }
    const made = specFromFlags(values, { blockTime, limits, dataset });
    checkSpecRunnable(made);
    await writeSpecFile(values.out as string, made, values.force === true);
    console.log(JSON.stringify({ spec: values.out, name: made.name, rounds: made.market.rounds, workers: made.market.maxWorkers, commitWindow: made.market.commitWindow, voteWindow: made.market.voteWindow, blockTime: blockTime ?? null }));
    return;
  }

  // Validate the spec before touching keys or the network, so mistakes cost nothing.
  let spec;
  if (key === "job create") {
    if (!values.spec) throw new UsageError("job create needs --spec <file.json>");
    let json: unknown;
    try {
      json = JSON.parse(await readFile(values.spec as string, "utf8"));
    } catch (err) {
      throw new UsageError(`cannot read the spec ${values.spec}: ${(err as Error).message.split("\n")[0]}`);
    }
    spec = parseJobSpec(json);
    checkSpecRunnable(spec);
  }

  const config = resolveConfig(rawConfig(flags, process.env, { file: localCliConfig(values["network-dir"] as string | undefined) }), { needKeys: !readOnly });
  const account = readOnly ? undefined : await loadKeystore(config.keyFile, config.password);
  const { publicClient, walletClient } = await makeClients(config, account);
  await checkDeployment(publicClient, config.addresses, config.chainId);
  const fromBlock = config.fromBlock ?? (await findDeployBlock(publicClient, config.addresses.market).catch(() => 0n));
  const reader = new MarketReader(publicClient, config.addresses, fromBlock);
  const blobs = new HttpBlobStore(config.blobUrl, { signer: account });
  const sender = walletClient ? new TxSender({ publicClient, walletClient }) : undefined;

  switch (key) {
    case "job create": {
      await checkSpecForChain(reader, spec!);
      await checkGas(reader, account!.address);
      const r = await createJobFromSpec({ reader, sender: sender!, blobs, me: account!.address, progress: progressBar("create job") }, spec!);
      console.log(JSON.stringify({ jobId: r.jobId.toString(), specHash: r.specHash, initialModelHash: r.modelHash, escrow: formatUnits(r.escrow, 18) }));
      return;
    }
    case "job status":
      console.log(JSON.stringify(await jobStatus(reader, id!), null, 2));
      return;
    case "job cancel": {
      const job = await reader.jobState(id!);
      const status = JobStatus[job.status];
      if (status !== "Open" && status !== "Running") throw new UsageError(`job ${id} is ${status}: only an Open or Running job can be cancelled; nothing would be refunded`);
      const before = await reader.balanceOf(account!.address);
      await cancelJob({ reader, sender: sender!, blobs, me: account!.address }, id!);
      const after = await reader.balanceOf(account!.address);
      console.log(JSON.stringify({ cancelled: id!.toString(), refunded: formatUnits(after - before, 18), withdrawable: formatUnits(after, 18) }));
      return;
    }
    case "job model":
      if (values.format === "safetensors") console.log(JSON.stringify(await exportModel(reader, blobs, id!, values.out as string)));
      else console.log(JSON.stringify(await downloadModel(reader, blobs, id!, values.out as string)));
      return;
    case "withdraw": {
      const balance = await reader.balanceOf(account!.address);
      if (balance === 0n) throw new Error(`nothing to withdraw: account ${account!.address} has no refunds or credits`);
      await sender!.send({ address: config.addresses.market, abi: trainingMarketAbi, functionName: "withdraw", args: [] });
      console.log(JSON.stringify({ withdrawn: formatUnits(balance, 18) }));
      return;
    }
    case "job start":
      console.log(JSON.stringify(await startJob(reader, sender!, id!)));
      return;
    case "token mint":
      console.log(JSON.stringify(await mintTestToken(reader, sender!, account!.address, values.to as string | undefined, values.amount as string | undefined)));
      return;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const [group, action] = process.argv.slice(2);
  const key = group === "job" || group === "token" || group === "spec" ? `${group} ${action}` : group;
  exitWithError("market", err, key && key in COMMANDS ? `market ${key} --help` : "market --help");
});
