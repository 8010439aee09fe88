/**
 * The reportEvalLoss mutation over real HTTP and a real database: a report signed by the job's
 * poster is stored and served in the loss curve (and pushed to subscribers, and not hidden by the
 * response cache); wrong signers, bad values, unknown or unfinished rounds are refused with codes.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startApi, type Api } from "../../api/server.ts";
import { gql, type Gql } from "../helpers/graphql.ts";
import { reportEvalLoss, ApiError, type MessageSigner } from "../../cli/poster/eval-report.ts";
import type { Db } from "../../indexer/db/index.ts";
import { Store } from "../../indexer/store.ts";
import type { Indexer } from "../../indexer/sync.ts";
import { evalLossMessage } from "../../shared/eval-report.ts";
import { createJob, jobParams, joinAll } from "../helpers/market.ts";
import { quietLog, startChain, startIndexer, synced, testDatabases, type Chain } from "../indexer/helpers.ts";
import { honestJob, setupActors } from "../indexer/scenario.ts";

const chain: Chain = await startChain();
const actors = await setupActors(chain.ctx, 3);
const done = await honestJob(chain.ctx, actors.poster, actors.providers, 2); // Completed, rounds 0 and 1 finalized
const running = await createJob(chain.ctx, actors.poster, jobParams({ rounds: 2, maxWorkers: 3, minWorkers: 2 }));
await joinAll(chain.ctx, running, actors.providers); // round 0 Active
const market = getAddress((chain.ctx as unknown as { market: { address: Address } }).market.address);
const chainId = 31337;
const dbs = await testDatabases("evalreport");
after(() => chain.close());

const poster: MessageSigner = {
  address: actors.poster.account.address,
  signMessage: ({ message }) => actors.poster.signMessage({ message, account: actors.poster.account }),
};
const stranger = privateKeyToAccount(generatePrivateKey());

const MUTATION = `mutation($j: BigInt!, $r: Int!, $l: Float!, $s: Bytes!) { reportEvalLoss(jobId: $j, round: $r, evalLoss: $l, signature: $s) { jobId round evalLoss evalLossSource } }`;

async function send(api: Api, jobId: bigint, round: number, evalLoss: number, signature: Hex): Promise<Gql> {
  return gql(api, MUTATION, { j: jobId.toString(), r: round, l: evalLoss, s: signature });
}

async function signed(signer: MessageSigner, jobId: bigint, round: number, evalLoss: number, modelHash: Hex): Promise<Hex> {
  return signer.signMessage({ message: evalLossMessage({ chainId, market, jobId, round, modelHash, evalLoss }) });
}

const code = (r: Gql) => r.errors?.[0]?.extensions?.code;

for (const tdb of dbs) {
  describe(`reportEvalLoss (${tdb.kind})`, () => {
    let db: Db;
    let ix: Indexer;
    let api: Api;
    let model0: Hex;
    before(async () => {
      db = await tdb.open();
      ix = await startIndexer(db, chain);
      await synced(ix, chain);
      api = await startApi({ db, port: 0, log: quietLog, indexer: ix, pollMs: 3_600_000 });
      model0 = (await db.prisma.round.findUniqueOrThrow({ where: { id: `${done}-0` } })).resultModelHash as Hex;
    });
    after(async () => {
      await api.close();
      await ix.stop();
      await db.close();
      await tdb.drop();
    });

    it("a poster-signed report is stored, served in the loss curve, pushed to subscribers and set once", async () => {
      const curveQuery = `query($id: BigInt!) { job(id: $id) { lossCurve { round meanTrainLoss evalLoss evalLossSource } } }`;
      const before = await gql(api, curveQuery, { id: done.toString() }); // cached until something changes
      assert.deepEqual(before.data!.job.lossCurve.map((p: { evalLoss: number | null }) => p.evalLoss), [null, null]);

      const events: any[] = [];
      const ctrl = new AbortController();
      const stream = fetch(`${api.url}?query=${encodeURIComponent(`subscription { evalLossReported(jobId: "${done}") { jobId round evalLoss evalLossSource } }`)}`, {
        headers: { accept: "text/event-stream" },
        signal: ctrl.signal,
      }).then(async (res) => {
        const reader = res.body!.getReader();
        let buf = "";
        for (;;) {
          const { value, done: end } = await reader.read();
          if (end) return;
          buf += new TextDecoder().decode(value);
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const chunk = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = chunk.split("\n").find((l) => l.startsWith("data:"));
            if (data && chunk.includes("event: next")) events.push(JSON.parse(data.slice(5)));
          }
        }
      }).catch((e: Error) => {
        if (e.name !== "AbortError") throw e;
      });
      await new Promise((r) => setTimeout(r, 200));

      const stored = await reportEvalLoss(api.url, poster, { chainId, market, jobId: done, round: 1, evalLoss: 2.875 });
      assert.deepEqual(
        { jobId: stored.jobId, round: stored.round, evalLoss: stored.evalLoss, evalLossSource: stored.evalLossSource },
        { jobId: done.toString(), round: 1, evalLoss: 2.875, evalLossSource: "poster" },
      );
      const after1 = await gql(api, curveQuery, { id: done.toString() });
      assert.deepEqual(after1.data!.job.lossCurve.map((p: { evalLoss: number | null }) => p.evalLoss), [null, 2.875], "the response cache must not hide the report");
      assert.equal(after1.data!.job.lossCurve[1].evalLossSource, "poster");
      assert.ok(Math.abs(after1.data!.job.lossCurve[1].meanTrainLoss - 2.76) < 1e-9, "train loss untouched");

      // explicit model hash, an awkward float: the signed text and the stored value agree exactly
      const x = 0.1 + 0.2;
      const r0 = await send(api, done, 0, x, await signed(poster, done, 0, x, model0));
      assert.equal(r0.errors, undefined, JSON.stringify(r0.errors));
      assert.equal(r0.data!.reportEvalLoss.evalLoss, x);

      // the same report again is a no-op; another value is refused
      const again = await send(api, done, 0, x, await signed(poster, done, 0, x, model0));
      assert.equal(again.errors, undefined, JSON.stringify(again.errors));
      const other = await send(api, done, 0, 1.5, await signed(poster, done, 0, 1.5, model0));
      assert.equal(code(other), "EVAL_LOSS_ALREADY_REPORTED");
      const round = await gql(api, `{ round(jobId: "${done}", round: 0) { evalLoss evalLossSource } }`);
      assert.deepEqual(round.data!.round, { evalLoss: x, evalLossSource: "poster" });

      const until = Date.now() + 5_000;
      while (events.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
      ctrl.abort();
      await stream;
      assert.deepEqual(
        events.map((e) => [e.data.evalLossReported.round, e.data.evalLossReported.evalLoss]),
        [[1, 2.875], [0, x]],
        "one event per stored report (none for the repeat)",
      );
    });

    it("the indexer's later writes of a round keep its reported eval loss", async () => {
      const store = new Store(db);
      await store.init();
      // the indexer's in-memory copy of a round predates the report (as when it runs in another process)
      const row = await store.mut<Record<string, unknown>>("round", `${done}-1`);
      row!.evalLoss = null;
      row!.evalLossSource = null;
      row!.updatedBlock = (row!.updatedBlock as bigint) + 1n; // and some event changed the round
      await db.prisma.$transaction(async (tx) => store.flush(tx as never));
      store.afterCommit();
      const r = await db.prisma.round.findUniqueOrThrow({ where: { id: `${done}-1` } });
      assert.equal(r.updatedBlock, row!.updatedBlock, "the indexer's write went through");
      assert.equal(r.evalLoss, 2.875);
      assert.equal(r.evalLossSource, "poster");
    });

    it("refuses other signers and signatures over other data (NOT_POSTER) and malformed signatures", async () => {
      const model1 = (await db.prisma.round.findUniqueOrThrow({ where: { id: `${done}-1` } })).resultModelHash as Hex;
      // (round 1 already has its loss: the signature is checked before that)
      const stranger1 = await send(api, done, 1, 2.875, await signed(stranger, done, 1, 2.875, model1));
      assert.equal(code(stranger1), "NOT_POSTER");
      assert.match(stranger1.errors![0].message, new RegExp(stranger.address));
      const otherValue = await send(api, done, 1, 2.5, await signed(poster, done, 1, 2.875, model1));
      assert.equal(code(otherValue), "NOT_POSTER", "a signature over another value recovers another address");
      const otherModel = await send(api, done, 1, 2.875, await signed(poster, done, 1, 2.875, model0));
      assert.equal(code(otherModel), "NOT_POSTER", "the signature binds the round's model");
      const otherChain = await send(api, done, 1, 2.875, await poster.signMessage({ message: evalLossMessage({ chainId: 1, market, jobId: done, round: 1, modelHash: model1, evalLoss: 2.875 }) }));
      assert.equal(code(otherChain), "NOT_POSTER");
      const short = await send(api, done, 1, 2.875, "0x1234");
      assert.equal(code(short), "INVALID_SIGNATURE");
      const notHex = await send(api, done, 1, 2.875, "hello" as Hex);
      assert.equal(code(notHex), "INVALID_BYTES");
      const helper = await reportEvalLoss(api.url, stranger, { chainId, market, jobId: done, round: 1, evalLoss: 3 }).then(
        () => assert.fail("accepted a stranger's report"),
        (e: unknown) => e,
      );
      assert.ok(helper instanceof ApiError);
      assert.equal((helper as ApiError).code, "NOT_POSTER");
    });

    it("refuses bad values, unknown jobs and rounds, and rounds that are not finalized", async () => {
      const sig = await signed(poster, done, 1, 2, model0);
      assert.equal(code(await send(api, done, 1, -0.5, sig)), "BAD_USER_INPUT");
      assert.equal(code(await send(api, done, -1, 2, sig)), "BAD_USER_INPUT");
      const inf = await gql(api, `mutation { reportEvalLoss(jobId: "${done}", round: 1, evalLoss: 1e999, signature: "${sig}") { evalLoss } }`);
      assert.equal(code(inf), "BAD_USER_INPUT");
      const notNumber = await gql(api, MUTATION, { j: done.toString(), r: 1, l: "two", s: sig });
      assert.equal(code(notNumber), "BAD_USER_INPUT", JSON.stringify(notNumber));
      assert.equal(code(await send(api, 999n, 0, 2, sig)), "JOB_NOT_FOUND");
      assert.equal(code(await send(api, done, 7, 2, sig)), "ROUND_NOT_FOUND");
      const active = await send(api, running, 0, 2, sig);
      assert.equal(code(active), "ROUND_NOT_FINALIZED");
      assert.match(active.errors![0].message, /Active/);
      const viaHelper = await reportEvalLoss(api.url, poster, { chainId, market, jobId: running, round: 0, evalLoss: 2 }).catch((e: ApiError) => e);
      assert.equal((viaHelper as ApiError).code, "ROUND_NOT_FINALIZED");
      // nothing was written by any refused report
      const rows = await db.prisma.round.findMany({ where: { evalLoss: { not: null } }, orderBy: { id: "asc" } });
      assert.deepEqual(rows.map((r) => [r.id, r.evalLoss]), [[`${done}-0`, 0.1 + 0.2], [`${done}-1`, 2.875]]);
    });
  });
}
