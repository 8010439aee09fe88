/**
 * Elastic membership in the indexer (issue 11): a running job takes late joiners, who are "joining"
 * (not active, not counted in activeWorkerCount or their provider's activeJobs) until the next round
 * starts (WorkersActivated), and loses a worker as absent (WorkerRemoved). The rows are followed live
 * on every available database while the chain runs (test/indexer/elastic-scenario.ts), checked against
 * the contracts, against a fresh backfill of the same chain, and across a reorg that orphans an
 * activation.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, type Address } from "viem";
import { commit, modelHashFor, vote } from "../helpers/market.ts";
import type { Db } from "../../indexer/db/index.ts";
import type { Indexer } from "../../indexer/sync.ts";
import { dumpTables, referenceDump, startChain, startIndexer, synced, testDatabases, waitUntil, type Chain, type TestDb } from "./helpers.ts";
import { runElasticScenario, type ElasticScenario } from "./elastic-scenario.ts";
import { L, verifyAgainstChain } from "./scenario.ts";

const chain: Chain = await startChain();
const tdbs: TestDb[] = await testDatabases("elastic");

interface WorkerState {
  index: number;
  active: boolean;
  joining: boolean;
  joinedRound: number | null;
  activeFromRound: number | null;
  removedRound: number | null;
  removedReason: string | null;
}
type Masks = [active: number, joined: number, departed: number];

async function workerRow(db: Db, jobId: bigint, who: Address): Promise<WorkerState> {
  const w = await db.prisma.jobWorker.findUniqueOrThrow({ where: { id: `${jobId}-${getAddress(who)}` } });
  return { index: w.index, active: w.active, joining: w.joining, joinedRound: w.joinedRound, activeFromRound: w.activeFromRound, removedRound: w.removedRound, removedReason: w.removedReason };
}

const ws = (index: number, o: Partial<WorkerState> = {}): WorkerState => ({ index, active: true, joining: false, joinedRound: null, activeFromRound: 0, removedRound: null, removedReason: null, ...o });

async function roundMasks(db: Db, jobId: bigint): Promise<Masks[]> {
  const rows = await db.prisma.round.findMany({ where: { jobId }, orderBy: { round: "asc" } });
  for (const r of rows) {
    const bits = (m: bigint | null) => m!.toString(2).split("").filter((c) => c === "1").length;
    assert.equal(r.joinedCount, bits(r.joinedMask), `job ${jobId} round ${r.round} joinedCount`);
    assert.equal(r.departedCount, bits(r.departedMask), `job ${jobId} round ${r.round} departedCount`);
  }
  return rows.map((r) => [Number(r.activeMask), Number(r.joinedMask), Number(r.departedMask)]);
}

async function counts(db: Db, jobId: bigint): Promise<[workers: number, active: number, joining: number]> {
  const j = await db.prisma.job.findUniqueOrThrow({ where: { id: jobId } });
  return [j.workerCount, j.activeWorkerCount, j.joiningWorkerCount];
}

async function activeJobs(db: Db, s: ElasticScenario): Promise<number[]> {
  const out: number[] = [];
  for (const p of s.providers) out.push((await db.prisma.provider.findUniqueOrThrow({ where: { address: getAddress(p.address) } })).activeJobs);
  return out;
}

/** Each worker's indexed `active` equals its slot's on chain. */
async function activeAsOnChain(db: Db, jobId: bigint): Promise<void> {
  for (const w of await L(chain.ctx).market.read.workersOf([jobId])) {
    const slot = await L(chain.ctx).market.read.workerSlot([jobId, w]);
    assert.equal((await workerRow(db, jobId, w)).active, slot.active, `job ${jobId} worker ${w}: active as on chain`);
  }
}

