/**
 * The DisputeGame indexed (issue 12): a fraud dispute bisected to one step and decided by a referee
 * panel (one referee in the minority, slashed), a rejected challenge of a finalized round, the
 * settlement of an expired round, a referee leaving, game withdrawals. The rows must match the
 * contracts' views (verifyAgainstChain / verifyDisputes), on SQLite and PostgreSQL, whether indexed by
 * backfill or block by block with the reorg journal, and GraphQL must serve them with their relations.
 * Then a reorg that orphans the settlement rolls its rows back, and a market that names its game
 * only after the indexer started (a referee registered before that) is followed from then on.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, type Address } from "viem";
import { startApi, type Api } from "../../api/server.ts";
import { gql, type Gql } from "../helpers/graphql.ts";
import type { Db } from "../../indexer/db/index.ts";
import { marketDomain, registryDomain } from "../../shared/eip712.ts";
import { E18, fund, registerProvider, type Ctx, type Provider } from "../helpers/market.ts";
import type { Indexer } from "../../indexer/sync.ts";
import { dumpTables, quietLog, referenceDump, startChain, startIndexer, synced, testDatabases, waitUntil, type Chain } from "./helpers.ts";
import { L, runDisputeScenario, verifyAgainstChain, verifyDisputes, type DisputeScenario } from "./scenario.ts";

const chain: Chain = await startChain();
let beforeSettlement = "";
const sc: DisputeScenario = await runDisputeScenario(chain.ctx, {
  beforeSettlement: async () => {
    beforeSettlement = await chain.request<string>("evm_snapshot");
  },
});
const dbs = await testDatabases("disputes");
after(() => chain.close());

async function gqlOk(api: Api, query: string): Promise<Gql> {
  const j = await gql(api, query);
  assert.equal(j.errors, undefined, JSON.stringify(j.errors));
  return j;
}

for (const tdb of dbs) {
  describe(`DisputeGame indexed (${tdb.kind})`, () => {
    let db: Db;
    let ix: Indexer;
    let api: Api;
    before(async () => {
      db = await tdb.open();
      ix = await startIndexer(db, chain);
      await synced(ix, chain);
      api = await startApi({ db, port: 0, log: quietLog, cache: false, pollMs: 3_600_000 });
    });
    after(async () => {
      await api?.close();
      await ix?.stop();
      await db?.close();
      await tdb.drop();
    });

    it("disputes, moves, panels, votes, referees, verdicts and game balances match the contracts", async () => {
      await verifyAgainstChain(db, chain.ctx);
      const { prisma } = db;
      const cheater = getAddress(sc.cheater.address);
      const step = await prisma.dispute.findUniqueOrThrow({ where: { id: sc.stepId } });
      assert.equal(step.kind, "Step");
      assert.equal(step.verdict, "Upheld");
      assert.equal(step.worker, cheater);
      // the forged trace forks at leaf 2: bisection agrees on leaf 1 and disputes leaf 2
      assert.deepEqual([step.lo, step.hi, step.moveCount, step.panelCount], [1, 2, 2, 1]);
      const commitment = await prisma.commitment.findUniqueOrThrow({ where: { id: `${sc.jobId}-0-${cheater}` } });
      assert.equal(step.traceRoot, commitment.traceRoot, "the dispute bisects the committed trace");
      const moves = await prisma.disputeMove.findMany({ where: { disputeId: sc.stepId }, orderBy: [{ block: "asc" }, { logIndex: "asc" }] });
      assert.deepEqual(
        moves.map((m) => `${m.kind}:${m.index}${m.agree === null ? "" : m.agree ? "+" : "-"}`),
        ["Requested:2", "Revealed:2", "Answered:2-", "Requested:1", "Revealed:1", "Answered:1+", "Done:2", "Witness:1", "Witness:1"],
      );
      assert.deepEqual(moves.filter((m) => m.kind === "Witness").map((m) => m.publishedBy), [cheater, getAddress(sc.poster)]);
      const members = await prisma.panelMember.findMany({ where: { disputeId: sc.stepId } });
      assert.equal(members.length, 3);
      assert.deepEqual(members.map((m) => m.stepCorrect).sort(), [false, false, true]);
      const minority = members.find((m) => m.stepCorrect === true)!;
      assert.ok(BigInt(minority.slashed ?? "0") > 0n, "the minority referee is slashed");
      assert.ok(members.filter((m) => m.stepCorrect === false).every((m) => m.slashed === null));
      const ref = await prisma.referee.findUniqueOrThrow({ where: { address: minority.referee } });
      assert.equal(ref.slashed, minority.slashed);
      assert.equal((await prisma.disputePanel.findUniqueOrThrow({ where: { id: `${sc.stepId}-1` } })).status, "Decided");
      // the fraud: whole bond slashed, reward clawed back, removed
      const w = await prisma.jobWorker.findUniqueOrThrow({ where: { id: `${sc.jobId}-${cheater}` } });
      assert.equal(w.removedReason, "Fraud");
      assert.equal(w.openDisputes, 0);
      assert.ok(BigInt(w.clawedBack) > 0n);
      assert.ok(await prisma.slash.count({ where: { provider: cheater, reason: "Fraud" } }));

      const rejected = await prisma.dispute.findUniqueOrThrow({ where: { id: sc.rejectedId } });
      assert.deepEqual([rejected.kind, rejected.verdict, rejected.settlement, rejected.worker], ["Round", "Rejected", false, null]);
      const settle = await prisma.dispute.findUniqueOrThrow({ where: { id: sc.settleId } });
      assert.deepEqual([settle.kind, settle.verdict, settle.settlement], ["Round", "Upheld", true]);
      const r1 = await prisma.round.findUniqueOrThrow({ where: { id: `${sc.jobId}-1` } });
      assert.equal(r1.status, "Expired");
      assert.equal(r1.verdict, "Settled");
      assert.equal(r1.verdictPaidMask, 1n);
      assert.equal(r1.verdictWrongMask, 2n);
      assert.ok(BigInt(r1.reserved ?? "0") > 0n);
      const job = await prisma.job.findUniqueOrThrow({ where: { id: sc.jobId } });
      assert.deepEqual([job.status, job.openDisputes, job.reserved], ["Failed", 0, "0"]);
      const wrong = await prisma.slash.findMany({ where: { jobId: sc.jobId, reason: "WrongResult" } });
      assert.deepEqual(wrong.map((s) => s.provider), [getAddress(sc.workers[1].address)]);
      const left = await prisma.referee.findUniqueOrThrow({ where: { address: getAddress(sc.referees[2].address) } });
      assert.deepEqual([left.registered, left.stake, left.openPanels], [false, "0", 0]);
      const net = await prisma.network.findUniqueOrThrow({ where: { id: 1 } });
      assert.deepEqual([net.disputesOpened, net.disputesOpen, net.referees, net.pausedSince], [4, 0, 2, null]);
      assert.ok(net.pausedTotal > 0n, "the pause is counted");
      assert.ok(net.minChallengeWindow !== null && net.maxPenaltyBps !== null, "LimitsUpdated indexed");
      // the overturned round: the Sybils' outcome replaced, the honest minority paid, the job failed
      const over = await prisma.round.findUniqueOrThrow({ where: { id: `${sc.overturnedJob}-0` } });
      assert.deepEqual([over.status, over.verdict, over.verdictIncludedMask, over.verdictPaidMask, over.verdictWrongMask], ["Finalized", "Overturned", 7n, 1n, 6n]);
      assert.equal((await prisma.job.findUniqueOrThrow({ where: { id: sc.overturnedJob } })).status, "Failed");
      assert.equal((await prisma.dispute.findUniqueOrThrow({ where: { id: sc.overturnId } })).verdict, "Upheld");
      // the released reserve
      const released = await prisma.round.findUniqueOrThrow({ where: { id: `${sc.releasedJob}-0` } });
      assert.equal(released.verdict, null);
      assert.ok(released.reserved !== null && released.reserveRefunded === released.reserved, "the whole reserve refunded");
      const rj = await prisma.job.findUniqueOrThrow({ where: { id: sc.releasedJob } });
      assert.equal(rj.reserved, "0");
      assert.ok(await prisma.payout.count({ where: { kind: "GameWithdrawal" } }), "game withdrawals are payouts");
    });

    it("GraphQL serves disputes with filters, orders and relations both ways", async () => {
      const cheater = getAddress(sc.cheater.address);
      const r = await gqlOk(
        api,
        `{ job(id: "${sc.jobId}") {
            disputes(orderBy: id) { totalCount items { id kind phase verdict worker provider { address } job { id } jobRound { round verdict }
              moves(orderBy: block) { totalCount items { kind index agree } }
              panels { items { number size status members(orderBy: referee) { totalCount items { referee stepCorrect slashed refereeProvider { address } } } } } } }
            workers(where: { removedReason_in: [Fraud, WrongResult] }, orderBy: index) { items { worker removedReason clawedBack openDisputes } }
          }
          steps: disputes(where: { kind: Step, verdict: Upheld, worker: "${cheater.toLowerCase()}" }) { items { id lo hi traceRoot panelMembers(where: { slashed_gt: "0" }) { totalCount } } }
          rounds: disputes(where: { kind: Round }, orderBy: id, orderDirection: desc) { items { id settlement verdict } }
          referees(where: { registered: true }, orderBy: slashed, orderDirection: desc) { totalCount items { address stake slashed provider { address } } }
          movesDone: disputeMoves(where: { kind: Done }) { items { index agreedIndex leaf dispute { id } } }
        }`,
      );
      const j = r.data!.job;
      assert.equal(j.disputes.totalCount, 3);
      const [step, rej, settle] = j.disputes.items;
      assert.deepEqual([step.id, step.kind, step.phase, step.verdict, step.worker, step.provider.address, step.job.id], [sc.stepId.toString(), "Step", "Closed", "Upheld", cheater, cheater, sc.jobId.toString()]);
      assert.equal(step.moves.totalCount, 9);
      assert.deepEqual(step.moves.items.map((m: { kind: string }) => m.kind), ["Requested", "Revealed", "Answered", "Requested", "Revealed", "Answered", "Done", "Witness", "Witness"]);
      assert.equal(step.panels.items[0].status, "Decided");
      assert.equal(step.panels.items[0].members.totalCount, 3);
      for (const m of step.panels.items[0].members.items) assert.equal(m.refereeProvider.address, m.referee);
      assert.deepEqual([rej.verdict, rej.worker, rej.provider, rej.jobRound.round], ["Rejected", null, null, 0]);
      assert.deepEqual([settle.verdict, settle.jobRound.round, settle.jobRound.verdict], ["Upheld", 1, "Settled"]);
      assert.deepEqual(j.workers.items.map((w: { removedReason: string }) => w.removedReason), ["WrongResult", "Fraud"]);
      assert.ok(j.workers.items.every((w: { clawedBack: string; openDisputes: number }) => BigInt(w.clawedBack) > 0n && w.openDisputes === 0));
      assert.deepEqual(r.data!.steps.items.map((d: { id: string; lo: number; hi: number; panelMembers: { totalCount: number } }) => [d.id, d.lo, d.hi, d.panelMembers.totalCount]), [[sc.stepId.toString(), 1, 2, 1]]);
      assert.deepEqual(r.data!.rounds.items.map((d: { id: string }) => d.id), [sc.overturnId, sc.settleId, sc.rejectedId].map(String));
      assert.equal(r.data!.referees.totalCount, 2);
      // ordered by slashed amount (numerically), descending, ties by address descending; which
      // referee was slashed depends on the panel draw, so the expected order comes from the rows
      const regs = await db.prisma.referee.findMany({ where: { registered: true } });
      const want = regs.sort((a, b) => (BigInt(a.slashed) === BigInt(b.slashed) ? (a.address < b.address ? 1 : -1) : BigInt(a.slashed) < BigInt(b.slashed) ? 1 : -1)).map((x) => x.address);
      assert.deepEqual(r.data!.referees.items.map((x: { address: string }) => x.address), want, "ordered by slashed amount, descending");
      for (const x of r.data!.referees.items) assert.equal(x.provider.address, x.address);
      assert.deepEqual(r.data!.movesDone.items.map((m: { index: number; agreedIndex: number; dispute: { id: string } }) => [m.index, m.agreedIndex, m.dispute.id]), [[2, 1, sc.stepId.toString()]]);
      // a provider as referee, and as a challenger
      const ref = getAddress(sc.referees[0].address);
      const p = await gqlOk(api, `{ provider(address: "${ref}") { referee { registered panelsDrawn votesCast } panelMembersAsReferee { totalCount } } challenger: provider(address: "${getAddress(sc.workers[0].address)}") { disputesAsChallenger { totalCount } account { gameBalance } } }`);
      assert.deepEqual(p.data!.provider.referee, { registered: true, panelsDrawn: 4, votesCast: 4 });
      assert.equal(p.data!.provider.panelMembersAsReferee.totalCount, 4);
      assert.equal(p.data!.challenger.disputesAsChallenger.totalCount, 3);
      assert.equal(p.data!.challenger.account.gameBalance, (await L(chain.ctx).game.read.balanceOf([sc.workers[0].address])).toString());
    });
  });
}

describe("DisputeGame rows and reorgs", () => {
  it("indexing block by block (journaled) gives the same rows as a backfill; a reorg that orphans the settlement rolls it back", async () => {
    const live: { db: Db; ix: Indexer }[] = [];
    const tdbs = await testDatabases("disputes-live");
    try {
      for (const tdb of tdbs) {
        const db = await tdb.open();
        live.push({ db, ix: await startIndexer(db, chain, { finalityDepth: 1000 }) });
      }
      for (const { ix } of live) await synced(ix, chain);
      const reference = await referenceDump(chain);
      for (const { db } of live) assert.deepEqual(await dumpTables(db), reference, "journaled live indexing = backfill");
      // the settlement branch is orphaned by a longer branch without it
      const height = await chain.blockNumber();
      assert.equal(await chain.request("evm_revert", [beforeSettlement]), true);
      await chain.mine(Number(height - (await chain.blockNumber())) + 3);
      for (const { ix } of live) {
        await waitUntil(() => ix.metrics.reorgs.get() >= 1, 20_000, "reorg detected");
        await synced(ix, chain);
      }
      const after = await referenceDump(chain);
      for (const { db } of live) {
        await verifyAgainstChain(db, chain.ctx);
        await verifyDisputes(db, chain.ctx);
        assert.equal(await db.prisma.dispute.count(), 2, "the settlement dispute is gone");
        assert.equal((await db.prisma.round.findUniqueOrThrow({ where: { id: `${sc.jobId}-1` } })).verdict, null);
        assert.equal((await db.prisma.referee.count({ where: { registered: true } })), 3, "the referee that left is back");
        assert.deepEqual(await dumpTables(db), after, "same rows as a fresh index of the canonical chain");
      }
    } finally {
      for (const { ix, db } of live) {
        await ix.stop();
        await db.close();
      }
      for (const tdb of tdbs) await tdb.drop();
    }
  });
});

describe("a DisputeGame named after the indexer started", () => {
  it("is followed from its DisputeGameUpdated on, with its earlier logs (a referee registered before the market named it)", async () => {
    // the contracts deployed one by one (the Ignition module names the game at once), the game not named yet
    const late = await startChain(async (conn) => {
      const { viem } = conn;
      const [deployer, treasury, ...others] = await viem.getWalletClients();
      const admin = deployer.account.address;
      const token = await viem.deployContract("TestToken", [admin]);
      const registry = await viem.deployContract("ProviderRegistry", [token.address, admin, 100n * E18, 7n * 24n * 3600n]);
      const module = await viem.deployContract("MarketDisputeModule", [registry.address]);
      const market = await viem.deployContract("TrainingMarket", [registry.address, admin, treasury.account.address, 200, 2_000, module.address]);
      await registry.write.grantRole([await registry.read.MARKET_ROLE(), market.address]);
      const game = await viem.deployContract("DisputeGame", [market.address, 100n * E18, 3, 3_600, 86_400, 2_000]);
      const chainId = await (await viem.getPublicClient()).getChainId();
      return { conn, viem, deployer, treasury, others, token, registry, market, game, domain: marketDomain(chainId, market.address), registryDomain: registryDomain(chainId, registry.address) } as unknown as Ctx;
    });
    const ctx = late.ctx;
    const game = L(ctx).game;
    const referee = async (i: number) => {
      const r = await registerProvider(ctx, ctx.others[i] as Provider["wallet"]);
      await fund(ctx, r.wallet, 100n * E18, game.address);
      await game.write.registerReferee({ account: r.wallet.account });
      return r;
    };
    const tdbs = await testDatabases("disputes-late");
    const live: { db: Db; ix: Indexer }[] = [];
    try {
      for (const tdb of tdbs) {
        const db = await tdb.open();
        live.push({ db, ix: await startIndexer(db, late) });
      }
      await referee(0);
      await referee(1);
      await late.mine(6); // the registrations are final (below FINALITY_DEPTH) before the game is named
      for (const { ix, db } of live) {
        await synced(ix, late);
        assert.equal(ix.game, undefined);
        assert.equal(await db.prisma.referee.count(), 0, "the game is not followed before the market names it");
      }
      await L(ctx).market.write.setDisputeGame([game.address], { account: ctx.deployer.account });
      await referee(2);
      await game.write.leaveReferees({ account: (ctx.others[0] as Provider["wallet"]).account });
      for (const { ix, db } of live) {
        await synced(ix, late);
        assert.equal(ix.game, getAddress(game.address as Address));
        assert.equal(await db.prisma.referee.count(), 3, "referees registered before and after the game was named");
        assert.equal(await db.prisma.referee.count({ where: { registered: true } }), 2);
        await verifyDisputes(db, ctx);
        assert.deepEqual(await dumpTables(db), await referenceDump(late), "same rows as an indexer that knew the game from the start");
      }
    } finally {
      for (const { ix, db } of live) {
        await ix.stop();
        await db.close();
      }
      for (const tdb of tdbs) await tdb.drop();
      await late.close();
    }
  });
});
