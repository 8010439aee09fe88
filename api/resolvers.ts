/**
 * Resolvers: the generated entity resolvers (api/schema-gen.ts) plus computed fields, network
 * totals, the eval-loss mutation and subscriptions (including the `live` query form).
 */
import { execute, Kind, type DocumentNode, type GraphQLResolveInfo, type OperationDefinitionNode } from "graphql";
import { filter, pipe, Repeater, type PubSub } from "graphql-yoga";
import type DataLoader from "dataloader";
import type { Db } from "../indexer/db/index.ts";
import type { Commitment, Job, Round } from "../indexer/generated/sqlite/client.ts";
import { LOSS_SCALE } from "../shared/eip712.ts";
import { JobStatus } from "../shared/types.ts";
import { createLoaders, type CommitmentRow, type Loaders, type RoundRow } from "./loaders.ts";
import { dataModel } from "./model.ts";
import { entityResolvers } from "./schema-gen.ts";
import { AddressScalar, BigIntScalar, Bytes32Scalar, BytesScalar } from "./scalars.ts";
import { reportEvalLoss } from "./eval-report.ts";
import { publishJobSpec, reportJobSample } from "./job-notes.ts";
import { computed } from "./typeDefs.ts";

export interface ApiContext {
  db: Db;
  loaders: Loaders;
  /** Per-request batch loaders of the generated resolvers. */
  batch: Map<string, DataLoader<unknown, unknown>>;
  /** Called after a mutation wrote to the database (drops the per-block response cache). */
  onWrite?: () => void;
}

export function createContext(db: Db, onWrite?: () => void): ApiContext {
  return { db, loaders: createLoaders(db), batch: new Map(), onWrite };
}

export type Topics = {
  job: [Job];
  roundFinalized: [Round];
  commitment: [Commitment];
  evalLoss: [Round];
  /** The data changed (a new block, a reorg, an eval-loss report): live queries run again. */
  changed: [{ block: string }];
};

type Args = Record<string, unknown>;
type Row = Record<string, unknown>;

// 12 significant digits: no float noise (3.160196, not 3.1601960000000004), nothing of the mean lost
const mean = (sum: string, n: number) => (n > 0 ? Number((Number(BigInt(sum)) / n / LOSS_SCALE).toPrecision(12)) : null);

/**
 * The `live` subscription: runs the selected Query fields now and after every change, and emits
 * only when their result differs from the last one sent.
 */
function liveQuery(pubsub: PubSub<Topics>) {
  return {
    subscribe: (_: unknown, _a: Args, ctx: ApiContext, info: GraphQLResolveInfo) => {
      const op: OperationDefinitionNode = {
        kind: Kind.OPERATION_DEFINITION,
        operation: "query" as never,
        selectionSet: info.fieldNodes[0].selectionSet!,
        variableDefinitions: info.operation.variableDefinitions,
      };
      const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [op, ...Object.values(info.fragments)] };
      const raw = Object.fromEntries(Object.entries(info.variableValues).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v]));
      return new Repeater<unknown>(async (push, stop) => {
        let last: string | undefined;
        let running = false;
        let again = false;
        const run = async () => {
          if (running) {
            again = true;
            return;
          }
          running = true;
          try {
            do {
              again = false;
              const result = await execute({ schema: info.schema, document, variableValues: raw, contextValue: createContext(ctx.db) });
              const text = JSON.stringify(result, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
              if (text !== last) {
                last = text;
                // the executor resolves the selection again for this event: fresh loaders, fresh data
                ctx.loaders = createLoaders(ctx.db);
                ctx.batch = new Map();
                await push({});
              }
            } while (again);
          } finally {
            running = false;
          }
        };
        const it = pubsub.subscribe("changed")[Symbol.asyncIterator]();
        stop.then(() => it.return?.());
        await run();
        for (;;) {
          const r = await Promise.race([it.next(), stop.then(() => ({ done: true, value: undefined }))]);
          if (r.done) break;
          await run();
        }
      });
    },
    resolve: () => ({}),
  };
}

