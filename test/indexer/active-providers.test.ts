/**
 * `networkStats.activeProviders` counts providers with `activeJobs > 0`, a counter the indexer keeps
 * from WorkerJoined / WorkerRemoved / the job's end (issue 9 item 17: the dashboard said "0 active"
 * while three providers were working). After every step of a market history (joins, a completion, a
 * removal for absence, a failure, a deferred cancel, a reorg that orphans joins) each provider's
 * indexed `activeJobs` must equal what the contracts say: the live jobs (Open or Running) in which
 * its slot is active.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, type Address } from "viem";
import { commit, createJob, honestRound, jobParams, joinAll, registerProviders, type Provider } from "../helpers/market.ts";
import { JobStatus } from "../../shared/types.ts";
import { startChain, startIndexer, synced, testDatabases, waitUntil, type Chain } from "./helpers.ts";
import { L } from "./scenario.ts";
import type { Db } from "../../indexer/db/index.ts";
import type { Indexer } from "../../indexer/sync.ts";

const chain: Chain = await startChain();
const [tdb] = await testDatabases("active-providers");

/** provider → number of live jobs whose slot is active, read from the contracts. */
async function activeOnChain(providers: Provider[]): Promise<Map<Address, number>> {
  const m = new Map<Address, number>(providers.map((p) => [getAddress(p.address), 0]));
  const count = await L(chain.ctx).market.read.jobCount();
  for (let id = 1n; id <= count; id++) {
    const s = await L(chain.ctx).market.read.jobState([id]);
    if (!["Open", "Running"].includes(JobStatus[s.status])) continue;
    for (const w of await L(chain.ctx).market.read.workersOf([id])) {
      const slot = await L(chain.ctx).market.read.workerSlot([id, w]);
      if (slot.active) m.set(getAddress(w), (m.get(getAddress(w)) ?? 0) + 1);
    }
  }
  return m;
}

describe("active providers (indexer)", () => {
  let db: Db;
  let ix: Indexer;
  let providers: Provider[];
  before(async () => {
    db = await tdb.open();
    // deep finality: every block below stays journaled, so the reorg step rolls rows back
    ix = await startIndexer(db, chain, { finalityDepth: 64 });
    providers = await registerProviders(chain.ctx, 4, 1);
  });
  after(async () => {
    await ix?.stop();
    await db?.close();
    await tdb.drop();
    await chain.close();
  });

  async function check(step: string, expected: number[]): Promise<void> {
    await synced(ix, chain);
    const onChain = await activeOnChain(providers);
    const got: number[] = [];
    for (const p of providers) {
      const row = await db.prisma.provider.findUnique({ where: { address: getAddress(p.address) } });
      assert.ok(row, `${step}: provider ${p.address} indexed`);
      got.push(row.activeJobs);
    }
    assert.deepEqual(got, providers.map((p) => onChain.get(getAddress(p.address))), `${step}: indexed activeJobs agree with the contracts`);
    assert.deepEqual(got, expected, `${step}: activeJobs per provider`);
    const busy = expected.filter((n) => n > 0).length;
    assert.equal(await db.prisma.provider.count({ where: { activeJobs: { gt: 0 } } }), busy, `${step}: the API's activeProviders count`);
  }

  it("follows joins, completion, removal, failure, deferred cancel and reorgs", async () => {
    const ctx = chain.ctx;
    const poster = ctx.others[0] as Provider["wallet"];
    const [p0, p1, p2, p3] = providers;
    await check("registered", [0, 0, 0, 0]);

    // A: 3 workers, 2 rounds; D: 2 workers (p2 busy twice)
    const a = await createJob(ctx, poster, jobParams({ rounds: 2, maxWorkers: 3, minWorkers: 2 }));
    await joinAll(ctx, a, [p0, p1, p2]);
    await check("A joined (Running)", [1, 1, 1, 0]);
    const d = await createJob(ctx, poster, jobParams({ rounds: 2, maxWorkers: 2, minWorkers: 2, commitWindow: 300, voteWindow: 300 }));
    await joinAll(ctx, d, [p2, p3]);
    await check("D joined", [1, 1, 2, 1]);

    // a reorg orphans a join (and a finalized round of A): the counter goes back with the row, while
    // what the API wrote on A's row (its name, an `external` column) survives the rollback
    await db.prisma.job.update({ where: { id: a }, data: { name: "job A" } });
    const snap = await chain.request<string>("evm_snapshot");
    const e = await createJob(ctx, poster, jobParams({ rounds: 1, maxWorkers: 2, minWorkers: 2 }));
    await joinAll(ctx, e, [p0]);
    await honestRound(ctx, a, 0, [p0, p1, p2]);
    await check("E joined by p0 (Open)", [2, 1, 2, 1]);
    assert.equal((await db.prisma.job.findUnique({ where: { id: a } }))?.roundsFinalized, 1);
    await chain.request("evm_revert", [snap]);
    await chain.mine(5);
    await waitUntil(() => ix.metrics.reorgs.get() >= 1, 30_000, "reorg detected");
    await check("after the reorg", [1, 1, 2, 1]);
    const rolledBack = await db.prisma.job.findUnique({ where: { id: a } });
    assert.equal(rolledBack?.roundsFinalized, 0, "A's finalized round was rolled back");
    assert.equal(rolledBack?.name, "job A", "the API's column is kept through the rollback");

    // A completes: its three workers stop counting
    await honestRound(ctx, a, 0, [p0, p1, p2]);
    await honestRound(ctx, a, 1, [p0, p1, p2]);
    assert.equal(JobStatus[(await L(ctx).market.read.jobState([a])).status], "Completed");
    await check("A completed", [0, 0, 1, 1]);

    // D: p3 absent → removed; with one worker left the job fails
    await commit(ctx, p2, d, 0, 2.2);
    await chain.request("evm_increaseTime", [3_700]);
    await chain.mine();
    await L(ctx).market.write.expireRound([d], { account: poster.account });
    assert.equal(JobStatus[(await L(ctx).market.read.jobState([d])).status], "Failed");
    await check("D failed", [0, 0, 0, 0]);

    // B: cancel requested during a commit window is deferred, then executed by expireRound
    const b = await createJob(ctx, poster, jobParams({ rounds: 2, maxWorkers: 2, minWorkers: 2 }));
    await joinAll(ctx, b, [p1, p3]);
    await commit(ctx, p1, b, 0, 2.0);
    await L(ctx).market.write.cancelJob([b], { account: poster.account });
    await check("B cancel deferred", [0, 1, 0, 1]);
    await chain.request("evm_increaseTime", [3_700]);
    await chain.mine();
    await L(ctx).market.write.expireRound([b], { account: poster.account });
    assert.equal(JobStatus[(await L(ctx).market.read.jobState([b])).status], "Cancelled");
    await check("B cancelled", [0, 0, 0, 0]);
  });
});
