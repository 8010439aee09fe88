/**
 * Eval-loss reporting for job posters: evaluate a round's global model on the job's held-out split
 * (deterministic: fixed evenly spaced windows of the eval stream, the engine's strict float mode),
 * and report the loss to the GraphQL API, signed with the poster's key (EIP-191 personal_sign over
 * shared/eval-report.ts's canonical message). The dashboard shows it next to the workers' train loss.
 *
 *   const loss = await evaluateModel(spec, await blobs.get(round.resultModelHash));
 *   await reportEvalLoss(apiUrl, posterAccount, { chainId, market, jobId, round: 0, evalLoss: loss });
 */
import type { Address, Hex } from "viem";
import { CORPUS_PACKAGE, loadCorpus, makeShards, type Corpus } from "../../worker/diloco/data/index.ts";
import { buildLayout } from "../../worker/diloco/model/layout.ts";
import { decodeGlobalState } from "../../worker/diloco/outer/index.ts";
import { createTrainer } from "../../worker/diloco/trainer/index.ts";
import { isDatasetData, type JobSpec } from "../../worker/spec/job-spec.ts";
import type { BlobStore } from "../../blobstore/types.ts";
import { DatasetSource } from "../../worker/node/dataset-source.ts";

function missingBlobs(): never {
  throw new Error("evaluating a dataset job needs its blob store (EvaluateOptions.blobs) or its eval tokens");
}
import { evalLossMessage, type EvalLossReport } from "../../shared/eval-report.ts";

/** Evaluation size used unless told otherwise: 4 batches of 16 windows (64 context windows). */
export const DEFAULT_EVAL_BATCHES = 4;
export const DEFAULT_EVAL_BATCH_SIZE = 16;

export interface EvaluateOptions {
  batches?: number;
  batchSize?: number;
  /** The corpus (default: the package's, loaded once per process). */
  corpus?: Corpus;
  /** Evaluation tokens of a dataset job (its manifest's eval shards; `datasetEvalTokens`). */
  tokens?: Uint8Array | Uint16Array | Uint32Array;
  /** Blob store to fetch a dataset job's eval shards from (when `tokens` is not given). */
  blobs?: BlobStore;
}

const datasetEvalCache = new Map<string, Promise<Uint16Array | Uint32Array>>();
/** A dataset job's held-out tokens (every eval shard of its manifest, verified). */
export function datasetEvalTokens(spec: JobSpec, blobs: BlobStore): Promise<Uint16Array | Uint32Array> {
  if (!isDatasetData(spec.data)) throw new Error("the job uses the built-in corpus, not a dataset");
  const hash = spec.data.dataset;
  let p = datasetEvalCache.get(hash);
  if (!p) {
    p = DatasetSource.open(hash, blobs).then((ds) => ds.evalTokens());
    datasetEvalCache.set(hash, p);
  }
  return p;
}

let corpusCache: Corpus | undefined;
const evalCache = new Map<string, Uint8Array>();

/** The job's held-out evaluation tokens (the same split every worker's shards exclude). */
export function evalTokens(spec: JobSpec, corpus?: Corpus): Uint8Array {
  if (isDatasetData(spec.data)) throw new Error(`the job trains on dataset ${spec.data.dataset}: use datasetEvalTokens`);
  if (!corpus && spec.data.corpus !== CORPUS_PACKAGE) throw new Error(`the job's corpus is ${spec.data.corpus}; this software ships ${CORPUS_PACKAGE}`);
  const key = `${spec.data.chunkSize}/${spec.data.evalEvery}`;
  const hit = corpus ? undefined : evalCache.get(key);
  if (hit) return hit;
  const c = corpus ?? (corpusCache ??= loadCorpus());
  // the eval split depends only on evalEvery; one "worker" keeps the shard cut trivial
  const tokens = makeShards(c, { workers: 1, chunkSize: spec.data.chunkSize, evalEvery: spec.data.evalEvery }).eval;
  if (!corpus) evalCache.set(key, tokens);
  return tokens;
}

