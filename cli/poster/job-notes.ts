/**
 * A poster's notes about its job on the API (api/job-notes.ts): the job's name (by publishing the
 * spec's exact bytes, which the API checks against the on-chain specHash) and, once the job is
 * Completed, a short text sampled from the final model, signed by the poster.
 *
 *   await publishJobSpec(apiUrl, jobId, await blobs.get(specHash));
 *   const s = await sampleJobModel(blobs, specHash, finalModelHash);
 *   await reportJobSample(apiUrl, poster, { chainId, market, jobId, modelHash: finalModelHash, ...s });
 */
import type { Address, Hex } from "viem";
import type { BlobStore } from "../../blobstore/types.ts";
import { jobSampleMessage, MAX_SAMPLE_CHARS } from "../../shared/job-sample.ts";
import { blobId } from "../../worker/diloco/hash.ts";
import { tokenizerFor } from "../../worker/diloco/data/tokenizer.ts";
import { generateTokens } from "../../worker/diloco/model/generate.ts";
import { buildLayout } from "../../worker/diloco/model/layout.ts";
import { decodeGlobalState } from "../../worker/diloco/outer/index.ts";
import { decodeJobSpec } from "../../worker/spec/job-spec.ts";
import { gql, type MessageSigner } from "./eval-report.ts";
import { jobTokenizer } from "./export-model.ts";

export interface JobNotes {
  id: string;
  name: string | null;
  status: string;
  modelHash: Hex;
  sample: string | null;
  samplePrompt: string | null;
}
const NOTE_FIELDS = "id name status modelHash sample samplePrompt";

/** The job's notes as the API has them (null when it has not indexed the job yet). */
export async function jobNotes(apiUrl: string, jobId: bigint): Promise<JobNotes | null> {
  return (await gql<{ job: JobNotes | null }>(apiUrl, `query($id: BigInt!) { job(id: $id) { ${NOTE_FIELDS} } }`, { id: jobId.toString() })).job;
}

/** Sends the spec's bytes (as uploaded) so that the API shows the job's name. */
export async function publishJobSpec(apiUrl: string, jobId: bigint, specBytes: Uint8Array): Promise<JobNotes> {
  const spec = new TextDecoder("utf-8", { fatal: true }).decode(specBytes);
  return (await gql<{ publishJobSpec: JobNotes }>(apiUrl, `mutation($j: BigInt!, $s: String!) { publishJobSpec(jobId: $j, spec: $s) { ${NOTE_FIELDS} } }`, { j: jobId.toString(), s: spec })).publishJobSpec;
}

export const DEFAULT_SAMPLE_PROMPT = "The ";
export const DEFAULT_SAMPLE_TOKENS = 120;

/** Samples a continuation of `prompt` from a job's model (verified against its hash), as `market generate` does. */
export async function sampleJobModel(blobs: BlobStore, specHash: Hex, modelHash: Hex, opts: { prompt?: string; tokens?: number; temperature?: number; seed?: number } = {}): Promise<{ prompt: string; sample: string }> {
  const spec = decodeJobSpec(await blobs.get(specHash));
  const bytes = await blobs.get(modelHash);
  if (blobId(bytes) !== modelHash.toLowerCase()) throw new Error(`model bytes do not match ${modelHash}`);
  const state = decodeGlobalState(bytes, { expectedLayout: buildLayout(spec.model) });
  const tok = await jobTokenizer(blobs, specHash);
  const tokenizer = tokenizerFor(tok.file.kind, tok.json);
  const prompt = opts.prompt ?? DEFAULT_SAMPLE_PROMPT;
  const ids = await generateTokens(spec.model, state.params, tokenizer.encode(prompt), { tokens: opts.tokens ?? DEFAULT_SAMPLE_TOKENS, temperature: opts.temperature ?? 0.8, seed: opts.seed ?? 0 });
  return { prompt, sample: tokenizer.decode(ids).slice(0, MAX_SAMPLE_CHARS) || " " };
}

/** Signs and sends a sample of the job's final model (only the poster's signature is accepted). */
export async function reportJobSample(apiUrl: string, account: MessageSigner, input: { chainId: number; market: Address; jobId: bigint; modelHash: Hex; prompt: string; sample: string }): Promise<JobNotes> {
  const signature = await account.signMessage({ message: jobSampleMessage(input) });
  return (
    await gql<{ reportJobSample: JobNotes }>(
      apiUrl,
      `mutation($j: BigInt!, $m: Bytes32!, $p: String!, $t: String!, $s: Bytes!) { reportJobSample(jobId: $j, modelHash: $m, prompt: $p, sample: $t, signature: $s) { ${NOTE_FIELDS} } }`,
      { j: input.jobId.toString(), m: input.modelHash, p: input.prompt, t: input.sample, s: signature },
    )
  ).reportJobSample;
}
