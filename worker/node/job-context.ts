/**
 * Everything a worker (or an auditor) needs to train a job reproducibly: the spec fetched by hash
 * and checked against the chain, the trainer (the backend the spec pins), the data of each worker
 * index per round (a content-addressed dataset, or the built-in demo corpus of older specs), and the decoders.
 */
import path from "node:path";
import type { Hex } from "viem";
import type { BlobStore } from "../../blobstore/types.ts";
import { loadCorpus, makeShards, CORPUS_PACKAGE, type ShardedCorpus } from "../diloco/data/index.ts";
import { DatasetError } from "../diloco/data/dataset.ts";
import { decodeGlobalState, type GlobalState } from "../diloco/outer/index.ts";
import { runWorkerRound, type WorkerRoundOutput } from "../diloco/round/index.ts";
import { blobId } from "../diloco/hash.ts";
import { encodeSnapshot, type OverlapCarry } from "../diloco/trace/snapshot.ts";
import { snapshotOverlap, startPoint } from "./overlap-start.ts";
import { decodeJobSpec, assertSpecMatchesChain, isDatasetData, type JobSpec } from "../spec/job-spec.ts";
import type { DataShard, InnerState, Trainer } from "../diloco/types.ts";
import type { JobParams } from "../../shared/types.ts";
import { DatasetSource } from "./dataset-source.ts";
import { createJobTrainer, JAX_BACKEND, type BackendChoice } from "./trainer-backend.ts";

export interface JobContext {
  jobId: bigint;
  spec: JobSpec;
  params: JobParams;
  trainer: Trainer;
  /** Worker `workerIndex`'s training tokens for `round`. */
  shardFor(round: number, workerIndex: number): Promise<DataShard>;
  /** Held-out evaluation tokens. */
  evalTokens(): Promise<Uint8Array | Uint16Array | Uint32Array>;
  /** Number of workers the job started with (JobStarted; the built-in corpus is cut into this many shards). */
  workerCount: number;
}

let corpusCache: ReturnType<typeof loadCorpus> | undefined;

/** Checks a dataset against the spec's model before anything is spent: the dataset exists, its vocabulary fits. */
export async function checkJobDataset(spec: JobSpec, blobs: BlobStore, cacheDir?: string): Promise<DatasetSource | undefined> {
  if (!isDatasetData(spec.data)) {
    if (spec.data.corpus !== CORPUS_PACKAGE) throw new Error(`the spec wants corpus ${spec.data.corpus}; this software ships ${CORPUS_PACKAGE} (or name a dataset by manifest hash)`);
    return undefined;
  }
  const ds = await DatasetSource.open(spec.data.dataset, blobs, cacheDir);
  const v = ds.manifest.tokenizer.vocabSize;
  if (v > spec.model.vocabSize) throw new DatasetError(`dataset ${spec.data.dataset}: its ${ds.manifest.tokenizer.kind} tokenizer has ${v} tokens, more than the model's vocabSize ${spec.model.vocabSize} (set model.vocabSize ≥ ${v})`);
  const shortest = Math.min(...ds.manifest.train.map((s) => s.tokens)) * spec.data.shardsPerRound;
  if (shortest < spec.model.contextLength + 1) throw new DatasetError(`dataset ${spec.data.dataset}: ${spec.data.shardsPerRound} shard(s) per round can hold only ${shortest} tokens, fewer than contextLength + 1 = ${spec.model.contextLength + 1}`);
  return ds;
}

