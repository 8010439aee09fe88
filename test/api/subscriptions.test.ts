import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startApi } from "../../api/server.ts";
import { quietLog, startChain, startIndexer, synced, testDatabases, type Chain } from "../indexer/helpers.ts";
import { honestJob, setupActors } from "../indexer/scenario.ts";

const chain: Chain = await startChain();
const actors = await setupActors(chain.ctx, 3);
const dbs = await testDatabases("subs");
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
