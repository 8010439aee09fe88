/**
 * Commands a deployment on a public chain needs beyond the local network (docs/deploying.md):
 *
 *   market token mint --to <address> --amount <tokens>   mint the project's TestToken (its owner only)
 *   market spec init --out <file> [flags]                 write a validated job spec from a preset
 *   market job start <id>                                 start a job past its join window with ≥ minWorkers
 *
 * and the chain-aware checks `market job create` runs before any gas is spent (windows long enough
 * for the chain's block time, ether for gas).
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFile, rename } from "node:fs/promises";
import { formatUnits, getAddress, isAddress, parseUnits, type Address, type Hex } from "viem";
import { testTokenAbi, trainingMarketAbi } from "../../shared/abis.ts";
import { ContractRevertError, type TxSender } from "../../worker/chain/tx-sender.ts";
import type { MarketReader } from "../../worker/node/market-reader.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { MODEL_PRESETS, modelPreset, type ModelPreset } from "../../worker/diloco/model/presets.ts";
import { canonicalSpecJson, parseJobSpec, JobSpecError, type JobSpec } from "../../worker/spec/job-spec.ts";
import { minWindowFor, windowProblem } from "../../worker/spec/chain-windows.ts";
import { limitViolations, type MarketLimits } from "../../shared/job-limits.ts";

export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

/** Flags of `market spec init` (all strings, validated below). */
export const SPEC_INIT_OPTIONS = {
  preset: { type: "string" },
  rounds: { type: "string" },
  workers: { type: "string" },
  "inner-steps": { type: "string" },
  reward: { type: "string" },
  bond: { type: "string" },
  "join-window": { type: "string" },
  "commit-window": { type: "string" },
  "vote-window": { type: "string" },
  "challenge-window": { type: "string" },
  name: { type: "string" },
  force: { type: "boolean" },
  to: { type: "string" },
  amount: { type: "string" },
} as const;

