/**
 * Text samples of completed jobs: the poster generates a short continuation of a prompt from the
 * job's final model (`market generate`'s sampler) and sends it to the API (`reportJobSample`
 * mutation), signed with EIP-191 `personal_sign` over the canonical message below. The API accepts
 * it only from the job's poster, for a Completed job whose final model is the signed one; the
 * dashboard shows it. (Why the poster and not the API: see docs/indexer.md, "Job names and samples".)
 *
 *   diloco-market job sample
 *   chain 31337
 *   market 0x5FbDB2315678afecb367f032d93F642f64180aa3
 *   job 1
 *   model 0x…                 (the job's final modelHash, lower-case hex)
 *   prompt "The Congress"     (JSON string: newlines stay on one line)
 *   sample " shall have …"    (JSON string)
 */
import { getAddress, type Address, type Hex } from "viem";

export const JOB_SAMPLE_MESSAGE_PREFIX = "diloco-market job sample";
export const MAX_SAMPLE_CHARS = 1000;
export const MAX_PROMPT_CHARS = 200;

export interface JobSampleReport {
  chainId: number;
  market: Address;
  jobId: bigint;
  /** The job's final model hash (what was sampled). */
  modelHash: Hex;
  prompt: string;
  sample: string;
}

/** Throws a RangeError naming the field when a sample cannot be signed or accepted. */
export function checkJobSample(r: JobSampleReport): void {
  if (!Number.isSafeInteger(r.chainId) || r.chainId <= 0) throw new RangeError(`chainId must be a positive integer, got ${r.chainId}`);
  if (typeof r.jobId !== "bigint" || r.jobId < 0n) throw new RangeError(`jobId must be a non-negative bigint, got ${String(r.jobId)}`);
  if (!/^0x[0-9a-fA-F]{64}$/.test(r.modelHash)) throw new RangeError(`modelHash must be a 32-byte hex hash, got ${r.modelHash}`);
  if (typeof r.prompt !== "string" || r.prompt.length > MAX_PROMPT_CHARS) throw new RangeError(`prompt must be a string of at most ${MAX_PROMPT_CHARS} characters`);
  if (typeof r.sample !== "string" || r.sample.length === 0 || r.sample.length > MAX_SAMPLE_CHARS) throw new RangeError(`sample must be a non-empty string of at most ${MAX_SAMPLE_CHARS} characters, got ${r.sample?.length ?? typeof r.sample}`);
}

/** The exact text the poster signs for a sample report. */
export function jobSampleMessage(r: JobSampleReport): string {
  checkJobSample(r);
  return [
    JOB_SAMPLE_MESSAGE_PREFIX,
    `chain ${r.chainId}`,
    `market ${getAddress(r.market)}`,
    `job ${r.jobId.toString()}`,
    `model ${r.modelHash.toLowerCase()}`,
    `prompt ${JSON.stringify(r.prompt)}`,
    `sample ${JSON.stringify(r.sample)}`,
  ].join("\n");
}