export async function loadJobContext(opts: { jobId: bigint; params: JobParams; workerCount: number; blobs: BlobStore; backend?: BackendChoice; dataDir?: string; crossClass?: boolean }): Promise<JobContext> {
  const spec = decodeJobSpec(await opts.blobs.get(opts.params.specHash));
  assertSpecMatchesChain(spec, opts.params);
  const ds = await checkJobDataset(spec, opts.blobs, opts.dataDir ? path.join(opts.dataDir, "datasets") : undefined);
  const trainer = await createJobTrainer(spec, opts.backend ?? JAX_BACKEND, opts.crossClass);
  const base = { jobId: opts.jobId, spec, params: opts.params, trainer, workerCount: opts.workerCount };
  if (ds && isDatasetData(spec.data)) {
    const shardsPerRound = spec.data.shardsPerRound;
    let evalCache: Promise<Uint16Array | Uint32Array> | undefined;
    return {
      ...base,
      shardFor: async (round, workerIndex) => ({ tokens: await ds.roundTokens({ seed: BigInt(spec.training.seed), round, workerIndex, shardsPerRound }) }),
      evalTokens: () => (evalCache ??= ds.evalTokens()),
    };
  }
  const legacy = spec.data as { chunkSize: number; evalEvery: number };
  corpusCache ??= loadCorpus();
  const data: ShardedCorpus = makeShards(corpusCache, { workers: opts.workerCount, chunkSize: legacy.chunkSize, evalEvery: legacy.evalEvery });
  const shardOf = async (_round: number, workerIndex: number) => {
    const shard = data.shards[workerIndex];
    if (!shard) throw new DatasetError(`job ${opts.jobId}: worker index ${workerIndex} has no shard of the built-in corpus (cut for the ${opts.workerCount} workers present at the start); late joiners need a dataset-backed spec`);
    return shard;
  };
  return { ...base, shardFor: shardOf, evalTokens: async () => data.eval };
}

/** Fetches (and verifies, by hash) a global state blob and decodes it for the job's layout. */
export async function fetchGlobalState(ctx: JobContext, blobs: BlobStore, hash: Hex): Promise<GlobalState> {
  const bytes = await blobs.get(hash);
  return decodeGlobalState(bytes, { expectedLayout: ctx.trainer.layout });
}

/**
 * One worker's round exactly as the job spec prescribes it: train H steps from the round's start
 * point (continuing the worker's inner AdamW state when the spec keeps it), compress Δ + e. The
 * start point is the basis global model's parameters (synchronous schedule), or under overlap the
 * spec's rule applied to the basis model and the carried state `carry` (worker/node/overlap-start.ts;
 * `global` / `startModelHash` are then the basis model). The worker, the replay audit and the referees
 * all call this, so an honest worker's commitment is reproducible by construction. Every round also
 * yields its trace (the H + 2 leaves a dispute bisects) and the snapshot of the state it started from,
 * which the update names by blob id (format flag 4) so that an audit can start at this round.
 */
export async function trainRound(ctx: JobContext, opts: { global: GlobalState; startModelHash: Hex; residual: Float32Array | null; innerState?: InnerState | null; carry?: OverlapCarry | null; round: number; workerIndex: number; onStep?: (done: number, loss: number) => void }): Promise<WorkerRoundOutput & { snapshot: Uint8Array; traceLeaves: Hex[]; start: Float32Array; carryOut: OverlapCarry | null }> {
  const t = ctx.spec.training;
  // only what the spec carries across rounds is state (a replay hands over whatever the trainer returned)
  const residual = t.compression.errorFeedback ? opts.residual : null;
  const innerState = t.keepInnerState ? (opts.innerState ?? null) : null;
  const overlap = snapshotOverlap(ctx, opts.carry ?? null);
  const start = startPoint(ctx, opts.global, overlap?.carry ?? null);
  const snapshot = encodeSnapshot({ startModelHash: opts.startModelHash, round: opts.round, workerIndex: opts.workerIndex, size: ctx.trainer.layout.size, innerState, residual, ...(overlap ? { overlap } : {}) });
  const out = await runWorkerRound({
    trainer: ctx.trainer,
    start,
    state: { residual, lastStart: null, lastLocal: null },
    compression: t.compression,
    overlap: overlap !== undefined,
    seed: BigInt(t.seed),
    round: opts.round,
    workerIndex: opts.workerIndex,
    steps: t.innerSteps,
    batchSize: t.batchSize,
    shard: await ctx.shardFor(opts.round, opts.workerIndex),
    innerState: innerState ?? undefined,
    onStep: opts.onStep,
    trace: { startModelHash: opts.startModelHash },
    stateRef: blobId(snapshot),
  });
  const carryOut = overlap && out.nextState.lastStart && out.nextState.lastLocal ? { lastStart: out.nextState.lastStart, lastLocal: out.nextState.lastLocal } : null;
  return { ...out, snapshot, traceLeaves: out.traceLeaves!, start, carryOut };
}
