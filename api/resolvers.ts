/** Resolvers over the indexer's database. Nested fields go through per-request DataLoaders. */
import { filter, pipe, type PubSub } from "graphql-yoga";
import type { Db } from "../indexer/db/index.ts";
import type { Commitment, Job, JobWorker, Round, Vote } from "../indexer/generated/sqlite/client.ts";
import { LOSS_SCALE } from "../shared/eip712.ts";
import { JobStatus } from "../shared/types.ts";
import { roundKey, type Loaders } from "./loaders.ts";
import { paginate, userError, type PageArgs } from "./pagination.ts";
import { AddressScalar, BigIntScalar, Bytes32Scalar, BytesScalar } from "./scalars.ts";
import { reportEvalLoss } from "./eval-report.ts";

export interface ApiContext {
  db: Db;
  loaders: Loaders;
  /** Called after a mutation wrote to the database (drops the per-block response cache). */
  onWrite?: () => void;
}

export type Topics = {
  job: [Job];
  roundFinalized: [Round];
  commitment: [Commitment];
  evalLoss: [Round];
};

type Args = Record<string, unknown>;

/** Turns `field_suffix` filter keys into a Prisma where. */
export function filterToWhere(where: Args | null | undefined, special: Record<string, (v: unknown) => object> = {}): Record<string, unknown> {
  const and: Record<string, unknown>[] = [];
  for (const [key, value] of Object.entries(where ?? {})) {
    if (value === undefined || value === null) continue;
    if (special[key]) {
      and.push(special[key](value) as Record<string, unknown>);
      continue;
    }
    const m = /^(.*?)(?:_(in|not|gt|lt|gte|lte))?$/.exec(key)!;
    const field = m[1];
    const op = m[2];
    and.push({ [field]: op === undefined ? value : { [op === "not" ? "not" : op]: value } });
  }
  return and.length === 0 ? {} : and.length === 1 ? and[0] : { AND: and };
}

function dir(v: unknown): "asc" | "desc" {
  return v === "desc" ? "desc" : "asc";
}

function pageArgs(a: Args): PageArgs {
  return { first: a.first as number | null, after: a.after as string | null, last: a.last as number | null, before: a.before as string | null };
}

// losses are on chain in micro-units: means are rounded to that precision (3.160196, not 3.1601960000000004)
const mean = (sum: string, n: number) => (n > 0 ? Math.round((Number(BigInt(sum)) / n / LOSS_SCALE) * 1e6) / 1e6 : null);

function checkList(first: unknown, max = 100): number {
  const n = typeof first === "number" ? first : 20;
  if (n < 0) throw userError("first must not be negative", "BAD_USER_INPUT");
  if (n > max) throw userError(`first is ${n}, over the page size limit of ${max}`, "PAGE_SIZE_EXCEEDED", { limit: max });
  return n;
}