export function createResolvers(pubsub: PubSub<Topics>) {
  const model = dataModel();
  const gen = entityResolvers(model, computed);
  const Query = gen.Query as Record<string, unknown>;
  return {
    ...gen,
    BigInt: BigIntScalar,
    Address: AddressScalar,
    Bytes32: Bytes32Scalar,
    Bytes: BytesScalar,
    Query: {
      ...Query,
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
    Job: {
      ...gen.Job,
      lossCurve: async (j: { id: bigint }, _a: Args, c: ApiContext) => {
        const [rounds, commits] = await Promise.all([c.loaders.roundsByJob.load(j.id), c.loaders.commitmentsByJob.load(j.id)]);
        const byRound = new Map<number, CommitmentRow[]>();
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
    },
    Round: {
      ...gen.Round,
      meanTrainLoss: (r: Row) => mean(r.trainLossSum as string, r.commitCount as number),
      // from the workers' own columns (the same facts as the round's joinedMask / departedMask)
      joined: async (r: Row, _a: Args, c: ApiContext) =>
        (await c.loaders.workersByJob.load(r.jobId as bigint)).filter((w) => w.joinedRound !== null && w.activeFromRound === r.round),
      departed: async (r: Row, _a: Args, c: ApiContext) => (await c.loaders.workersByJob.load(r.jobId as bigint)).filter((w) => w.removedRound === r.round),
    },
    Vote: {
      ...gen.Vote,
      agreed: (v: Row, _a: Args, c: ApiContext) => {
        const key: [bigint, number] = [v.jobId as bigint, v.round as number];
        const agreed = (r: RoundRow | null) => (!r || r.status !== "Finalized" ? null : r.resultModelHash === v.modelHash && r.includedMask === v.includedMask);
        // a round this request already read answers at once (no promise per vote for the executor to wait on)
        const known = c.loaders.roundIfRead(key);
        return known !== undefined ? agreed(known) : c.loaders.round.load(key).then(agreed);
      },
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
          pubsub.publish("changed", { block: "eval" });
        }
        return round;
      },
      publishJobSpec: async (_: unknown, a: Args, c: ApiContext) => {
        const { job, changed } = await publishJobSpec(c.db, a.jobId as bigint, a.spec as string);
        if (changed) {
          c.onWrite?.();
          pubsub.publish("job", job);
          pubsub.publish("changed", { block: "note" });
        }
        return job;
      },
      reportJobSample: async (_: unknown, a: Args, c: ApiContext) => {
        const { job, changed } = await reportJobSample(c.db, {
          jobId: a.jobId as bigint,
          modelHash: a.modelHash as `0x${string}`,
          prompt: a.prompt as string,
          sample: a.sample as string,
          signature: a.signature as `0x${string}`,
        });
        if (changed) {
          c.onWrite?.();
          pubsub.publish("job", job);
          pubsub.publish("changed", { block: "note" });
        }
        return job;
      },
    },
    Subscription: {
      jobChanged: {
        subscribe: (_: unknown, a: Args) => pipe(pubsub.subscribe("job"), filter((j: Job) => a.id == null || BigInt(j.id) === a.id)),
        resolve: (j: Job) => j,
      },
      roundFinalized: {
        subscribe: (_: unknown, a: Args) => pipe(pubsub.subscribe("roundFinalized"), filter((r: Round) => a.jobId == null || BigInt(r.jobId) === a.jobId)),
        resolve: (r: Round) => r,
      },
      newCommitment: {
        subscribe: (_: unknown, a: Args) => pipe(pubsub.subscribe("commitment"), filter((cm: Commitment) => a.jobId == null || BigInt(cm.jobId) === a.jobId)),
        resolve: (cm: Commitment) => cm,
      },
      evalLossReported: {
        subscribe: (_: unknown, a: Args) => pipe(pubsub.subscribe("evalLoss"), filter((r: Round) => a.jobId == null || BigInt(r.jobId) === a.jobId)),
        resolve: (r: Round) => r,
      },
      live: liveQuery(pubsub),
    },
  };
}