/**
 * Mean cross-entropy of a global state blob (as stored in the blob store: the initial model or a
 * round's result) on the job's held-out split, over a fixed number of batches. Same inputs, same
 * number, on every machine.
 */
export async function evaluateModel(spec: JobSpec, modelBytes: Uint8Array, opts: EvaluateOptions = {}): Promise<number> {
  const state = decodeGlobalState(modelBytes, { expectedLayout: buildLayout(spec.model) });
  const tokens = opts.tokens ?? (isDatasetData(spec.data) ? await datasetEvalTokens(spec, opts.blobs ?? missingBlobs()) : evalTokens(spec, opts.corpus));
  const trainer = await createTrainer(spec.model, spec.training.innerOptimizer);
  try {
    return await trainer.evaluate(state.params, tokens, { batches: opts.batches ?? DEFAULT_EVAL_BATCHES, batchSize: opts.batchSize ?? DEFAULT_EVAL_BATCH_SIZE });
  } finally {
    trainer.dispose();
  }
}

/** Anything that can sign an EIP-191 message: a viem LocalAccount, or a wallet client adapted to it. */
export interface MessageSigner {
  address: Address;
  signMessage(args: { message: string }): Promise<Hex>;
}

export interface EvalLossReportInput {
  chainId: number;
  market: Address;
  jobId: bigint;
  round: number;
  evalLoss: number;
  /** The round's result model hash; fetched from the API when omitted. */
  modelHash?: Hex;
}

export interface ReportedRound {
  jobId: string;
  round: number;
  status: string;
  resultModelHash: Hex | null;
  evalLoss: number | null;
  evalLossSource: string | null;
}

/** A GraphQL error from the API, with its `extensions.code` (NOT_POSTER, ROUND_NOT_FINALIZED, …). */
export class ApiError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(code ? `${message} [${code}]` : message);
    this.name = "ApiError";
    this.code = code;
  }
}

export async function gql<T>(apiUrl: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(apiUrl, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new ApiError(`${apiUrl} answered HTTP ${res.status}: ${text.slice(0, 200)}`, undefined);
  }
  if (body.errors?.length) throw new ApiError(body.errors[0].message, body.errors[0].extensions?.code);
  if (!body.data) throw new ApiError(`${apiUrl} answered HTTP ${res.status} without data`, undefined);
  return body.data;
}

const ROUND_FIELDS = "jobId round status resultModelHash evalLoss evalLossSource";

/** Signs and sends an eval-loss report (only the job's poster's signature is accepted). Returns the stored round. */
export async function reportEvalLoss(apiUrl: string, account: MessageSigner, input: EvalLossReportInput): Promise<ReportedRound> {
  let modelHash = input.modelHash;
  if (!modelHash) {
    const { round } = await gql<{ round: ReportedRound | null }>(apiUrl, `query($j: BigInt!, $r: Int!) { round(jobId: $j, round: $r) { ${ROUND_FIELDS} } }`, { j: input.jobId.toString(), r: input.round });
    if (!round) throw new ApiError(`the API has no round ${input.round} of job ${input.jobId} (yet)`, "ROUND_NOT_FOUND");
    if (!round.resultModelHash) throw new ApiError(`round ${input.round} of job ${input.jobId} is ${round.status}, not Finalized`, "ROUND_NOT_FINALIZED");
    modelHash = round.resultModelHash;
  }
  const report: EvalLossReport = { chainId: input.chainId, market: input.market, jobId: input.jobId, round: input.round, modelHash, evalLoss: input.evalLoss };
  const signature = await account.signMessage({ message: evalLossMessage(report) });
  const data = await gql<{ reportEvalLoss: ReportedRound }>(
    apiUrl,
    `mutation Report($j: BigInt!, $r: Int!, $l: Float!, $s: Bytes!) { reportEvalLoss(jobId: $j, round: $r, evalLoss: $l, signature: $s) { ${ROUND_FIELDS} } }`,
    { j: input.jobId.toString(), r: input.round, l: input.evalLoss, s: signature },
  );
  return data.reportEvalLoss;
}