describe("elastic membership (indexer)", () => {
  const opened: { tdb: TestDb; db: Db; ix: Indexer }[] = [];
  let s: ElasticScenario;
  before(async () => {
    for (const tdb of tdbs) {
      const db = await tdb.open();
      // deep finality: every block stays journaled, so the reorg step rolls the activation back
      opened.push({ tdb, db, ix: await startIndexer(db, chain, { finalityDepth: 64 }) });
    }
  });
  after(async () => {
    for (const o of opened) {
      await o.ix.stop();
      await o.db.close();
      await o.tdb.drop();
    }
    await chain.close();
  });

  it("a late joiner is joining until the next round starts; an absentee departs in its round (live, every database)", async () => {
    const each = async (fn: (db: Db, kind: string) => Promise<void>) => {
      for (const o of opened) {
        await synced(o.ix, chain);
        await fn(o.db, o.tdb.kind);
      }
    };
    s = await runElasticScenario(chain.ctx, async (step, sc) => {
      const p2 = sc.providers[2];
      await each(async (db, kind) => {
        const at = `${kind}, ${step}`;
        if (step === "A: p2 joining") {
          assert.deepEqual(await workerRow(db, sc.a, p2.address), ws(2, { active: false, joining: true, joinedRound: 0, activeFromRound: null }), at);
          assert.deepEqual(await counts(db, sc.a), [3, 2, 1], `${at}: workers, active, joining`);
          assert.deepEqual(await activeJobs(db, sc), [1, 1, 0, 0], `${at}: a joining worker is not busy yet`);
          assert.equal((await db.prisma.provider.findUniqueOrThrow({ where: { address: getAddress(p2.address) } })).jobsJoined, 1, at);
          assert.deepEqual(await roundMasks(db, sc.a), [[0b11, 0, 0]], at);
        } else if (step === "A: p2 active") {
          assert.deepEqual(await workerRow(db, sc.a, p2.address), ws(2, { joinedRound: 0, activeFromRound: 1 }), at);
          assert.deepEqual(await counts(db, sc.a), [3, 3, 0], at);
          assert.deepEqual(await activeJobs(db, sc), [1, 1, 1, 0], at);
          assert.deepEqual(await roundMasks(db, sc.a), [[0b11, 0, 0], [0b111, 0b100, 0]], `${at}: round 1 started with p2 activated`);
        } else {
          assert.deepEqual(await workerRow(db, sc.c, p2.address), ws(2, { active: false, joining: true, joinedRound: 0, activeFromRound: null }), at);
        }
        await activeAsOnChain(db, step.startsWith("A") ? sc.a : sc.c);
      });
    });
    const [p0, p1, p2, p3] = s.providers;
    await each(async (db, kind) => {
      // A: p2 active from round 1, p1 absent in round 1, p3 (index 3) active from round 3
      assert.deepEqual(await workerRow(db, s.a, p0.address), ws(0), kind);
      assert.deepEqual(await workerRow(db, s.a, p1.address), ws(1, { active: false, removedRound: 1, removedReason: "Absent" }), kind);
      assert.deepEqual(await workerRow(db, s.a, p2.address), ws(2, { joinedRound: 0, activeFromRound: 1 }), kind);
      assert.deepEqual(await workerRow(db, s.a, p3.address), ws(3, { joinedRound: 2, activeFromRound: 3 }), kind);
      assert.deepEqual(await roundMasks(db, s.a), [[0b11, 0, 0], [0b111, 0b100, 0b10], [0b101, 0, 0], [0b1101, 0b1000, 0]], `${kind}: job A's rounds [active, joined, departed]`);
      assert.deepEqual(await counts(db, s.a), [4, 3, 0], kind);
      // B: cancelled before round 1, so p3 was never activated
      assert.deepEqual(await workerRow(db, s.b, p3.address), ws(2, { active: false, joinedRound: 0, activeFromRound: null }), kind);
      assert.deepEqual(await counts(db, s.b), [3, 2, 0], kind);
      // C: p2 still joining; only C is live, so only its active workers are busy
      assert.deepEqual(await counts(db, s.c), [3, 2, 1], kind);
      assert.deepEqual(await activeJobs(db, s), [1, 1, 0, 0], kind);
      for (const id of [s.a, s.b, s.c]) await activeAsOnChain(db, id);
      await verifyAgainstChain(db, chain.ctx);
    });
    // the same rows as a backfill of the whole chain from scratch
    const ref = await referenceDump(chain);
    for (const o of opened) assert.deepEqual(await dumpTables(o.db), ref, `${o.tdb.kind}: live rows equal a fresh backfill`);
  });

  it("a reorg that orphans an activation puts the worker back to joining", async () => {
    const [p0, p1, p2] = s.providers;
    const before = await Promise.all(opened.map((o) => dumpTables(o.db)));
    const snap = await chain.request<string>("evm_snapshot");
    // C's round 0 finalizes: p2 becomes active as round 1 starts
    for (const p of [p0, p1]) await commit(chain.ctx, p, s.c, 0, 2.5);
    for (const p of [p0, p1]) await vote(chain.ctx, p, s.c, 0, modelHashFor(s.c, 0), 0b11);
    for (const o of opened) {
      await synced(o.ix, chain);
      assert.deepEqual(await workerRow(o.db, s.c, p2.address), ws(2, { joinedRound: 0, activeFromRound: 1 }), o.tdb.kind);
      assert.deepEqual(await roundMasks(o.db, s.c), [[0b11, 0, 0], [0b111, 0b100, 0]], o.tdb.kind);
      assert.deepEqual(await activeJobs(o.db, s), [1, 1, 1, 0], o.tdb.kind);
    }
    await chain.request("evm_revert", [snap]);
    await chain.mine(3);
    for (const [i, o] of opened.entries()) {
      await waitUntil(() => o.ix.metrics.reorgs.get() >= 1, 30_000, `${o.tdb.kind}: reorg detected`);
      await synced(o.ix, chain);
      assert.deepEqual(await workerRow(o.db, s.c, p2.address), ws(2, { active: false, joining: true, joinedRound: 0, activeFromRound: null }), o.tdb.kind);
      assert.deepEqual(await counts(o.db, s.c), [3, 2, 1], o.tdb.kind);
      assert.deepEqual(await activeJobs(o.db, s), [1, 1, 0, 0], o.tdb.kind);
      const after = await dumpTables(o.db);
      for (const t of ["job", "job_worker", "round", "provider"]) assert.deepEqual(after[t], before[i][t], `${o.tdb.kind}: ${t} rows as before the orphaned blocks`);
    }
  });
});
