/**
 * What the chain does not hold about a job, written by the API (never by the indexer: these are the
 * job table's `external` columns, indexer/store.ts):
 *   - `publishJobSpec(jobId, spec)`: the job's name. Anyone may send the spec's bytes; they are
 *     accepted only when their keccak-256 is the job's on-chain specHash (the bytes the workers
 *     train from), so the name shown is the poster's own, with no signature needed.
 *   - `reportJobSample(jobId, modelHash, prompt, sample, signature)`: a short text generated from the
 *     final model, signed by the job's poster (shared/job-sample.ts), for a Completed job whose
 *     final model is the signed one. Set once: the same text again is a no-op, another is refused.
 */
import { getAddress, keccak256, recoverMessageAddress, toBytes, type Address, type Hex } from "viem";
import type { Db } from "../indexer/db/index.ts";
import type { Job } from "../indexer/generated/sqlite/client.ts";
import { jobSampleMessage, checkJobSample } from "../shared/job-sample.ts";
import { indexedDeployment } from "./eval-report.ts";
import { userError } from "./sql.ts";

/** Spec bytes larger than this are refused (a job spec is a few KiB of JSON). */
export const MAX_SPEC_BYTES = 64 * 1024;

export async function publishJobSpec(db: Db, jobId: bigint, spec: string): Promise<{ job: Job; changed: boolean }> {
  const bytes = toBytes(spec);
  if (bytes.length > MAX_SPEC_BYTES) throw userError(`spec is ${bytes.length} bytes; at most ${MAX_SPEC_BYTES}`, "BAD_USER_INPUT", { field: "spec" });
  const job = await db.prisma.job.findUnique({ where: { id: jobId } });
  if (!job) throw userError(`no job ${jobId}`, "JOB_NOT_FOUND");
  const hash = keccak256(bytes);
  if (hash !== job.specHash.toLowerCase()) {
    throw userError(`these spec bytes hash to ${hash}, not to job ${jobId}'s specHash ${job.specHash}: send the exact bytes that were uploaded (\`blobs.get(specHash)\`)`, "SPEC_HASH_MISMATCH");
  }
  let name: unknown;
  try {
    name = (JSON.parse(spec) as { name?: unknown }).name;
  } catch {
    throw userError("the spec is not JSON", "BAD_USER_INPUT", { field: "spec" });
  }
  if (typeof name !== "string" || name.length === 0) throw userError("the spec has no name", "BAD_USER_INPUT", { field: "spec" });
  const clipped = name.slice(0, 200);
  if (job.name === clipped) return { job, changed: false };
  const updated = await db.prisma.job.update({ where: { id: jobId }, data: { name: clipped } });
  return { job: updated, changed: true };
}

export interface JobSampleInput {
  jobId: bigint;
  modelHash: Hex;
  prompt: string;
  sample: string;
  signature: Hex;
}

export async function reportJobSample(db: Db, input: JobSampleInput): Promise<{ job: Job; changed: boolean }> {
  const { jobId, modelHash, prompt, sample, signature } = input;
  const { chainId, market } = await indexedDeployment(db);
  const report = { chainId, market, jobId, modelHash, prompt, sample };
  try {
    checkJobSample(report);
  } catch (err) {
    throw userError((err as Error).message, "BAD_USER_INPUT");
  }
  const job = await db.prisma.job.findUnique({ where: { id: jobId } });
  if (!job) throw userError(`no job ${jobId}`, "JOB_NOT_FOUND");
  if (job.status !== "Completed") throw userError(`job ${jobId} is ${job.status}, not Completed: samples are of the final model`, "JOB_NOT_COMPLETED", { status: job.status });
  if (job.modelHash.toLowerCase() !== modelHash.toLowerCase()) throw userError(`model ${modelHash} is not job ${jobId}'s final model ${job.modelHash}`, "NOT_FINAL_MODEL");
  let signer: Address;
  try {
    signer = await recoverMessageAddress({ message: jobSampleMessage(report), signature });
  } catch (err) {
    throw userError(`the signature is not a valid 65-byte secp256k1 signature: ${(err as Error).message.split("\n")[0]}`, "INVALID_SIGNATURE");
  }
  if (getAddress(signer) !== getAddress(job.poster)) {
    throw userError(`the sample is signed by ${signer}, not by job ${jobId}'s poster ${getAddress(job.poster)} (or it signs other data)`, "NOT_POSTER", { signer });
  }
  const { count } = await db.prisma.job.updateMany({ where: { id: jobId, sample: null }, data: { sample, samplePrompt: prompt, sampleModelHash: modelHash.toLowerCase() } });
  const stored = (await db.prisma.job.findUnique({ where: { id: jobId } }))!;
  if (count === 1) return { job: stored, changed: true };
  if (stored.sample === sample && stored.samplePrompt === prompt) return { job: stored, changed: false };
  throw userError(`job ${jobId} already has a sample; it is set once`, "SAMPLE_ALREADY_REPORTED");
}
