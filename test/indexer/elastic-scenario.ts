/**
 * Elastic membership (issue 11) on a real chain: providers join running jobs between rounds and
 * become active when the next round starts (WorkersActivated), workers leave as absent
 * (WorkerRemoved), and a late joiner's job ends before it is activated. Shared by the indexer test
 * (rows, reorg) and the API test (GraphQL).
 *
 * Job A (4 rounds, 2 of 3 slots filled at the start): p2 joins during round 0 (active from round 1);
 * p1 is absent in round 1 (removed); p3 joins during round 2 (index 3: indices are never reused,
 * active from round 3); completed.
 * Job B (3 rounds): p3 joins during round 0, the poster cancels; the job ends before round 1, so p3
 * is never activated.
 * Job C (3 rounds): p2 joins during round 0 and is left joining (the chain stops there).
 */
import assert from "node:assert/strict";
import { commit, createJob, jobParams, joinAll, modelHashFor, registerProviders, vote, type Ctx, type Provider } from "../helpers/market.ts";
import { JobStatus } from "../../shared/types.ts";
import { L } from "./scenario.ts";

export interface ElasticScenario {
  providers: Provider[];
  poster: Provider["wallet"];
  a: bigint;
  b: bigint;
  c: bigint;
}

/** Called after the named steps (the indexer test syncs and checks the rows there). */
export type ElasticHook = (step: "A: p2 joining" | "A: p2 active" | "C: p2 joining", s: ElasticScenario) => Promise<void>;

const increaseTime = async (ctx: Ctx, seconds: number) => {
  await ctx.conn.provider.request({ method: "evm_increaseTime", params: [seconds] });
  await ctx.conn.provider.request({ method: "evm_mine", params: [] });
};

/** Commits for `workers`, waits out the commit window when some active worker stays silent, and votes `mask` until the round finalizes. */
async function round(ctx: Ctx, jobId: bigint, r: number, workers: Provider[], mask: number, waitWindow: boolean) {
  for (const p of workers) await commit(ctx, p, jobId, r, 3 - r * 0.1);
  if (waitWindow) await increaseTime(ctx, Number(jobParams().commitWindow) + 1);
  for (const p of workers) {
    const s = await L(ctx).market.read.jobState([jobId]);
    if (s.currentRound !== r || JobStatus[s.status] !== "Running") break;
    await vote(ctx, p, jobId, r, modelHashFor(jobId, r), mask);
  }
  const s = await L(ctx).market.read.jobState([jobId]);
  assert.ok(s.currentRound > r || JobStatus[s.status] !== "Running", `job ${jobId} round ${r} finalized`);
}

/** A running job with p0 and p1 (2 of `maxWorkers` slots: started after the join window). */
async function startedJob(ctx: Ctx, poster: Provider["wallet"], workers: Provider[], rounds: number): Promise<bigint> {
  const id = await createJob(ctx, poster, jobParams({ rounds, maxWorkers: 3, minWorkers: 2 }));
  await joinAll(ctx, id, workers);
  await increaseTime(ctx, Number(jobParams().joinWindow) + 1);
  await L(ctx).market.write.startJob([id], { account: poster.account });
  return id;
}

export async function runElasticScenario(ctx: Ctx, hook: ElasticHook = async () => {}): Promise<ElasticScenario> {
  const providers = await registerProviders(ctx, 4, 1);
  const poster = ctx.others[0] as Provider["wallet"];
  const [p0, p1, p2, p3] = providers;
  const s: ElasticScenario = { providers, poster, a: 0n, b: 0n, c: 0n };

  s.a = await startedJob(ctx, poster, [p0, p1], 4);
  await joinAll(ctx, s.a, [p2]);
  await hook("A: p2 joining", s);
  await round(ctx, s.a, 0, [p0, p1], 0b11, false);
  await hook("A: p2 active", s);
  await round(ctx, s.a, 1, [p0, p2], 0b101, true); // p1 absent: removed as round 1 closes
  await joinAll(ctx, s.a, [p3]);
  await round(ctx, s.a, 2, [p0, p2], 0b101, false);
  await round(ctx, s.a, 3, [p0, p2, p3], 0b1101, false);
  assert.equal(JobStatus[(await L(ctx).market.read.jobState([s.a])).status], "Completed");

  s.b = await startedJob(ctx, poster, [p0, p1], 3);
  await joinAll(ctx, s.b, [p3]);
  await L(ctx).market.write.cancelJob([s.b], { account: poster.account }); // deferred to the commit window's end
  await increaseTime(ctx, Number(jobParams().commitWindow) + 1);
  await L(ctx).market.write.expireRound([s.b], { account: poster.account });
  assert.equal(JobStatus[(await L(ctx).market.read.jobState([s.b])).status], "Cancelled");

  s.c = await startedJob(ctx, poster, [p0, p1], 3);
  await joinAll(ctx, s.c, [p2]);
  await hook("C: p2 joining", s);
  return s;
}
