/**
 * A round's joins and departures through GraphQL (issue 11): the computed `Round.joined` /
 * `Round.departed` lists, the generated columns and filters on JobWorker and Round, and the job's
 * joining count, over the elastic-membership chain of test/indexer/elastic-scenario.ts, on every
 * available database.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress } from "viem";
import { startApi, type Api } from "../../api/server.ts";
import { gql, type Gql } from "../helpers/graphql.ts";
import type { Db } from "../../indexer/db/index.ts";
import type { Indexer } from "../../indexer/sync.ts";
import { quietLog, startChain, startIndexer, synced, testDatabases, type Chain } from "../indexer/helpers.ts";
import { runElasticScenario, type ElasticScenario } from "../indexer/elastic-scenario.ts";

const chain: Chain = await startChain();
const s: ElasticScenario = await runElasticScenario(chain.ctx);
const dbs = await testDatabases("api-elastic");
after(() => chain.close());

const addr = (i: number) => getAddress(s.providers[i].address);

for (const tdb of dbs) {
  describe(`joins and departures per round through GraphQL (${tdb.kind})`, () => {
    let db: Db;
    let ix: Indexer;
    let api: Api;
    before(async () => {
      db = await tdb.open();
      ix = await startIndexer(db, chain);
      await synced(ix, chain);
      api = await startApi({ db, port: 0, log: quietLog, indexer: ix, pollMs: 3_600_000 });
    });
    after(async () => {
      await api.close();
      await ix.stop();
      await db.close();
      await tdb.drop();
    });

    it("Round.joined / Round.departed list the workers, with the round's masks and counts", async () => {
      const r = await gql(api, `query($id: BigInt!) { job(id: $id) {
        workerCount activeWorkerCount joiningWorkerCount
        roundList(orderBy: round) { items {
          round activeMask joinedMask departedMask joinedCount departedCount
          joined { worker index joinedRound activeFromRound provider { address } }
          departed { worker index removedRound removedReason }
        } }
      } }`, { id: s.a.toString() });
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      const j = r.data!.job;
      assert.deepEqual([j.workerCount, j.activeWorkerCount, j.joiningWorkerCount], [4, 3, 0]);
      const rounds = j.roundList.items;
      assert.deepEqual(
        rounds.map((x: Record<string, unknown>) => [x.round, x.activeMask, x.joinedMask, x.departedMask, x.joinedCount, x.departedCount]),
        [
          [0, "3", "0", "0", 0, 0],
          [1, "7", "4", "2", 1, 1],
          [2, "5", "0", "0", 0, 0],
          [3, "13", "8", "0", 1, 0],
        ],
      );
      assert.deepEqual(rounds[0].joined, []);
      assert.deepEqual(rounds[1].joined, [{ worker: addr(2), index: 2, joinedRound: 0, activeFromRound: 1, provider: { address: addr(2) } }]);
      assert.deepEqual(rounds[1].departed, [{ worker: addr(1), index: 1, removedRound: 1, removedReason: "Absent" }]);
      assert.deepEqual(rounds[3].joined.map((w: { worker: string }) => w.worker), [addr(3)]);
      assert.deepEqual(rounds[2].departed, []);
    });

    it("the generated filters find a round's joiners and leavers, and the workers still joining", async () => {
      const r = await gql(api, `query($a: BigInt!) {
        joined: jobWorkers(where: { jobId: $a, activeFromRound: 3, joinedRound_not: null }) { items { worker } }
        departed: jobWorkers(where: { jobId: $a, removedRound: 1 }) { items { worker removedReason } }
        joining: jobWorkers(where: { joining: true }) { items { jobId worker joinedRound activeFromRound active } }
        neverActive: jobWorkers(where: { joinedRound_not: null, activeFromRound: null, joining: false }) { items { jobId worker } }
        withDepartures: rounds(where: { departedCount_gt: 0 }) { items { jobId round } }
        growing: jobs(where: { joiningWorkerCount_gt: 0 }) { items { id status } }
        late: job(id: $a) { workers(where: { joinedRound_not: null }, orderBy: index) { items { worker activeFromRound } } }
      }`, { a: s.a.toString() });
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      const d = r.data!;
      assert.deepEqual(d.joined.items, [{ worker: addr(3) }]);
      assert.deepEqual(d.departed.items, [{ worker: addr(1), removedReason: "Absent" }]);
      assert.deepEqual(d.joining.items, [{ jobId: s.c.toString(), worker: addr(2), joinedRound: 0, activeFromRound: null, active: false }]);
      assert.deepEqual(d.neverActive.items, [{ jobId: s.b.toString(), worker: addr(3) }], "job B was cancelled before its joiner became active");
      assert.deepEqual(d.withDepartures.items, [{ jobId: s.a.toString(), round: 1 }]);
      assert.deepEqual(d.growing.items, [{ id: s.c.toString(), status: "Running" }]);
      assert.deepEqual(d.late.workers.items, [
        { worker: addr(2), activeFromRound: 1 },
        { worker: addr(3), activeFromRound: 3 },
      ]);
    });
  });
}