function intFlag(values: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = values[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new CommandError(`--${key} must be an integer between ${min} and ${max}, got ${String(v)}`);
  return n;
}

function tokensFlag(values: Record<string, unknown>, key: string): bigint | undefined {
  const v = values[key];
  if (v === undefined) return undefined;
  let n: bigint;
  try {
    n = parseUnits(String(v), 18);
  } catch {
    throw new CommandError(`--${key} must be a decimal number of tokens, got ${String(v)}`);
  }
  if (n <= 0n) throw new CommandError(`--${key} must be positive`);
  return n;
}

/** The address recorded in an encrypted JSON keystore (no password needed), if any. */
export function keystoreAddress(file: string | undefined): Address | undefined {
  if (!file || !existsSync(file)) return undefined;
  try {
    const a = (JSON.parse(readFileSync(file, "utf8")) as { address?: string }).address;
    if (a && isAddress(a.startsWith("0x") ? a : `0x${a}`)) return getAddress(a.startsWith("0x") ? a : `0x${a}`);
  } catch {
    return undefined;
  }
  return undefined;
}

/** What `spec init --dataset` read from the dataset's manifest. */
export interface DatasetFacts {
  hash: Hex;
  vocabSize: number;
  trainShards: number;
  tokenizer: string;
}

/**
 * Builds a spec from a preset and flags; windows default to the preset's, raised to what the chain's
 * block time needs when `blockTime` is known and to the market's minimums when `limits` are; every value is validated as `job create` would.
 */
export function specFromFlags(values: Record<string, unknown>, opts: { blockTime?: number; limits?: MarketLimits; dataset?: DatasetFacts }): JobSpec {
  const preset = (values.preset as string | undefined) ?? "default";
  if (preset !== "default" && preset !== "tiny") throw new CommandError(`--preset must be "default" (0.43M parameters) or "tiny", got ${preset}`);
  const modelName = values.model as string | undefined;
  if (modelName !== undefined && !(MODEL_PRESETS as readonly string[]).includes(modelName)) throw new CommandError(`--model must be one of ${MODEL_PRESETS.join(", ")}, got ${modelName}`);
  const ds = opts.dataset;
  if (!ds && (modelName !== undefined || values["shards-per-round"] !== undefined)) throw new CommandError("--model and --shards-per-round go with --dataset <manifest hash> (the built-in corpus uses --preset)");
  const shardsPerRound = intFlag(values, "shards-per-round", 1, 4096) ?? 1;
  if (ds && shardsPerRound > ds.trainShards) throw new CommandError(`--shards-per-round ${shardsPerRound} is more than the dataset's ${ds.trainShards} training shards`);
  const modelConfig = ds ? modelPreset((modelName ?? "gpt2-0.43m") as ModelPreset, ds.vocabSize) : undefined;
  const min = opts.blockTime !== undefined ? minWindowFor(opts.blockTime) : 10;
  // defaults are raised to the chain's needs and to the market's governance minimums (when known)
  const floor: Record<string, number> = { "commit-window": opts.limits?.minCommitWindow ?? 0, "vote-window": opts.limits?.minVoteWindow ?? 0, "challenge-window": opts.limits?.minChallengeWindow ?? 0 };
  const window = (key: string, def: number) => intFlag(values, key, 10, 30 * 24 * 3600) ?? Math.max(def, min, floor[key] ?? 0);
  const base = makeSpec({
    model: preset,
    rounds: intFlag(values, "rounds", 1, 1_000_000),
    workers: intFlag(values, "workers", 1, 32),
    innerSteps: intFlag(values, "inner-steps", 1, 1_000_000),
    name: (values.name as string | undefined) ?? (ds ? `${modelName ?? "gpt2-0.43m"} on dataset ${ds.hash.slice(0, 10)}` : undefined),
    ...(ds ? { modelConfig, dataset: { hash: ds.hash, shardsPerRound, description: `dataset ${ds.hash} (${ds.tokenizer} tokenizer, vocabulary ${ds.vocabSize})` } } : {}),
    commitWindow: window("commit-window", 600),
    voteWindow: window("vote-window", 300),
  });
  const reward = tokensFlag(values, "reward");
  const bond = tokensFlag(values, "bond");
  const raw = JSON.parse(canonicalSpecJson(base)) as { market: Record<string, unknown> };
  raw.market.joinWindow = window("join-window", 3600);
  raw.market.challengeWindow = window("challenge-window", 86_400);
  if (reward !== undefined) raw.market.rewardPerRound = reward.toString();
  if (bond !== undefined) raw.market.workerBond = bond.toString();
  let spec: JobSpec;
  try {
    spec = parseJobSpec(raw);
  } catch (err) {
    if (err instanceof JobSpecError) throw new CommandError(err.message);
    throw err;
  }
  if (opts.blockTime !== undefined) {
    const problem = windowProblem(spec.market, opts.blockTime);
    if (problem) throw new CommandError(problem);
  }
  if (opts.limits) {
    const broken = limitViolations({ ...spec.market, workerBond: BigInt(spec.market.workerBond), rewardPerRound: BigInt(spec.market.rewardPerRound) }, opts.limits);
    if (broken.length > 0) throw new CommandError(`the job's terms are outside this market's limits: ${broken.join("; ")}; change the flags`);
  }
  return spec;
}

/** Writes the spec as canonical, indented JSON (refuses to overwrite unless `force`). */
export async function writeSpecFile(file: string, spec: JobSpec, force: boolean): Promise<void> {
  if (existsSync(file) && !force) throw new CommandError(`${file} exists; pass --force to overwrite it`);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(JSON.parse(canonicalSpecJson(spec)), null, 2)}\n`);
  await rename(tmp, file);
}

/** Refuses a spec whose windows are too short for the chain (before any gas is spent). */
export async function checkSpecForChain(reader: MarketReader, spec: JobSpec): Promise<void> {
  const problem = windowProblem(spec.market, await reader.clock.blockTime());
  if (problem) throw new CommandError(`${problem} (fix the spec before any gas is spent)`);
}

/** Refuses to send from an account without ether for gas (viem would print a raw "exceeds the balance"). */
export async function checkGas(reader: MarketReader, who: Address): Promise<void> {
  const eth = await reader.client.getBalance({ address: who });
  if (eth === 0n) throw new CommandError(`${who} has no ether to pay for gas on this chain; fund it first (on a testnet: from a faucet)`);
}

/** Mints TestToken (only the project's test token, only by its owner). */
export async function mintTestToken(reader: MarketReader, sender: TxSender, me: Address, to: string | undefined, amount: string | undefined): Promise<{ to: Address; amount: string; balance: string }> {
  if (to && !isAddress(to)) to = keystoreAddress(to) ?? to; // a keystore file names its address
  if (!to || !isAddress(to)) throw new CommandError(`token mint needs --to <address or keystore file>, got ${to ?? "nothing"}`);
  const value = tokensFlag({ amount }, "amount");
  if (value === undefined) throw new CommandError("token mint needs --amount <tokens> (e.g. --amount 1000)");
  const token = reader.addresses.token;
  let owner: Address;
  try {
    owner = await reader.client.readContract({ address: token, abi: testTokenAbi, functionName: "owner" });
  } catch {
    throw new CommandError(`the token at ${token} is not the project's TestToken (it has no owner()); mint works only on the test token: fund accounts with the real token instead`);
  }
  if (getAddress(owner) !== getAddress(me)) throw new CommandError(`only the TestToken's owner ${owner} may mint; this key is ${me}`);
  await checkGas(reader, me);
  await sender.send({ address: token, abi: testTokenAbi, functionName: "mint", args: [getAddress(to), value] });
  const balance = await reader.client.readContract({ address: token, abi: testTokenAbi, functionName: "balanceOf", args: [getAddress(to)] });
  return { to: getAddress(to), amount: formatUnits(value, 18), balance: formatUnits(balance, 18) };
}

/** Starts a job whose join window has passed with at least minWorkers joined (anyone may call it). */
export async function startJob(reader: MarketReader, sender: TxSender, jobId: bigint): Promise<{ jobId: string; status: string; workers: number }> {
  const s = await reader.jobState(jobId);
  if (s.status === 0) throw new CommandError(`job ${jobId} does not exist`);
  if (s.status !== 1) throw new CommandError(`job ${jobId} is not open (it already started or ended)`);
  const p = await reader.jobParams(jobId);
  const opensUntil = s.createdAt + BigInt(p.joinWindow);
  const now = await reader.now();
  if (now <= opensUntil) throw new CommandError(`job ${jobId}'s join window is open for ${opensUntil - now} s more (chain time); it starts by itself when ${p.maxWorkers} workers joined, or run this again after the window`);
  try {
    await sender.send({ address: reader.addresses.market, abi: trainingMarketAbi, functionName: "startJob", args: [jobId] });
  } catch (err) {
    if (err instanceof ContractRevertError) throw new CommandError(`cannot start job ${jobId}: ${err.errorName}${err.errorName === "NotEnoughWorkers" ? ` (${s.workerCount} joined, ${p.minWorkers} needed; cancel it with \`market job cancel ${jobId}\`)` : ""}`);
    throw err;
  }
  const after = await reader.jobState(jobId);
  return { jobId: jobId.toString(), status: ["None", "Open", "Running", "Completed", "Cancelled", "Failed"][after.status], workers: after.workerCount };
}
