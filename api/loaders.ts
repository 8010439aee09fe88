/**
 * Per-request DataLoaders of the computed fields (loss curve, vote agreement, a round's joins and
 * departures): one raw SQL statement
 * per level for all parents, selecting only the columns these fields read (api/sql.ts).
 */
import DataLoader from "dataloader";
import type { Db } from "../indexer/db/index.ts";
import { dataModel } from "./model.ts";
import { findByKeys } from "./sql.ts";

export interface RoundRow {
  jobId: bigint;
  round: number;
  status: string;
  trainLossSum: string;
  commitCount: number;
  evalLoss: number | null;
  evalLossSource: string | null;
  resultModelHash: string | null;
  includedMask: bigint | null;
}

export interface CommitmentRow {
  jobId: bigint;
  round: number;
  worker: string;
  loss: number;
  block: bigint;
  logIndex: number;
}

/** A job_worker row with every column (served as a `JobWorker`, whose relations read their keys from it). */
export interface WorkerRow {
  jobId: bigint;
  index: number;
  joinedRound: number | null;
  activeFromRound: number | null;
  removedRound: number | null;
  [column: string]: unknown;
}

const tupleKey = (k: readonly unknown[]) => k.map(String).join("\u0000");

export function createLoaders(db: Db) {
  const m = dataModel();
  const round = m.byName.get("Round")!;
  const commitment = m.byName.get("Commitment")!;
  const jobWorker = m.byName.get("JobWorker")!;
  const cols = (e: typeof round, names: string[]) => names.map((n) => e.byName.get(n)!);
  const roundCols = cols(round, ["jobId", "round", "status", "trainLossSum", "commitCount", "evalLoss", "evalLossSource", "resultModelHash", "includedMask"]);
  const commitCols = cols(commitment, ["jobId", "round", "worker", "loss", "block", "logIndex"]);
  const groupBy = <T>(rows: T[], key: (r: T) => string) => {
    const g = new Map<string, T[]>();
    for (const r of rows) {
      const k = key(r);
      const l = g.get(k);
      if (l) l.push(r);
      else g.set(k, [r]);
    }
    return g;
  };
  /** Rounds already read in this request (null: read and missing), for answers without a promise. */
  const roundsRead = new Map<string, RoundRow | null>();
  const loaders = {
    /** A round read earlier in this request (by a loss curve or `round`), or undefined. */
    roundIfRead: (key: [bigint, number]): RoundRow | null | undefined => roundsRead.get(tupleKey(key)),
    roundsByJob: new DataLoader<bigint, RoundRow[], string>(
      async (ids) => {
        const rows = (await findByKeys(db, round, [round.byName.get("jobId")!], ids.map((i) => [i]), roundCols)) as unknown as RoundRow[];
        rows.sort((a, b) => a.round - b.round);
        // the same rows answer `round` (a vote's agreement) without another statement
        for (const r of rows) {
          loaders.round.prime([r.jobId, r.round], r);
          roundsRead.set(tupleKey([r.jobId, r.round]), r);
        }
        const g = groupBy(rows, (r) => String(r.jobId));
        return ids.map((i) => g.get(String(i)) ?? []);
      },
      { cacheKeyFn: String },
    ),
    commitmentsByJob: new DataLoader<bigint, CommitmentRow[], string>(
      async (ids) => {
        const rows = (await findByKeys(db, commitment, [commitment.byName.get("jobId")!], ids.map((i) => [i]), commitCols)) as unknown as CommitmentRow[];
        rows.sort((a, b) => a.round - b.round || (a.block < b.block ? -1 : a.block > b.block ? 1 : a.logIndex - b.logIndex));
        const g = groupBy(rows, (r) => String(r.jobId));
        return ids.map((i) => g.get(String(i)) ?? []);
      },
      { cacheKeyFn: String },
    ),
    /** Every worker of each job, in index order (at most 32 per job). */
    workersByJob: new DataLoader<bigint, WorkerRow[], string>(
      async (ids) => {
        const rows = (await findByKeys(db, jobWorker, [jobWorker.byName.get("jobId")!], ids.map((i) => [i]))) as unknown as WorkerRow[];
        rows.sort((a, b) => a.index - b.index);
        const g = groupBy(rows, (r) => String(r.jobId));
        return ids.map((i) => g.get(String(i)) ?? []);
      },
      { cacheKeyFn: String },
    ),
    round: new DataLoader<[bigint, number], RoundRow | null, string>(
      async (keys) => {
        const rows = (await findByKeys(db, round, [round.byName.get("jobId")!, round.byName.get("round")!], keys.map((k) => [...k]), roundCols)) as unknown as RoundRow[];
        const g = new Map(rows.map((r) => [tupleKey([r.jobId, r.round]), r]));
        return keys.map((k) => {
          const r = g.get(tupleKey(k)) ?? null;
          roundsRead.set(tupleKey(k), r);
          return r;
        });
      },
      { cacheKeyFn: tupleKey },
    ),
  };
  return loaders;
}

export type Loaders = ReturnType<typeof createLoaders>;
