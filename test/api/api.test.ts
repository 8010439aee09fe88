import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress } from "viem";
import { startApi, type Api } from "../../api/server.ts";
import { gql, type Gql } from "../helpers/graphql.ts";
import { statements } from "../../api/sql.ts";
import type { Db } from "../../indexer/db/index.ts";
import type { Indexer } from "../../indexer/sync.ts";
import { createJob, jobParams } from "../helpers/market.ts";
import { quietLog, startChain, startIndexer, synced, testDatabases, type Chain } from "../indexer/helpers.ts";
import { honestJob, L, runScenario, type Scenario } from "../indexer/scenario.ts";

const chain: Chain = await startChain();
const sc: Scenario = await runScenario(chain.ctx);
// more jobs for paging: open jobs by two posters
for (let i = 0; i < 6; i++) await createJob(chain.ctx, (i % 2 ? chain.ctx.others[0] : chain.ctx.others[7]) as never, jobParams({ rounds: 1 + i, maxWorkers: 2, minWorkers: 1 }));
const dbs = await testDatabases("api");
after(() => chain.close());

function code(r: Gql): string | undefined {
  return r.errors?.[0]?.extensions?.code;
}

for (const tdb of dbs) {
  describe(`GraphQL API (${tdb.kind})`, () => {
    let db: Db;
    let ix: Indexer;
    let api: Api;
    let counted: Api;
    before(async () => {
      db = await tdb.open();
      ix = await startIndexer(db, chain);
      await synced(ix, chain);
      // no polling watchers (they would add queries to the count): the in-process indexer pushes changes
      api = await startApi({ db, port: 0, log: quietLog, indexer: ix, pollMs: 3_600_000 });
      counted = await startApi({ db, port: 0, log: quietLog, cache: false, pollMs: 3_600_000 });
    });
    after(async () => {
      await api.close();
      await counted.close();
      await ix.stop();
      await db.close();
      await tdb.drop();
    });

    it("job(id): detail with workers, rounds, commitments, votes, loss curve and disputes", async () => {
      const r = await gql(api, `query($id: BigInt!) { job(id: $id) {
        id status poster token rewardPerRound escrow totalPaid rounds roundsFinalized createdAt
        workers { items { worker index active earned slashed provider { address stake } } totalCount }
        roundList { items { round status resultModelHash meanTrainLoss commitments { items { worker trainLoss trainLossRaw } } votes { items { worker agreed } } } }
        lossCurve { round meanTrainLoss evalLoss workers { worker trainLoss } }
        disputes { items { id phase worker } }
      } }`, { id: "1" });
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      const j = r.data!.job;
      assert.equal(j.id, "1");
      assert.equal(j.status, "Completed");
      assert.equal(j.poster, getAddress(sc.poster.account.address));
      assert.equal(j.token, getAddress(await L(chain.ctx).market.read.token()));
      assert.equal(j.rewardPerRound, (10n * 10n ** 18n).toString());
      assert.equal(j.escrow, "0");
      assert.equal(j.workers.items.length, 3);
      assert.equal(j.workers.totalCount, 3);
      assert.equal(j.workers.items[0].provider.address, j.workers.items[0].worker);
      assert.equal(j.roundList.items.length, 2);
      assert.equal(j.roundList.items[0].status, "Finalized");
      assert.equal(j.roundList.items[0].commitments.items.length, 3);
      assert.ok(j.roundList.items[0].votes.items.every((v: { agreed: boolean }) => v.agreed === true));
      // loss curve: worker i, round r trained to 3 - 0.25 r + 0.01 i
      assert.deepEqual(j.lossCurve.map((p: { round: number }) => p.round), [0, 1]);
      assert.deepEqual(j.lossCurve[1].workers.map((w: { trainLoss: number }) => w.trainLoss), [2.75, 2.76, 2.77]);
      assert.ok(Math.abs(j.lossCurve[0].meanTrainLoss - 3.01) < 1e-9);
      assert.equal(j.lossCurve[0].evalLoss, null);
      assert.equal(j.roundList.items[1].commitments.items[0].trainLossRaw, "2750000");
      // nobody disputed job 1 in the DisputeGame (test/indexer/disputes.test.ts indexes disputes)
      assert.deepEqual(j.disputes.items, []);
      const missing = await gql(api, `{ job(id: "999") { id } }`);
      assert.equal(missing.data!.job, null);
    });

    it("jobs: forward and backward cursor pages cover every job once, with totalCount", async () => {
      const all = await gql(api, `{ jobs(first: 100) { items { id } totalCount } }`);
      const ids = all.data!.jobs.items.map((j: { id: string }) => j.id);
      assert.equal(all.data!.jobs.totalCount, ids.length);
      assert.equal(ids.length, 10);
      const seen: string[] = [];
      let after: string | null = null;
      for (;;) {
        const p: Gql = await gql(api, `query($a: String) { jobs(first: 3, after: $a) { items { id } pageInfo { hasNextPage endCursor } totalCount } }`, { a: after });
        seen.push(...p.data!.jobs.items.map((j: { id: string }) => j.id));
        if (!p.data!.jobs.pageInfo.hasNextPage) break;
        after = p.data!.jobs.pageInfo.endCursor;
      }
      assert.deepEqual(seen, ids);
      const back: string[] = [];
      let before: string | null = null;
      for (;;) {
        const p: Gql = await gql(api, `query($b: String) { jobs(last: 4, before: $b) { items { id } pageInfo { hasPreviousPage startCursor } } }`, { b: before });
        back.unshift(...p.data!.jobs.items.map((j: { id: string }) => j.id));
        if (!p.data!.jobs.pageInfo.hasPreviousPage) break;
        before = p.data!.jobs.pageInfo.startCursor;
      }
      assert.deepEqual(back, ids);
      const desc = await gql(api, `{ jobs(first: 4, orderBy: createdAt, orderDirection: desc) { items { id createdAt } } }`);
      const created = desc.data!.jobs.items.map((j: { createdAt: string }) => BigInt(j.createdAt));
      assert.deepEqual([...created].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)), created);
      const next = await gql(api, `query($a: String) { jobs(first: 100, after: $a, orderBy: createdAt, orderDirection: desc) { items { id } } }`, {
        a: (await gql(api, `{ jobs(first: 4, orderBy: createdAt, orderDirection: desc) { pageInfo { endCursor } } }`)).data!.jobs.pageInfo.endCursor,
      });
      assert.equal(next.data!.jobs.items.length, 6);
    });

    it("jobs: filters with _in, _not, _gt/_lt/_gte/_lte on status, poster, worker, token and creation time", async () => {
      const poster = sc.poster.account.address.toLowerCase();
      const q = async (where: string) => (await gql(api, `{ jobs(first: 100, where: ${where}) { items { id status poster } totalCount } }`)).data!.jobs;
      assert.deepEqual((await q(`{ status: Completed }`)).items.map((j: { id: string }) => j.id), ["1"]);
      assert.deepEqual((await q(`{ status_in: [Cancelled, Failed] }`)).items.map((j: { id: string }) => j.id), ["2", "3", "4"]);
      assert.equal((await q(`{ status_not: Open }`)).totalCount, 4);
      assert.equal((await q(`{ poster: "${poster}" }`)).totalCount, 7);
      assert.equal((await q(`{ poster_not: "${poster}" }`)).totalCount, 3);
      const p3 = sc.providers[3].address;
      assert.deepEqual((await q(`{ workers_some: { worker: "${p3}" } }`)).items.map((j: { id: string }) => j.id), ["2", "4"]);
      assert.equal((await q(`{ workers_some: { worker_in: ["${p3}", "${sc.providers[2].address}"] } }`)).totalCount, 3);
      const token = await L(chain.ctx).market.read.token();
      assert.equal((await q(`{ token: "${token}" }`)).totalCount, 10);
      assert.equal((await q(`{ token_not: "${token}" }`)).totalCount, 0);
      assert.equal((await q(`{ id_gt: "2", id_lte: "5" }`)).totalCount, 3);
      assert.equal((await q(`{ id_in: ["1", "3"] }`)).totalCount, 2);
      const created = (await gql(api, `{ job(id: "5") { createdAt } }`)).data!.job.createdAt;
      const after = await q(`{ createdAt_gte: "${created}" }`);
      assert.ok(after.items.every((j: { id: string }) => Number(j.id) >= 5));
      assert.equal((await q(`{ createdAt_lt: "${created}" }`)).totalCount + after.totalCount, 10);
      assert.equal((await q(`{ createdAt_gt: "${created}", status: Open }`)).items.every((j: { status: string }) => j.status === "Open"), true);
    });

    it("providers, payouts, slashes, disputes, accounts; addresses checksummed on output", async () => {
      const p1 = sc.providers[1].address;
      const pr = await gql(api, `{ provider(address: "${p1.toLowerCase()}") { address stake bonded slashedTotal jobsJoined jobs(orderBy: jobId, orderDirection: desc) { items { job { id } } } account { balance } } }`);
      assert.equal(pr.data!.provider.address, getAddress(p1));
      const onchain = await L(chain.ctx).registry.read.providerOf([p1]);
      assert.equal(pr.data!.provider.stake, onchain.stake.toString());
      assert.deepEqual(pr.data!.provider.jobs.items.map((j: { job: { id: string } }) => j.job.id), ["2", "1"]);
      // job 1's two rounds, credited when its bond was released after the challenge window (not withdrawn)
      assert.equal(pr.data!.provider.account.balance, (await L(chain.ctx).market.read.balanceOf([p1])).toString());
      assert.equal(pr.data!.provider.account.balance, (20n * 10n ** 18n).toString());
      const list = await gql(api, `{ providers(first: 2, orderBy: registeredAt, orderDirection: desc) { items { address } totalCount pageInfo { hasNextPage } } }`);
      assert.equal(list.data!.providers.totalCount, 4);
      assert.equal(list.data!.providers.items[0].address, getAddress(sc.providers[3].address));
      const busy = await gql(api, `{ providers(where: { activeJobs_gte: 1 }) { totalCount } }`);
      assert.equal(busy.data!.providers.totalCount, 0);
      // provider 3 voted against the majority in job 2's round 0 and was absent from job 4's round 0
      const slashes = await gql(api, `{ slashes(where: { provider: "${sc.providers[3].address}" }, orderBy: block, orderDirection: asc) { items { reason amount jobId } totalCount } }`);
      assert.deepEqual(slashes.data!.slashes.items.map((s: { reason: string; jobId: string }) => `${s.reason}@${s.jobId}`), ["Dissent@2", "Absent@4"]);
      const none = await gql(api, `{ slashes(where: { provider: "${p1}" }) { totalCount } }`);
      assert.equal(none.data!.slashes.totalCount, 0, "an honest worker is never slashed");
      const pay = await gql(api, `{ payouts(where: { account: "${sc.providers[0].address}" }, orderBy: block, orderDirection: asc) { items { kind amount jobId } totalCount } }`);
      const kinds = pay.data!.payouts.items.map((p: { kind: string }) => p.kind);
      // rewards accrue per job and are credited once, at bond release after the challenge window (issue 13)
      assert.deepEqual(kinds.slice(0, 2), ["Reward", "Withdrawal"]);
      assert.equal(pay.data!.payouts.items[0].amount, (20n * 10n ** 18n).toString());
      const rewards = await gql(api, `{ payouts(where: { account: "${sc.providers[0].address}", kind_in: [Reward] }) { totalCount } }`);
      assert.equal(rewards.data!.payouts.totalCount, kinds.filter((k: string) => k === "Reward").length);
      // the scenario opens no dispute in the DisputeGame: the disputes query answers with none
      const ch = await gql(api, `{ disputes(where: { verdict_not: Upheld }) { items { id phase job { id } } totalCount } }`);
      assert.equal(ch.errors, undefined, JSON.stringify(ch.errors));
      assert.equal(ch.data!.disputes.totalCount, 0);
    });

    it("networkStats and _meta", async () => {
      const r = await gql(api, `{ networkStats { jobsTotal jobsByStatus { status count } tokensEscrowed tokensPaid rewardsPaid feesPaid tokensSlashed registeredProviders activeProviders eventsIndexed } _meta { chainId block blockHash syncedAt } }`);
      const s = r.data!.networkStats;
      assert.equal(s.jobsTotal, 10);
      assert.deepEqual(Object.fromEntries(s.jobsByStatus.map((x: { status: string; count: number }) => [x.status, x.count])), { Open: 6, Running: 0, Completed: 1, Cancelled: 1, Failed: 2 });
      const open = await db.prisma.job.findMany({ where: { status: "Open" } });
      assert.equal(s.tokensEscrowed, open.reduce((a, j) => a + BigInt(j.escrow), 0n).toString());
      assert.equal(BigInt(s.tokensPaid), BigInt(s.rewardsPaid) + BigInt(s.feesPaid));
      assert.ok(BigInt(s.tokensSlashed) > 0n);
      assert.equal(s.registeredProviders, 4);
      assert.equal(s.activeProviders, 0);
      assert.ok(Number(s.eventsIndexed) > 50);
      const meta = r.data!._meta;
      assert.equal(meta.chainId, 31337);
      assert.equal(BigInt(meta.block), await chain.blockNumber());
      assert.match(meta.blockHash, /^0x[0-9a-f]{64}$/);
      assert.ok(!Number.isNaN(Date.parse(meta.syncedAt)));
    });

    it("bad input is answered with coded GraphQL errors; depth, alias and cost limits", async () => {
      assert.equal(code(await gql(api, `{ jobs { items { nope } } }`)), "GRAPHQL_VALIDATION_FAILED");
      assert.equal(code(await gql(api, `{ provider(address: "0x1234") { address } }`)), "INVALID_ADDRESS");
      assert.equal(code(await gql(api, `query($a: Address!) { provider(address: $a) { address } }`, { a: "not-an-address" })), "INVALID_ADDRESS");
      assert.equal(code(await gql(api, `{ job(id: "-1") { id } }`)), "INVALID_BIGINT");
      assert.equal(code(await gql(api, `{ jobs(first: 101) { totalCount } }`)), "PAGE_SIZE_EXCEEDED");
      assert.equal(code(await gql(api, `{ jobs(first: 1, last: 1) { totalCount } }`)), "BAD_USER_INPUT");
      assert.equal(code(await gql(api, `{ jobs(after: "garbage") { totalCount } }`)), "INVALID_CURSOR");
      const deep = `{ jobs { items { workers { items { job { workers { items { job { workers { items { job { id } } } } } } } } } } } }`;
      assert.equal(code(await gql(api, deep)), "QUERY_TOO_DEEP");
      const aliases = `{ ${Array.from({ length: 21 }, (_, i) => `a${i}: _meta { block }`).join(" ")} }`;
      assert.equal(code(await gql(api, aliases)), "TOO_MANY_ALIASES");
      const costly = `{ jobs(first: 100) { items { roundList(first: 100) { items { commitments { items { worker } } votes { items { worker } } } } } } }`;
      assert.equal(code(await gql(api, costly)), "QUERY_TOO_COMPLEX");
      // a body over 1 MiB is refused without being kept
      const huge = await fetch(api.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: `{ _meta { block } }`, variables: { pad: "x".repeat(2 ** 20) } }) });
      assert.equal(huge.status, 413);
      assert.equal(((await huge.json()) as Gql).errors?.[0]?.extensions?.code, "BAD_REQUEST");
    });

    it("nested lists are batched: the number of SQL queries does not grow with the number of jobs", async () => {
      const q = (n: number) => `{ jobs(first: ${n}) { items { id workers { items { worker provider { address stake } job { id } } totalCount } roundList { items { round commitments { items { worker } } votes { items { agreed } } job { id } } } lossCurve { round workers { trainLoss } } disputes { items { id job { id } } } } } }`;
      // every statement of the API's SQL layer (api/sql.ts: all entity, relation and computed-field reads)
      const run = async (n: number) => {
        const before = statements.count;
        const r = await gql(counted, q(n));
        assert.equal(r.errors, undefined, JSON.stringify(r.errors));
        assert.equal(r.data!.jobs.items.length, n);
        return statements.count - before;
      };
      // minimum of three runs each: a background query (e.g. the change watcher after a block) must not
      // be mistaken for a per-job query; an N+1 pattern would add queries on every run
      const two = Math.min(await run(2), await run(2), await run(2));
      const ten = Math.min(await run(10), await run(10), await run(10));
      assert.ok(ten > 0, "queries were counted");
      assert.equal(ten, two, `queries for 10 jobs (${ten}) equal queries for 2 jobs (${two})`);
      assert.ok(ten <= 12, `a handful of queries, got ${ten}`);
    });

    it("the fast path (compiled queries) answers byte for byte as graphql-yoga does, and leaves every error to yoga", async () => {
      const yogaOnly = await startApi({ db, port: 0, log: quietLog, cache: false, fastPath: false, pollMs: 3_600_000 });
      after(() => yogaOnly.close());
      const job = `fragment W on JobWorker { worker index active earned slashed provider { address stake activeJobs } }`;
      const cases: [string, Record<string, unknown>?, string?][] = [
        [`{ jobs { items { id status poster token rewardPerRound escrow totalPaid rounds roundsFinalized createdAt } totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`],
        [`query($id: BigInt!) { job(id: $id) { id workers(first: 2) { items { ...W } totalCount } roundList(orderDirection: desc) { items { round status resultModelHash meanTrainLoss joined { index } departed { index } commitments { items { worker trainLoss trainLossRaw } } votes(first: 2) { items { worker agreed } } } } lossCurve { round meanTrainLoss evalLoss workers { worker trainLoss } } disputes { items { id phase worker } } } } ${job}`, { id: "1" }],
        [`query Named($n: Int = 2, $skip: Boolean!) { a: jobs(first: $n, orderBy: rewardPerRound, orderDirection: desc) { items { id __typename rewardPerRound @skip(if: $skip) ... on Job { status } } } b: networkStats { jobsTotal tokensEscrowed } }`, { skip: true }, "Named"],
        [`query One { _meta { chainId block blockHash } } query Two { providers(where: { OR: [{ stake_gt: "0" }, { activeJobs_gte: 1 }] }) { items { address stake } } }`, {}, "Two"],
        [`{ jobs(last: 2, orderBy: createdAt) { items { id createdAt } pageInfo { hasPreviousPage startCursor } } }`],
        [`{ payouts(first: 5) { items { account amount job { id status } } totalCount } slashes { totalCount } stakeChanges(first: 3) { items { provider kind amount } } }`],
        [`{ __type(name: "Job") { name fields { name } } __schema { queryType { name } } }`],
        [`{ job(id: "999") { id } }`],
        // BigInt literals (moved into variables for the compiled query), in lists and nested filters, and a BigInt default
        [`query($from: BigInt = "2") { jobs(where: { id_in: ["1", 3, "5"], OR: [{ createdAt_gt: "0" }, { id_gte: $from }] }) { items { id } } job(id: 2) { id } }`],
        [`fragment J on Job { id workers(where: { jobId: "1" }) { totalCount } } { jobs(where: { id_lt: "3" }) { items { ...J } } }`],
        // errors: yoga answers (codes, masking, status)
        [`{ jobs { items { nope } } }`],
        [`{ jobs(after: "garbage") { totalCount } }`],
        [`{ jobs(first: 101) { totalCount } }`],
        [`query($a: Address!) { provider(address: $a) { address } }`, { a: "not-an-address" }],
        [`query($n: Int!) { jobs(first: $n) { totalCount } }`, {}],
        [`{ jobs { totalCount `],
        [`query A { _meta { block } } query B { _meta { block } }`],
      ];
      // every header but the date and the request id; a browser dApp on another origin sends Origin (CORS)
      const ask = async (url: string, body: string, origin?: string) => {
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...(origin ? { origin } : {}) }, body });
        const headers = [...res.headers].filter(([k]) => k !== "date" && k !== "x-request-id");
        return { status: res.status, headers, body: await res.text() };
      };
      const answered = counted.plans.answered;
      const compiled = counted.plans.compiled;
      for (const [query, variables, operationName] of cases) {
        const body = JSON.stringify({ query, variables, operationName });
        const slow = await ask(yogaOnly.url, body);
        // a document's first request runs through graphql-js, the next ones compiled (graphql-jit)
        assert.deepEqual(await ask(counted.url, body), slow, `first request: ${query}`);
        assert.deepEqual(await ask(counted.url, body, "https://dapp.example"), await ask(yogaOnly.url, body, "https://dapp.example"), `compiled, with an Origin: ${query}`);
      }
      // the ten successful queries took the fast path twice each; every error went to yoga. Compiled: the
      // ten, and the four valid documents whose errors arise in execution (cursor, page size, variables)
      assert.equal(counted.plans.answered - answered, 20);
      assert.equal(counted.plans.compiled - compiled, 14);
      assert.equal(yogaOnly.plans.answered, 0);
    });

    it("identical queries between two blocks are answered from the per-block cache; GraphiQL is served", async () => {
      const hits = api.cache.hits;
      await gql(api, `{ jobs(first: 7) { totalCount } }`);
      await gql(api, `{ jobs(first: 7) { totalCount } }`);
      assert.ok(api.cache.hits > hits);
      // a hit answers a browser on another origin with the CORS headers yoga would send
      const hit = await fetch(api.url, { method: "POST", headers: { "content-type": "application/json", origin: "https://dapp.example" }, body: JSON.stringify({ query: `{ jobs(first: 7) { totalCount } }`, variables: {} }) });
      assert.equal(hit.headers.get("access-control-allow-origin"), "https://dapp.example");
      assert.equal(hit.headers.get("access-control-allow-credentials"), "true");
      assert.ok(api.cache.hits > hits + 1);
      const page = await fetch(api.url, { headers: { accept: "text/html" } });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /graphiql/i);
    });

    it("a new job shows up after it is mined (cache invalidated by the new block)", async () => {
      const snapshot = await chain.request<string>("evm_snapshot");
      after(() => chain.request("evm_revert", [snapshot])); // the next database variant sees the same chain
      const before = (await gql(api, `{ jobs { totalCount } }`)).data!.jobs.totalCount;
      const id = await honestJob(chain.ctx, sc.poster, sc.providers.slice(0, 2), 1);
      await synced(ix, chain);
      let total = before;
      for (let i = 0; i < 40 && total === before; i++) {
        await new Promise((r) => setTimeout(r, 50));
        total = (await gql(api, `{ jobs { totalCount } }`)).data!.jobs.totalCount;
      }
      assert.equal(total, before + 1);
      assert.equal((await gql(api, `{ job(id: "${id}") { status } }`)).data!.job.status, "Completed");
    });
  });
}