export function createResolvers(pubsub: PubSub<Topics>) {
  return {
    BigInt: BigIntScalar,
    Address: AddressScalar,
    Bytes32: Bytes32Scalar,
    Bytes: BytesScalar,
    Query: {
      job: (_: unknown, a: Args, c: ApiContext) => c.loaders.job.load(a.id as bigint),
      jobs: (_: unknown, a: Args, c: ApiContext) =>
        paginate<Job>(c.db.prisma.job, {
          where: filterToWhere(a.where as Args, {
            worker: (v) => ({ workers: { some: { worker: v } } }),
            worker_in: (v) => ({ workers: { some: { worker: { in: v } } } }),
          }),
          orderBy: (a.orderBy as string) ?? "id",
          direction: dir(a.orderDirection),
          idField: "id",
          args: pageArgs(a),
        }),
      provider: (_: unknown, a: Args, c: ApiContext) => c.loaders.provider.load(a.address as string),
      providers: (_: unknown, a: Args, c: ApiContext) =>
        paginate(c.db.prisma.provider, {
          where: filterToWhere(a.where as Args),
          orderBy: (a.orderBy as string) ?? "address",
          direction: dir(a.orderDirection),
          idField: "address",
          args: pageArgs(a),
        }),
      round: (_: unknown, a: Args, c: ApiContext) => c.loaders.round.load(roundKey(a.jobId as bigint, a.round as number)),
      account: (_: unknown, a: Args, c: ApiContext) => c.loaders.account.load(a.address as string),
      payouts: (_: unknown, a: Args, c: ApiContext) =>
        paginate(c.db.prisma.payout, {
          where: { account: a.account, ...(a.kind_in ? { kind: { in: a.kind_in } } : {}) },
          orderBy: "block",
          direction: dir(a.orderDirection),
          idField: "id",
          args: pageArgs(a),
        }),
      slashes: (_: unknown, a: Args, c: ApiContext) =>
        paginate(c.db.prisma.slash, { where: { provider: a.provider }, orderBy: "block", direction: dir(a.orderDirection), idField: "id", args: pageArgs(a) }),
      challenges: (_: unknown, a: Args, c: ApiContext) =>
        paginate(c.db.prisma.challenge, {
          where: filterToWhere(a.where as Args),
          orderBy: (a.orderBy as string) ?? "id",
          direction: dir(a.orderDirection),
          idField: "id",
          args: pageArgs(a),
        }),
      networkStats: async (_: unknown, _a: Args, c: ApiContext) => {
        const [net, byStatus, active] = await Promise.all([
          c.db.prisma.network.findUnique({ where: { id: 1 } }),
          c.db.prisma.job.groupBy({ by: ["status"], _count: { _all: true } }),
          c.db.prisma.provider.count({ where: { activeJobs: { gt: 0 } } }),
        ]);
        const counts = new Map(byStatus.map((g) => [g.status, g._count._all]));
        const rewards = BigInt(net?.rewardsPaid ?? "0");
        const fees = BigInt(net?.feesPaid ?? "0");
        return {
          jobsTotal: net?.jobsCreated ?? 0,
          jobsByStatus: JobStatus.filter((s) => s !== "None").map((status) => ({ status, count: counts.get(status) ?? 0 })),
          tokensEscrowed: net?.escrowed ?? "0",
          tokensPaid: (rewards + fees).toString(),
          rewardsPaid: rewards.toString(),
          feesPaid: fees.toString(),
          refunded: net?.refunded ?? "0",
          tokensSlashed: net?.slashed ?? "0",
          withdrawn: net?.withdrawn ?? "0",
          registeredProviders: net?.registeredProviders ?? 0,
          activeProviders: active,
          eventsIndexed: net?.eventsIndexed ?? 0n,
          protocolFeeBps: net?.protocolFeeBps ?? null,
          treasury: net?.treasury ?? null,
        };
      },
      _meta: async (_: unknown, _a: Args, c: ApiContext) => {
        const cp = await c.db.prisma.syncCheckpoint.findFirst();
        if (!cp) return null;
        return { chainId: cp.chainId, block: cp.blockNumber, blockHash: cp.blockHash, syncedAt: new Date(Number(cp.syncedAt)).toISOString() };
      },
    },
    JobPage: { totalCount: (p: { totalCount: number | (() => Promise<number>) }) => (typeof p.totalCount === "function" ? p.totalCount() : p.totalCount) },
    ProviderPage: { totalCount: (p: { totalCount: () => Promise<number> }) => p.totalCount() },
    PayoutPage: { totalCount: (p: { totalCount: () => Promise<number> }) => p.totalCount() },
    SlashPage: { totalCount: (p: { totalCount: () => Promise<number> }) => p.totalCount() },
    ChallengePage: { totalCount: (p: { totalCount: () => Promise<number> }) => p.totalCount() },
    Job: {
      workers: (j: Job, _a: Args, c: ApiContext) => c.loaders.workersByJob.load(j.id),
      roundList: async (j: Job, a: Args, c: ApiContext) => {
        const n = checkList(a.first);
        const skip = Math.max(0, (a.skip as number) ?? 0);
        return (await c.loaders.roundsByJob.load(j.id)).slice(skip, skip + n);
      },
      lossCurve: async (j: Job, _a: Args, c: ApiContext) => {
        const [rounds, commits] = await Promise.all([c.loaders.roundsByJob.load(j.id), c.loaders.commitmentsByJob.load(j.id)]);
        const byRound = new Map<number, Commitment[]>();
        for (const cm of commits) {
          const l = byRound.get(cm.round);
          if (l) l.push(cm);
          else byRound.set(cm.round, [cm]);
        }
        return rounds.map((r) => ({
          round: r.round,
          status: r.status,
          meanTrainLoss: mean(r.trainLossSum, r.commitCount),
          evalLoss: r.evalLoss,
          evalLossSource: r.evalLossSource,
          workers: (byRound.get(r.round) ?? []).map((cm) => ({ worker: cm.worker, trainLoss: cm.loss })),
        }));
      },
      challenges: (j: Job, _a: Args, c: ApiContext) => c.loaders.challengesByJob.load(j.id),
    },
    JobWorker: {
      job: (w: JobWorker, _a: Args, c: ApiContext) => c.loaders.job.load(w.jobId),
      provider: (w: JobWorker, _a: Args, c: ApiContext) => c.loaders.provider.load(w.worker),
    },
    Round: {
      job: (r: Round, _a: Args, c: ApiContext) => c.loaders.job.load(r.jobId),
      meanTrainLoss: (r: Round) => mean(r.trainLossSum, r.commitCount),
      commitments: (r: Round, _a: Args, c: ApiContext) => c.loaders.commitmentsByRound.load(roundKey(r.jobId, r.round)),
      votes: (r: Round, _a: Args, c: ApiContext) => c.loaders.votesByRound.load(roundKey(r.jobId, r.round)),
    },
    Commitment: {
      trainLossRaw: (cm: Commitment) => cm.trainLoss,
      trainLoss: (cm: Commitment) => cm.loss,
    },
    Vote: {
      agreed: async (v: Vote, _a: Args, c: ApiContext) => {
        const r = await c.loaders.round.load(roundKey(v.jobId, v.round));
        if (!r || r.status !== "Finalized") return null;
        return r.resultModelHash === v.modelHash && r.includedMask === v.includedMask;
      },
    },
    Provider: {
      jobs: async (p: { address: string }, a: Args, c: ApiContext) => (await c.loaders.jobsOfWorker.load(p.address)).slice(0, checkList(a.first)),
      account: (p: { address: string }, _a: Args, c: ApiContext) => c.loaders.account.load(p.address),
    },
    Challenge: {
      job: (ch: { jobId: bigint }, _a: Args, c: ApiContext) => c.loaders.job.load(ch.jobId),
    },
    Mutation: {
      reportEvalLoss: async (_: unknown, a: Args, c: ApiContext) => {
        const { round, changed } = await reportEvalLoss(c.db, {
          jobId: a.jobId as bigint,
          round: a.round as number,
          evalLoss: a.evalLoss as number,
          signature: a.signature as `0x${string}`,
        });
        if (changed) {
          c.onWrite?.();
          pubsub.publish("evalLoss", round);
        }
        return round;
      },
    },
    Subscription: {
      jobChanged: {
        subscribe: (_: unknown, a: Args) => pipe(pubsub.subscribe("job"), filter((j: Job) => a.id == null || j.id === a.id)),
        resolve: (j: Job) => j,
      },
      roundFinalized: {
        subscribe: (_: unknown, a: Args) => pipe(pubsub.subscribe("roundFinalized"), filter((r: Round) => a.jobId == null || r.jobId === a.jobId)),
        resolve: (r: Round) => r,
      },
      newCommitment: {
        subscribe: (_: unknown, a: Args) => pipe(pubsub.subscribe("commitment"), filter((cm: Commitment) => a.jobId == null || cm.jobId === a.jobId)),
        resolve: (cm: Commitment) => cm,
      },
      evalLossReported: {
        subscribe: (_: unknown, a: Args) => pipe(pubsub.subscribe("evalLoss"), filter((r: Round) => a.jobId == null || r.jobId === a.jobId)),
        resolve: (r: Round) => r,
      },
    },
  };
}
