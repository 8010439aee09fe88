/**
 * Evaluates each finalized global model of the demo job on the held-out split (the poster's view of
 * progress: eval loss is not on chain), caches the results under the data directory so a restart
 * does not redo them, and reports them to the API when it offers the poster-signed
 * `reportEvalLoss` mutation (cli/poster/eval-report.ts).
 *
 * What has been reported is never taken from the local cache: each pass asks the API which
 * finalized rounds still have no eval loss (its database may have been rebuilt, e.g. after a resume
 * re-indexed the chain) and reports those. A cached loss is used only when its model hash is the one
 * the chain finalized for that round, so a chain that was rebuilt differently never shows stale losses.
 *
 * The same passes give the API the job's name (the spec's bytes, checked against the on-chain
 * specHash) and, once the job is Completed, a short text sampled from the final model
 * (cli/poster/job-notes.ts), again whenever the API lacks them.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Address, Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { BlobStore } from "../blobstore/types.ts";
import { trainingMarketAbi } from "../shared/abis.ts";
import { JobStatus } from "../shared/types.ts";
import type { JobSpec } from "../worker/spec/job-spec.ts";
import type { MarketReader } from "../worker/node/market-reader.ts";
import { evaluateModel, reportEvalLoss } from "./poster/eval-report.ts";
import { jobNotes, publishJobSpec, reportJobSample, sampleJobModel } from "./poster/job-notes.ts";

export interface EvalTrackerOptions {
  spec: JobSpec;
  blobs: BlobStore;
  apiUrl: string;
  poster: PrivateKeyAccount;
  chainId: number;
  market: Address;
  dataDir: string;
  log: (msg: string) => void;
  /** Batches evaluated per model (default: cli/poster/eval-report.ts's). */
  batches?: number;
}

export class EvalTracker {
  private readonly o: EvalTrackerOptions;
  private readonly file: string;
  private results: Record<string, { modelHash: Hex; evalLoss: number }>;
  /** Rounds finalized on chain, with their model hashes (the last update's view). */
  private finalized = new Map<number, Hex>();

  constructor(o: EvalTrackerOptions) {
    this.o = o;
    this.file = path.join(o.dataDir, "eval-losses.json");
    this.results = existsSync(this.file) ? JSON.parse(readFileSync(this.file, "utf8")) : {};
  }

  /** Eval losses of the rounds finalized on chain so far, in round order. */
  curve(): number[] {
    return [...this.finalized.entries()].sort(([a], [b]) => a - b).flatMap(([r, hash]) => (this.results[r]?.modelHash === hash ? [this.results[r].evalLoss] : []));
  }

  /** Evaluates every finalized round not evaluated yet and reports what the API lacks; returns the latest eval loss (formatted). */
  async update(jobId: bigint, reader: MarketReader): Promise<string | undefined> {
    const logs = await reader.jobEvents("RoundFinalized", jobId);
    this.finalized = new Map(logs.map((l) => [Number(l.args.round), l.args.modelHash as Hex]));
    for (const [round, modelHash] of this.finalized) {
      if (this.results[round]?.modelHash !== modelHash) {
        const loss = await this.evaluate(modelHash);
        this.results[round] = { modelHash, evalLoss: loss };
        writeFileSync(this.file, JSON.stringify(this.results, null, 2));
      }
    }
    const missing = await this.missingInApi(jobId);
    for (const round of missing) {
      const r = this.results[round];
      if (r && this.finalized.get(round) === r.modelHash) await this.report(jobId, round, r.evalLoss, r.modelHash);
    }
    await this.updateNotes(jobId, reader);
    const c = this.curve();
    return c.length ? c[c.length - 1].toFixed(4) : undefined;
  }

  /** The sample of the final model (prompt + generated text), once generated. */
  sample(): { modelHash: Hex; prompt: string; sample: string } | undefined {
    const f = path.join(this.o.dataDir, "job-sample.json");
    return existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : undefined;
  }

  /** After the job ended: passes until the API has the name and the sample (or `timeoutMs` passed). */
  async settle(jobId: bigint, reader: MarketReader, timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await this.updateNotes(jobId, reader)) && Date.now() < until) await new Promise((r) => setTimeout(r, 1000));
  }

  /**
   * Publishes the job's name, and a sample of the final model once Completed, when the API lacks
   * them. True when the API has everything it can have for the job's status.
   */
  private async updateNotes(jobId: bigint, reader: MarketReader): Promise<boolean> {
    let notes;
    try {
      notes = await jobNotes(this.o.apiUrl, jobId);
    } catch {
      return false; // API not up yet: next pass
    }
    if (!notes) return false;
    const chain = await reader.jobState(jobId);
    // the API's row lags the chain: a job that ended on chain is settled once the API shows it ended too
    if (chain.status >= 3 && notes.status !== JobStatus[chain.status]) return false;
    try {
      const { specHash } = await reader.jobParams(jobId);
      if (notes.name === null) await publishJobSpec(this.o.apiUrl, jobId, await this.o.blobs.get(specHash));
      if (notes.status !== "Completed" || notes.sample !== null) return true;
      let s = this.sample();
      if (s?.modelHash !== notes.modelHash) {
        s = { modelHash: notes.modelHash, ...(await sampleJobModel(this.o.blobs, specHash, notes.modelHash)) };
        writeFileSync(path.join(this.o.dataDir, "job-sample.json"), JSON.stringify(s, null, 2));
      }
      await reportJobSample(this.o.apiUrl, this.o.poster, { chainId: this.o.chainId, market: this.o.market, jobId, ...s });
      return true;
    } catch (err) {
      this.o.log(`job name / sample not reported yet: ${(err as Error).message.split("\n")[0]}`);
      return false;
    }
  }

  /** Finalized rounds whose eval loss the API does not have (all of them when the API cannot say). */
  private async missingInApi(jobId: bigint): Promise<number[]> {
    const all = [...this.finalized.keys()];
    if (all.length === 0) return [];
    try {
      const res = await fetch(this.o.apiUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "query($id: BigInt!) { job(id: $id) { lossCurve { round status evalLoss } } }", variables: { id: jobId.toString() } }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { data?: { job: { lossCurve: { round: number; status: string; evalLoss: number | null }[] } | null } };
      const curve = body.data?.job?.lossCurve;
      if (!curve) return []; // the indexer has not seen the job yet: ask again next pass
      const have = new Set(curve.filter((p) => p.evalLoss !== null).map((p) => p.round));
      return all.filter((r) => !have.has(r) && curve.some((p) => p.round === r && p.status === "Finalized"));
    } catch {
      return []; // API not up yet: ask again next pass
    }
  }

  private async evaluate(modelHash: Hex): Promise<number> {
    return evaluateModel(this.o.spec, await this.o.blobs.get(modelHash), { blobs: this.o.blobs, ...(this.o.batches ? { batches: this.o.batches } : {}) });
  }

  /** Reports through the API's poster-signed mutation; false when it could not (retried on the next pass). */
  private async report(jobId: bigint, round: number, evalLoss: number, modelHash: Hex): Promise<boolean> {
    try {
      await reportEvalLoss(this.o.apiUrl, this.o.poster, { chainId: this.o.chainId, market: this.o.market, jobId, round, evalLoss, modelHash });
      return true;
    } catch (err) {
      this.o.log(`eval loss of round ${round} not reported yet: ${(err as Error).message.split("\n")[0]}`);
      return false;
    }
  }
}
