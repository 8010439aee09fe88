/**
 * Shared set-ups for the test/contracts suites, on top of test/helpers/market.ts: a deployed market
 * with named actors (poster, arbiter, challenger) and registered providers, job/round helpers and
 * time travel to phase boundaries.
 */
import { getAddress, type Address, type Hex } from "viem";
import {
  commit,
  createJob,
  deployMarket,
  jobParams,
  joinAll,
  modelHashFor,
  registerProviders,
  vote,
  type Conn,
  type MarketParams,
  type Provider,
} from "./market.ts";
import type { JobParams } from "../../shared/types.ts";

export type Wallet = Provider["wallet"];

export const JOB = { None: 0, Open: 1, Running: 2, Completed: 3, Cancelled: 4, Failed: 5 } as const;
export const ROUND = { None: 0, Active: 1, Finalized: 2, Expired: 3, Aborted: 4 } as const;
export const CHALLENGE = { None: 0, Open: 1, Upheld: 2, Rejected: 3, Expired: 4 } as const;
export const PENALTY = { Absent: 0, Dissent: 1, Excluded: 2, Fraud: 3, NoVote: 4 } as const;
export const CREDIT = {
  Reward: 0,
  Fee: 1,
  Refund: 2,
  SlashProceeds: 3,
  ChallengeBondReturn: 4,
  ChallengeBounty: 5,
  ChallengeBondForfeit: 6,
} as const;

export const DEFAULT_ADMIN_ROLE: Hex = `0x${"00".repeat(32)}`;

/** A deployed market with a poster, an arbiter, a challenger (others[0..2]) and `n` providers (others[3..]). */
export async function world(conn: Conn, n = 4, market: MarketParams = {}) {
  const ctx = await deployMarket(conn, market);
  const [poster, arbiter, challenger] = ctx.others as Wallet[];
  const providers = await registerProviders(ctx, n, 3);
  const params = (o: Partial<JobParams> = {}) => jobParams(o);
  const newJob = (o: Partial<JobParams> = {}, by: Wallet = poster) => createJob(ctx, by, params(o));
  const t = conn.networkHelpers.time;

  async function job(jobId: bigint) {
    return ctx.market.read.jobState([jobId]);
  }
  async function round(jobId: bigint, r?: number) {
    const j = await job(jobId);
    return ctx.market.read.roundOf([jobId, r ?? j.currentRound]);
  }
  /** Mines a block at the join deadline: the next transaction is past it. */
  async function pastJoinWindow(jobId: bigint) {
    const [j, p] = await Promise.all([job(jobId), ctx.market.read.jobParams([jobId])]);
    await t.increaseTo(j.createdAt + BigInt(p.joinWindow));
  }
  /** Mines a block at the current round's commit deadline: the next transaction is past it. */
  async function pastCommit(jobId: bigint) {
    await t.increaseTo((await round(jobId)).commitDeadline);
  }
  /** Mines a block at the current round's vote deadline (commit deadline + vote window when voting never opened early). */
  async function pastVote(jobId: bigint) {
    const rd = await round(jobId);
    const p = await ctx.market.read.jobParams([jobId]);
    await t.increaseTo(rd.voteDeadline !== 0n ? rd.voteDeadline : rd.commitDeadline + BigInt(p.voteWindow));
  }
  /** Creates a job and lets `workers` join it (it starts when they fill maxWorkers). */
  async function runningJob(o: Partial<JobParams> = {}, workers: Provider[] = providers.slice(0, o.maxWorkers ?? 3)) {
    const jobId = await newJob(o);
    await joinAll(ctx, jobId, workers);
    return jobId;
  }
  /** Every worker in `ps` commits; every worker in `voters` (default all) votes the canonical result with `mask`. */
  async function playRound(jobId: bigint, r: number, ps: Provider[], voters: Provider[] = ps, mask?: number) {
    let m = mask ?? 0;
    if (mask === undefined) for (const p of ps) m |= 1 << (await ctx.market.read.workerSlot([jobId, p.address])).index;
    for (const p of ps) await commit(ctx, p, jobId, r);
    for (const p of voters) {
      const s = await job(jobId);
      if (s.currentRound !== r || s.status !== JOB.Running) break;
      await vote(ctx, p, jobId, r, modelHashFor(jobId, r), m >>> 0);
    }
  }
  async function tokenBalance(a: Address) {
    return ctx.token.read.balanceOf([a]);
  }
  return {
    ...ctx,
    poster,
    arbiter,
    challenger,
    providers,
    params,
    newJob,
    job,
    round,
    pastJoinWindow,
    pastCommit,
    pastVote,
    runningJob,
    playRound,
    tokenBalance,
    time: t,
  };
}

export type World = Awaited<ReturnType<typeof world>>;

/** Mints `amount` to `wallet` and approves `spender`. */
export async function fundWallet(w: World, wallet: Wallet, amount: bigint, spender: Address) {
  await w.token.write.mint([wallet.account.address, amount], { account: w.deployer.account });
  await w.token.write.approve([spender, amount], { account: wallet.account });
}

export { commit, vote, modelHashFor };
