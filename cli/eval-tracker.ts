/**
 * Evaluates each finalized global model of the demo job on the held-out split (the poster's view of
 * progress: eval loss is not on chain), caches the results under the data directory so a restart
 * does not redo them, and reports them to the API when it offers the poster-signed
 * `reportEvalLoss` mutation (cli/poster/eval-report.ts).
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
  private results: Record<string, { modelHash: Hex; evalLoss: number; reported?: boolean }>;

  constructor(o: EvalTrackerOptions) {
    this.o = o;
    this.file = path.join(o.dataDir, "eval-losses.json");
    this.results = existsSync(this.file) ? JSON.parse(readFileSync(this.file, "utf8")) : {};
  }

  /** Eval losses of finalized rounds so far, in round order. */
  curve(): number[] {
    return Object.keys(this.results).map(Number).sort((a, b) => a - b).map((r) => this.results[r].evalLoss);
  }

  /** Evaluates every finalized round not evaluated yet; returns the latest eval loss (formatted). */
  async update(jobId: bigint, reader: MarketReader): Promise<string | undefined> {
    const logs = await reader.client.getContractEvents({ address: reader.addresses.market, abi: trainingMarketAbi, eventName: "RoundFinalized", args: { jobId }, fromBlock: 0n });
    for (const l of logs) {
      const round = Number(l.args.round);
      if (!this.results[round]) {
        const loss = await this.evaluate(l.args.modelHash!);
        this.results[round] = { modelHash: l.args.modelHash!, evalLoss: loss };
        writeFileSync(this.file, JSON.stringify(this.results, null, 2));
      }
      if (!this.results[round].reported) {
        this.results[round].reported = await this.report(jobId, round, this.results[round].evalLoss, this.results[round].modelHash);
        writeFileSync(this.file, JSON.stringify(this.results, null, 2));
      }
    }
    const c = this.curve();
    return c.length ? c[c.length - 1].toFixed(4) : undefined;
  }

  private async evaluate(modelHash: Hex): Promise<number> {
    return evaluateModel(this.o.spec, await this.o.blobs.get(modelHash), { blobs: this.o.blobs, ...(this.o.batches ? { batches: this.o.batches } : {}) });
  }

  /** Reports through the API's poster-signed mutation; false when it could not (retried next time). */
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
