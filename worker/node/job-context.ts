/**
 * Everything a worker (or an auditor) needs to train a job reproducibly: the spec fetched by hash
 * and checked against the chain, the trainer, the data shard of each worker index, and the decoders.
 */
import type { Hex } from "viem";
import type { BlobStore } from "../../blobstore/types.ts";
import { createTrainer } from "../diloco/trainer/index.ts";
import { loadCorpus, makeShards, CORPUS_PACKAGE, type ShardedCorpus } from "../diloco/data/index.ts";
import { decodeGlobalState, type GlobalState } from "../diloco/outer/index.ts";
import { runWorkerRound, type WorkerRoundOutput } from "../diloco/round/index.ts";
import { decodeJobSpec, assertSpecMatchesChain, type JobSpec } from "../spec/job-spec.ts";
import type { Trainer } from "../diloco/types.ts";
import type { JobParams } from "../../shared/types.ts";

export interface JobContext {
  jobId: bigint;
  spec: JobSpec;
  params: JobParams;
  trainer: Trainer;
  data: ShardedCorpus;
  /** Number of workers the job started with (shards are cut for this many). */
  workerCount: number;
}

let corpusCache: ReturnType<typeof loadCorpus> | undefined;

export async function loadJobContext(opts: { jobId: bigint; params: JobParams; workerCount: number; blobs: BlobStore }): Promise<JobContext> {
  const spec = decodeJobSpec(await opts.blobs.get(opts.params.specHash));
  assertSpecMatchesChain(spec, opts.params);
  if (spec.data.corpus !== CORPUS_PACKAGE) throw new Error(`job ${opts.jobId} wants corpus ${spec.data.corpus}; this worker ships ${CORPUS_PACKAGE}`);
  corpusCache ??= loadCorpus();
  const data = makeShards(corpusCache, { workers: opts.workerCount, chunkSize: spec.data.chunkSize, evalEvery: spec.data.evalEvery });
  const trainer = await createTrainer(spec.model, spec.training.innerOptimizer);
  return { jobId: opts.jobId, spec, params: opts.params, trainer, data, workerCount: opts.workerCount };
}

/** Fetches (and verifies, by hash) a global state blob and decodes it for the job's layout. */
export async function fetchGlobalState(ctx: JobContext, blobs: BlobStore, hash: Hex): Promise<GlobalState> {
  const bytes = await blobs.get(hash);
  return decodeGlobalState(bytes, { expectedLayout: ctx.trainer.layout });
}

/**
 * One worker's round exactly as the job spec prescribes it (synchronous schedule): train H steps
 * from the global model, compress Δ + e. The worker and the replay audit both call this, so an
 * honest worker's commitment is reproducible by construction.
 */
export function trainRound(ctx: JobContext, opts: { global: GlobalState; residual: Float32Array | null; round: number; workerIndex: number; onStep?: (done: number, loss: number) => void }): Promise<WorkerRoundOutput> {
  const t = ctx.spec.training;
  return runWorkerRound({
    trainer: ctx.trainer,
    start: opts.global.params,
    state: { residual: opts.residual, lastStart: null, lastLocal: null },
    compression: t.compression,
    overlap: false,
    seed: BigInt(t.seed),
    round: opts.round,
    workerIndex: opts.workerIndex,
    steps: t.innerSteps,
    batchSize: t.batchSize,
    shard: ctx.data.shards[opts.workerIndex],
    onStep: opts.onStep,
  });
}
