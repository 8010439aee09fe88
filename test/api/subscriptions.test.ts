import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { startApi } from "../../api/server.ts";
import { quietLog, startChain, startIndexer, synced, testDatabases, type Chain } from "../indexer/helpers.ts";
import { honestJob, setupActors } from "../indexer/scenario.ts";

const chain: Chain = await startChain();
const actors = await setupActors(chain.ctx, 3);
const dbs = await testDatabases("subs");
const wsDbs = await testDatabases("subsws");
after(() => chain.close());

/** Opens a GraphQL subscription over Server-Sent Events and collects its events. */
function subscribe(url: string, query: string) {
  const events: any[] = [];
  const ctrl = new AbortController();
  const done = (async () => {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "text/event-stream" }, body: JSON.stringify({ query }), signal: ctrl.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const reader = res.body!.getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += new TextDecoder().decode(value);
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const chunk = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = chunk.split("\n").find((l) => l.startsWith("data:"));
        if (data && chunk.includes("event: next")) events.push(JSON.parse(data.slice(5)));
      }
    }
  })().catch((e: Error) => {
    if (e.name !== "AbortError") throw e;
  });
  return { events, close: () => (ctrl.abort(), done) };
}

for (const tdb of dbs) {
  describe(`subscriptions over SSE (${tdb.kind})`, () => {
    it("job changes, finalized rounds and new commitments are pushed as they are indexed", async () => {
      const db = await tdb.open();
      const ix = await startIndexer(db, chain);
      await synced(ix, chain);
      const api = await startApi({ db, port: 0, log: quietLog, pollMs: 100 });
      const next = (await db.prisma.job.count()) + 1;
      const jobs = subscribe(api.url, `subscription { jobChanged(id: "${next}") { id status currentRound } }`);
      const rounds = subscribe(api.url, `subscription { roundFinalized { jobId round resultModelHash } }`);
      const commits = subscribe(api.url, `subscription { newCommitment(jobId: "${next}") { jobId round worker trainLoss } }`);
      try {
        await new Promise((r) => setTimeout(r, 300));
        const id = await honestJob(chain.ctx, actors.poster, actors.providers, 2);
        assert.equal(id, BigInt(next));
        await synced(ix, chain);
        const until = Date.now() + 10_000;
        while (Date.now() < until && (commits.events.length < 6 || rounds.events.length < 2 || !jobs.events.some((e) => e.data.jobChanged.status === "Completed"))) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(commits.events.length, 6, "3 workers × 2 rounds");
        assert.ok(commits.events.every((e) => e.data.newCommitment.jobId === String(next)));
        assert.deepEqual(rounds.events.map((e) => e.data.roundFinalized.round), [0, 1]);
        assert.equal(jobs.events.at(-1).data.jobChanged.status, "Completed");
        assert.ok(jobs.events.every((e) => e.data.jobChanged.id === String(next)));
      } finally {
        await jobs.close();
        await rounds.close();
        await commits.close();
        await api.close();
        await ix.stop();
        await db.close();
        await tdb.drop();
      }
    });
  });
}

/** A graphql-ws client (the protocol of Apollo Client and urql) collecting a subscription's results. */
function wsSubscribe(httpUrl: string, query: string, variables: Record<string, unknown> = {}) {
  const client = createClient({ url: httpUrl.replace(/^http/, "ws"), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
  const events: any[] = [];
  const errors: unknown[] = [];
  const dispose = client.subscribe({ query, variables }, { next: (v) => events.push(v), error: (e) => errors.push(e), complete: () => {} });
  return {
    events,
    errors,
    close: async () => {
      dispose();
      await client.dispose();
    },
  };
}

async function until(cond: () => boolean, ms = 20_000, what = "condition") {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const tdb of wsDbs) {
  describe(`subscriptions over WebSocket (graphql-ws) and live queries (${tdb.kind})`, () => {
    it("graphql-ws delivers the same events as SSE; a live list query is sent again only when a block changes its result", async () => {
      const db = await tdb.open();
      const ix = await startIndexer(db, chain);
      await synced(ix, chain);
      const api = await startApi({ db, port: 0, log: quietLog, indexer: ix, pollMs: 100 });
      const next = (await db.prisma.job.count()) + 1;
      const commits = wsSubscribe(api.url, `subscription($j: BigInt) { newCommitment(jobId: $j) { jobId round worker trainLoss } }`, { j: String(next) });
      const live = wsSubscribe(api.url, `subscription { live { jobs(where: { status_in: [Running, Completed] }, orderBy: id, orderDirection: desc, first: 3) { items { id status currentRound } totalCount } } }`);
      const liveSse = subscribe(api.url, `subscription { live { job(id: "${next}") { status roundsFinalized } } }`);
      const bad = wsSubscribe(api.url, `subscription { newCommitment { nope } }`);
      try {
        await until(() => live.events.length >= 1 && liveSse.events.length >= 1, 20_000, "the live queries' first results");
        const first = live.events[0].data.live.jobs;
        assert.ok(first.items.every((j: { id: string }) => j.id !== String(next)));
        assert.equal(liveSse.events[0].data.live.job, null, "the job does not exist yet");
        await until(() => bad.errors.length > 0, 5_000, "the invalid subscription's error");
        assert.match(JSON.stringify(bad.errors[0]), /Cannot query field/);
        // blocks that do not change the live result send nothing
        await chain.mine(3);
        await synced(ix, chain);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(live.events.length, 1, "unchanged result: not sent again");
        const id = await honestJob(chain.ctx, actors.poster, actors.providers, 2);
        assert.equal(id, BigInt(next));
        await synced(ix, chain);
        await until(() => commits.events.length >= 6, 20_000, "6 commitments over graphql-ws");
        await until(() => live.events.at(-1).data.live.jobs.items[0]?.status === "Completed", 20_000, "the live list to show the completed job");
        await until(() => liveSse.events.at(-1)?.data.live.job?.status === "Completed", 20_000, "the live job over SSE");
        assert.equal(commits.events.length, 6, "3 workers × 2 rounds");
        assert.ok(commits.events.every((e) => e.data.newCommitment.jobId === String(next)));
        const last = live.events.at(-1).data.live.jobs;
        assert.equal(last.items[0].id, String(next));
        assert.equal(last.totalCount, first.totalCount + 1);
        // consecutive live results always differ
        for (let i = 1; i < live.events.length; i++) assert.notDeepEqual(live.events[i], live.events[i - 1]);
        assert.deepEqual(commits.errors, []);
      } finally {
        await commits.close();
        await live.close();
        await bad.close();
        await liveSse.close();
        await api.close();
        await ix.stop();
        await db.close();
        await tdb.drop();
      }
    });
  });
}
