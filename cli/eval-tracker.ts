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
import { createTrainer } from "../worker/diloco/trainer/index.ts";
import { loadCorpus, makeShards } from "../worker/diloco/data/index.ts";
import { decodeGlobalState } from "../worker/diloco/outer/index.ts";
import type { Trainer } from "../worker/diloco/types.ts";
import type { JobSpec } from "../worker/spec/job-spec.ts";
import type { MarketReader } from "../worker/node/market-reader.ts";

export interface EvalTrackerOptions {
  spec: JobSpec;
  blobs: BlobStore;
  apiUrl: string;
  poster: PrivateKeyAccount;
  chainId: number;
  market: Address;
  dataDir: string;
  log: (msg: string) => void;
  /** Batches of 32 windows evaluated per model (default 8). */
  batches?: number;
}

export class EvalTracker {
  private readonly o: EvalTrackerOptions;
  private trainer: Trainer | undefined;
  private evalTokens: Uint8Array | undefined;
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
        this.results[round].reported = await this.report(jobId, round, this.results[round].evalLoss);
        writeFileSync(this.file, JSON.stringify(this.results, null, 2));
      }
    }
    const c = this.curve();
    return c.length ? c[c.length - 1].toFixed(4) : undefined;
  }

  private async evaluate(modelHash: Hex): Promise<number> {
    const { spec } = this.o;
    this.trainer ??= await createTrainer(spec.model, spec.training.innerOptimizer);
    this.evalTokens ??= makeShards(loadCorpus(), { workers: spec.market.maxWorkers, chunkSize: spec.data.chunkSize, evalEvery: spec.data.evalEvery }).eval;
    const state = decodeGlobalState(await this.o.blobs.get(modelHash), { expectedLayout: this.trainer.layout });
    return this.trainer.evaluate(state.params, this.evalTokens, { batches: this.o.batches ?? 8, batchSize: 32 });
  }

  /** Reports through the API's poster-signed mutation when available; false when it could not. */
  private async report(jobId: bigint, round: number, evalLoss: number): Promise<boolean> {
    const modPath = path.join(path.dirname(new URL(import.meta.url).pathname), "poster", "eval-report.ts");
    if (!existsSync(modPath)) return false;
    try {
      const mod = (await import(modPath)) as { reportEvalLoss?: (apiUrl: string, account: PrivateKeyAccount, r: { chainId: number; market: Address; jobId: bigint; round: number; evalLoss: number }) => Promise<unknown> };
      if (!mod.reportEvalLoss) return false;
      await mod.reportEvalLoss(this.o.apiUrl, this.o.poster, { chainId: this.o.chainId, market: this.o.market, jobId, round, evalLoss });
      return true;
    } catch (err) {
      this.o.log(`eval loss of round ${round} not reported yet: ${(err as Error).message.split("\n")[0]}`);
      return false;
    }
  }
}
