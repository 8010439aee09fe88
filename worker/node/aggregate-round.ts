/**
 * The aggregation step every worker (and the poster, and auditors) runs for a round: fetch every
 * committed update by hash, exclude the ones that are missing, do not match their hash or do not
 * decode for the job's layout, average the rest in canonical order and apply the outer step.
 * Returns the new global state, its canonical bytes and hash, and the included mask to vote for.
 */
import type { Address, Hex } from "viem";
import type { BlobStore } from "../../blobstore/types.ts";
import { blobId } from "../diloco/hash.ts";
import { decodeUpdate } from "../diloco/format/update.ts";
import { aggregateBlobs, type WorkerBlob } from "../diloco/aggregate/index.ts";
import { encodeGlobalState, outerStep, type GlobalState } from "../diloco/outer/index.ts";
import type { JobContext } from "./job-context.ts";
import type { Commitment } from "./market-reader.ts";

export interface RoundAggregate {
  global: GlobalState;
  bytes: Uint8Array;
  modelHash: Hex;
  includedMask: number;
  excluded: { worker: Address; reason: string }[];
  included: Address[];
}

export async function aggregateRound(opts: {
  ctx: JobContext;
  blobs: BlobStore;
  global: GlobalState;
  commitments: Commitment[];
  /** The job's workers in join order (index = bit). */
  workers: readonly Address[];
}): Promise<RoundAggregate> {
  const { ctx, blobs } = opts;
  const layout = ctx.trainer.layout;
  const valid: WorkerBlob[] = [];
  const excluded: { worker: Address; reason: string }[] = [];
  let includedMask = 0;
  const index = new Map(opts.workers.map((w, i) => [w.toLowerCase(), i]));
  for (const c of opts.commitments) {
    const i = index.get(c.worker.toLowerCase());
    if (i === undefined) {
      excluded.push({ worker: c.worker, reason: "not a worker of this job" });
      continue;
    }
    let bytes: Uint8Array;
    try {
      bytes = await blobs.get(c.updateHash);
    } catch (err) {
      excluded.push({ worker: c.worker, reason: `blob unavailable or corrupt: ${(err as Error).message}` });
      continue;
    }
    if (blobId(bytes) !== c.updateHash.toLowerCase()) {
      excluded.push({ worker: c.worker, reason: "blob does not match its committed hash" });
      continue;
    }
    try {
      decodeUpdate(bytes, { expectedLayout: layout, expectedBlockSize: ctx.spec.training.compression.blockSize, limits: { maxRank: ctx.spec.training.compression.maxRank } });
    } catch (err) {
      excluded.push({ worker: c.worker, reason: `update does not decode: ${(err as Error).message}` });
      continue;
    }
    valid.push({ worker: c.worker, bytes, committedHash: c.updateHash });
    includedMask = (includedMask | (1 << i)) >>> 0;
  }
  if (valid.length === 0) throw new Error("no valid update to aggregate in this round");
  const avg = aggregateBlobs(valid, layout, { expectedBlockSize: ctx.spec.training.compression.blockSize, limits: { maxRank: ctx.spec.training.compression.maxRank } });
  const global = outerStep(opts.global, avg, ctx.spec.training.outer);
  const bytes = encodeGlobalState(global, layout);
  return { global, bytes, modelHash: blobId(bytes), includedMask, excluded, included: valid.map((v) => v.worker as Address) };
}
