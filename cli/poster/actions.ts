/**
 * Poster actions, as a library (the `market job …` CLI and the local network use them):
 * create a job from a spec (validated before any gas is spent; spec and initial model uploaded),
 * read its status, cancel it, and download the final model verified against the on-chain hash.
 */
import { limitViolations, readMarketLimits } from "../../shared/job-limits.ts";
import { checkSpecRunnable } from "../../worker/spec/runnable.ts";
import { writeFile, rename } from "node:fs/promises";
import { formatUnits, parseEventLogs, type Address, type Hex } from "viem";
import type { BlobStore } from "../../blobstore/types.ts";
import { testTokenAbi, trainingMarketAbi } from "../../shared/abis.ts";
import { decodeLoss } from "../../shared/eip712.ts";
import { JobStatus, RoundStatus } from "../../shared/types.ts";
import { ContractRevertError, type TxSender } from "../../worker/chain/tx-sender.ts";
import { initParams } from "../../worker/diloco/model/init.ts";
import { encodeGlobalState, decodeGlobalState, initGlobalState } from "../../worker/diloco/outer/index.ts";
import { buildLayout } from "../../worker/diloco/model/layout.ts";
import { blobId } from "../../worker/diloco/hash.ts";
import { encodeJobSpec, jobParamsFromSpec, type JobSpec } from "../../worker/spec/job-spec.ts";
import { isJoining, type MarketReader } from "../../worker/node/market-reader.ts";
import { checkJobDataset } from "../../worker/node/job-context.ts";

export interface PosterDeps {
  reader: MarketReader;
  sender: TxSender;
  blobs: BlobStore;
  me: Address;
  progress?: (step: string, done: number, total: number) => void;
}

/** The initial global state blob of a spec (deterministic from its model config and initSeed). */
export async function initialModelBlob(spec: JobSpec): Promise<Uint8Array> {
  const params = await initParams(spec.model, spec.training.initSeed);
  return encodeGlobalState(initGlobalState(params), buildLayout(spec.model));
}

export async function createJobFromSpec(d: PosterDeps, spec: JobSpec): Promise<{ jobId: bigint; specHash: Hex; modelHash: Hex; escrow: bigint }> {
  const { addresses } = d.reader;
  checkSpecRunnable(spec); // a spec no worker would run is refused before any upload or gas
  const steps = 5;
  d.progress?.("checking balance", 0, steps);
  const params0 = jobParamsFromSpec(spec, "0x01", "0x01");
  const [escrow] = await d.reader.escrowFor(params0.rewardPerRound, params0.rounds, params0.maxWorkers);
  const balance = await d.reader.client.readContract({ address: addresses.token, abi: testTokenAbi, functionName: "balanceOf", args: [d.me] });
  if (balance < escrow) throw new Error(`the job needs ${formatUnits(escrow, 18)} tokens in escrow (rewards + protocol fee) but ${d.me} holds ${formatUnits(balance, 18)}; fund the account or lower rounds/workers/reward`);
  await checkJobDataset(spec, d.blobs); // the dataset exists, is well-formed and fits the model, before any gas
  const broken = limitViolations(params0, await readMarketLimits(d.reader.client, addresses.market));
  if (broken.length > 0) throw new Error(`the job's terms are outside this market's limits: ${broken.join("; ")}; change them in the spec`);
  // approve first: a blob store that authenticates uploads accepts them from an account that has
  // approved the market for its escrow (blobstore/chain-policy.ts)
  d.progress?.("approving escrow", 1, steps);
  await d.sender.send({ address: addresses.token, abi: testTokenAbi, functionName: "approve", args: [addresses.market, escrow] });
  d.progress?.("uploading spec", 2, steps);
  const specHash = await d.blobs.put(encodeJobSpec(spec));
  d.progress?.("uploading initial model", 3, steps);
  const modelHash = await d.blobs.put(await initialModelBlob(spec));
  const params = jobParamsFromSpec(spec, specHash, modelHash);
  d.progress?.("creating job", 4, steps);
  const receipt = await d.sender.send({ address: addresses.market, abi: trainingMarketAbi, functionName: "createJob", args: [params] });
  const created = parseEventLogs({ abi: trainingMarketAbi, eventName: "JobCreated", logs: receipt.logs });
  if (created.length === 0) throw new Error(`createJob transaction ${receipt.transactionHash} emitted no JobCreated event`);
  const jobId = created[0].args.jobId;
  d.progress?.("created", 5, steps);
  return { jobId, specHash, modelHash, escrow };
}

