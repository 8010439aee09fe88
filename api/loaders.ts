/** Per-request DataLoaders: every nested list is fetched with one query per level, never per parent. */
import DataLoader from "dataloader";
import type { Db } from "../indexer/db/index.ts";
import type { Account, Challenge, Commitment, Job, JobWorker, Provider, Round, Vote } from "../indexer/generated/sqlite/client.ts";

function groupBy<K, T>(rows: T[], key: (r: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}

export function createLoaders(db: Db) {
  const p = db.prisma;
  const byKey = <K, T>(rows: T[], keys: readonly K[], key: (r: T) => K) => {
    const m = new Map(rows.map((r) => [key(r), r]));
    return keys.map((k) => m.get(k) ?? null);
  };
  const listByKey = <K, T>(rows: T[], keys: readonly K[], key: (r: T) => K) => {
    const m = groupBy(rows, key);
    return keys.map((k) => m.get(k) ?? []);
  };
  const roundKey = (jobId: bigint, round: number) => `${jobId}-${round}`;
  const byRounds = async <T extends { jobId: bigint; round: number }>(
    keys: readonly string[],
    find: (where: object) => Promise<T[]>,
  ): Promise<T[][]> => {
    const pairs = keys.map((k) => k.split("-"));
    const jobIds = [...new Set(pairs.map(([j]) => BigInt(j)))];
    const rounds = [...new Set(pairs.map(([, r]) => Number(r)))];
    const rows = await find({ jobId: { in: jobIds }, round: { in: rounds } });
    return listByKey(rows, keys, (r) => roundKey(r.jobId, r.round));
  };
  return {
    job: new DataLoader<bigint, Job | null>(async (ids) => byKey(await p.job.findMany({ where: { id: { in: [...ids] } } }), ids, (r) => r.id)),
    provider: new DataLoader<string, Provider | null>(async (a) => byKey(await p.provider.findMany({ where: { address: { in: [...a] } } }), a, (r) => r.address)),
    account: new DataLoader<string, Account | null>(async (a) => byKey(await p.account.findMany({ where: { address: { in: [...a] } } }), a, (r) => r.address)),
    workersByJob: new DataLoader<bigint, JobWorker[]>(async (ids) =>
      listByKey(await p.jobWorker.findMany({ where: { jobId: { in: [...ids] } }, orderBy: { index: "asc" } }), ids, (r) => r.jobId),
    ),
    roundsByJob: new DataLoader<bigint, Round[]>(async (ids) =>
      listByKey(await p.round.findMany({ where: { jobId: { in: [...ids] } }, orderBy: { round: "asc" } }), ids, (r) => r.jobId),
    ),
    round: new DataLoader<string, Round | null>(async (keys) => (await byRounds(keys, (where) => p.round.findMany({ where }))).map((l) => l[0] ?? null)),
    commitmentsByRound: new DataLoader<string, Commitment[]>((keys) => byRounds(keys, (where) => p.commitment.findMany({ where, orderBy: [{ block: "asc" }, { logIndex: "asc" }] }))),
    votesByRound: new DataLoader<string, Vote[]>((keys) => byRounds(keys, (where) => p.vote.findMany({ where, orderBy: [{ block: "asc" }, { logIndex: "asc" }] }))),
    commitmentsByJob: new DataLoader<bigint, Commitment[]>(async (ids) =>
      listByKey(await p.commitment.findMany({ where: { jobId: { in: [...ids] } }, orderBy: [{ round: "asc" }, { block: "asc" }, { logIndex: "asc" }] }), ids, (r) => r.jobId),
    ),
    challengesByJob: new DataLoader<bigint, Challenge[]>(async (ids) =>
      listByKey(await p.challenge.findMany({ where: { jobId: { in: [...ids] } }, orderBy: { id: "asc" } }), ids, (r) => r.jobId),
    ),
    jobsOfWorker: new DataLoader<string, JobWorker[]>(async (addrs) =>
      listByKey(await p.jobWorker.findMany({ where: { worker: { in: [...addrs] } }, orderBy: { jobId: "desc" } }), addrs, (r) => r.worker),
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export const roundKey = (jobId: bigint, round: number) => `${jobId}-${round}`;
