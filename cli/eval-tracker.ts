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
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Address, Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { BlobStore } from "../blobstore/types.ts";
import { trainingMarketAbi } from "../shared/abis.ts";
import type { JobSpec } from "../worker/spec/job-spec.ts";
import type { MarketReader } from "../worker/node/market-reader.ts";
import { evaluateModel, reportEvalLoss } from "./poster/eval-report.ts";

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
    const c = this.curve();
    return c.length ? c[c.length - 1].toFixed(4) : undefined;
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
    return evaluateModel(this.o.spec, await this.o.blobs.get(modelHash), this.o.batches ? { batches: this.o.batches } : {});
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