export interface JobStatusView {
  jobId: string;
  status: string;
  poster: Address;
  /** The round in progress (0-based, as on chain and in GraphQL), or null when the job is not running. */
  currentRound: number | null;
  /** Rounds finalized so far (equals `rounds` for a completed job). */
  roundsFinalized: number;
  rounds: number;
  workers: { address: Address; active: boolean }[];
  escrowLeft: string;
  modelHash: Hex;
  losses: { round: number; status: string; meanTrainLoss: number | null; perWorker: Record<string, number> }[];
}

export async function jobStatus(reader: MarketReader, jobId: bigint): Promise<JobStatusView> {
  const s = await reader.jobState(jobId);
  if (s.status === 0) throw new Error(`job ${jobId} does not exist`);
  const p = await reader.jobParams(jobId);
  const workers = await reader.workers(jobId);
  const slots = await Promise.all(workers.map((w) => reader.slot(jobId, w)));
  const losses: JobStatusView["losses"] = [];
  const last = s.status === 1 ? -1 : s.currentRound;
  for (let r = 0; r <= last; r++) {
    const rd = await reader.round(jobId, r);
    const commits = await reader.commitments(jobId, r);
    const perWorker = Object.fromEntries(commits.map((c) => [c.worker, decodeLoss(c.trainLoss)]));
    const values = Object.values(perWorker);
    // 12 significant digits: no float noise (3.160196, not 3.1601960000000004), as in GraphQL
    losses.push({ round: r, status: RoundStatus[rd.status], meanTrainLoss: values.length ? Number((values.reduce((a, b) => a + b, 0) / values.length).toPrecision(12)) : null, perWorker });
  }
  return {
    jobId: jobId.toString(),
    status: JobStatus[s.status],
    poster: s.poster,
    currentRound: JobStatus[s.status] === "Running" ? s.currentRound : null,
    roundsFinalized: losses.filter((l) => l.status === "Finalized").length,
    rounds: p.rounds,
    // joining: joined the running job, active from the next round (elastic membership)
    workers: workers.map((w, i) => ({ address: w, active: slots[i].active, joining: isJoining(slots[i]) && s.status === 2 })),
    escrowLeft: formatUnits(s.escrow, 18),
    modelHash: s.modelHash,
    losses,
  };
}

export async function cancelJob(d: PosterDeps, jobId: bigint): Promise<void> {
  try {
    await d.sender.send({ address: d.reader.addresses.market, abi: trainingMarketAbi, functionName: "cancelJob", args: [jobId] });
  } catch (err) {
    if (err instanceof ContractRevertError) {
      const hint: Record<string, string> = {
        NotPoster: "only the account that created the job can cancel it",
        JobAlreadyEnded: "the job already ended; its leftover escrow was credited to you: run `market withdraw`",
        JobNotFound: "no job with this id",
      };
      throw new Error(`cannot cancel job ${jobId}: ${hint[err.errorName] ?? err.message}`);
    }
    throw err;
  }
}

/** Downloads the job's current global model, verifies it against the on-chain hash, writes it atomically. */
export async function downloadModel(reader: MarketReader, blobs: BlobStore, jobId: bigint, out: string): Promise<{ modelHash: Hex; bytes: number; status: string }> {
  const s = await reader.jobState(jobId);
  if (s.status === 0) throw new Error(`job ${jobId} does not exist`);
  const bytes = await blobs.get(s.modelHash); // verified against the hash by the blob client
  if (blobId(bytes) !== s.modelHash.toLowerCase()) throw new Error("model bytes do not match the on-chain hash");
  decodeGlobalState(bytes); // must be a well-formed global state
  const tmp = `${out}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, out);
  return { modelHash: s.modelHash, bytes: bytes.length, status: JobStatus[s.status] };
}
