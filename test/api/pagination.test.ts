/**
 * Cursor pagination, orders and filters of the generated API, checked exhaustively against an
 * in-memory reference on random rows (ties, NULLs, amounts of different lengths, mixed-case
 * addresses), over real HTTP on SQLite and PostgreSQL: every combination of first/last with
 * after/before (and both cursors), page sizes 0…N, both directions, several filters.
 *
 * Reference semantics (api/sql.ts): rows ordered by the orderBy field (NULLs after values in
 * ascending order) then by id in the same direction; the window is the rows matching `where`
 * strictly between the cursors; `first` takes the window's head, `last` its tail; hasPreviousPage /
 * hasNextPage say whether matching rows precede / follow the page.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, keccak256, toHex } from "viem";
import { startApi, type Api } from "../../api/server.ts";
import type { Db } from "../../indexer/db/index.ts";
import { createLogger } from "../../indexer/log.ts";
import { quietLog, testDatabases } from "../indexer/helpers.ts";

const dbs = await testDatabases("pages");

/** A deterministic PRNG (mulberry32): the same rows on every run and database. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const N = 37;
const STATUSES = ["Open", "Running", "Completed", "Cancelled", "Failed"];
interface Ref {
  id: bigint;
  status: string;
  poster: string;
  rewardPerRound: string;
  currentRound: number | null;
  startedAt: bigint | null;
  createdAt: bigint;
}

function makeRows(): Ref[] {
  const r = rng(12);
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
  const posters = Array.from({ length: 6 }, (_, i) => getAddress(keccak256(toHex(`poster${i}`)).slice(0, 42)));
  return Array.from({ length: N }, (_, i) => ({
    id: BigInt(i * 3 + 1 + Math.floor(r() * 2)),
    status: pick(STATUSES),
    poster: pick(posters),
    // amounts of 1 to 25 digits: text order differs from numeric order
    rewardPerRound: BigInt(Math.floor(r() * 1000) + 1).toString() + "0".repeat(Math.floor(r() * 22)),
    currentRound: r() < 0.3 ? null : Math.floor(r() * 5),
    startedAt: r() < 0.3 ? null : 1_700_000_000n + BigInt(Math.floor(r() * 4)),
    createdAt: 1_600_000_000n + BigInt(Math.floor(r() * 6)), // many ties
  }));
}

const ORDERS = ["id", "createdAt", "rewardPerRound", "currentRound", "startedAt", "poster", "status"] as const;
type Order = (typeof ORDERS)[number];

function cmpVal(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null) return 1; // NULLs after values (ascending)
  if (b === null) return -1;
  if (typeof a === "bigint" || typeof a === "number") return a < (b as bigint) ? -1 : 1;
  return (a as string) < (b as string) ? -1 : 1; // code-unit order (COLLATE "C")
}

function refSort(rows: Ref[], order: Order, dir: "asc" | "desc"): Ref[] {
  const key = (x: Ref) => (order === "rewardPerRound" ? BigInt(x.rewardPerRound) : x[order]);
  const s = dir === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => s * (cmpVal(key(a), key(b)) || cmpVal(a.id, b.id)));
}

type Where = { gql: string; fn: (x: Ref) => boolean };
function filters(rows: Ref[]): Where[] {
  const mid = refSort(rows, "rewardPerRound", "asc")[Math.floor(N / 2)].rewardPerRound;
  const frag = rows[0].poster.slice(5, 9).toLowerCase();
  return [
    { gql: "{}", fn: () => true },
    { gql: "{ status_in: [Open, Running] }", fn: (x) => x.status === "Open" || x.status === "Running" },
    { gql: `{ rewardPerRound_gt: "${mid}" }`, fn: (x) => BigInt(x.rewardPerRound) > BigInt(mid) },
    { gql: "{ OR: [{ currentRound: null }, { currentRound_gte: 3 }] }", fn: (x) => x.currentRound === null || x.currentRound >= 3 },
    { gql: `{ poster_contains: "${frag}", status_not: Failed }`, fn: (x) => x.poster.toLowerCase().includes(frag) && x.status !== "Failed" },
  ];
}

async function gql(api: Api, query: string): Promise<any> {
  const res = await fetch(api.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  return res.json();
}

for (const tdb of dbs) {
  describe(`cursor pagination against an in-memory reference (${tdb.kind})`, () => {
    let db: Db;
    let api: Api;
    const rows = makeRows();
    before(async () => {
      db = await tdb.open();
      await db.prisma.job.createMany({
        data: rows.map((x) => ({
          id: x.id,
          poster: x.poster,
          token: x.poster,
          status: x.status,
          specHash: `0x${"11".repeat(32)}`,
          initialModelHash: `0x${"22".repeat(32)}`,
          modelHash: `0x${"33".repeat(32)}`,
          rewardPerRound: x.rewardPerRound,
          workerBond: "0",
          challengeBond: "0",
          rounds: 5,
          maxWorkers: 3,
          minWorkers: 1,
          quorumBps: 6667,
          penaltyBps: 0,
          joinWindow: 1,
          commitWindow: 1,
          voteWindow: 1,
          challengeWindow: 1,
          feePerReward: "0",
          escrowInitial: "0",
          escrow: "0",
          totalPaid: "0",
          refunded: "0",
          slashed: "0",
          workerCount: 0,
          activeWorkerCount: 0,
          currentRound: x.currentRound,
          roundsFinalized: 0,
          createdAt: x.createdAt,
          joinDeadline: 0n,
          startedAt: x.startedAt,
          createdBlock: 1n,
          txHash: `0x${"44".repeat(32)}`,
          updatedBlock: 1n,
        })),
      });
      api = await startApi({ db, port: 0, log: quietLog, cache: false, pollMs: 3_600_000 });
    });
    after(async () => {
      await api.close();
      await db.close();
      await tdb.drop();
    });

    it("every order, direction, filter, page size and cursor combination matches the reference", async () => {
      const r = rng(7);
      let checked = 0;
      for (const order of ORDERS) {
        for (const dir of ["asc", "desc"] as const) {
          // a real cursor for sampled rows of the ordered list (unfiltered, so cursors at rows outside the filter are tried too)
          const sorted = refSort(rows, order, dir);
          const every = (await gql(api, `{ jobs(orderBy: ${order}, orderDirection: ${dir}, first: 100) { items { id } } }`)).data.jobs.items.map((x: { id: string }) => x.id);
          assert.deepEqual(every, sorted.map((x) => String(x.id)), `order by ${order} ${dir}`);
          const cursorAt = new Map<string, string>();
          for (let i = 0; i < sorted.length; i += 1 + Math.floor(r() * 3)) {
            cursorAt.set(String(sorted[i].id), (await gql(api, `{ jobs(orderBy: ${order}, orderDirection: ${dir}, first: ${i + 1}) { pageInfo { endCursor } } }`)).data.jobs.pageInfo.endCursor);
          }
          for (const w of filters(rows)) {
            const args = `where: ${w.gql}, orderBy: ${order}, orderDirection: ${dir}`;
            const full = sorted.filter(w.fn);
            const all = (await gql(api, `{ jobs(${args}, first: 100) { items { id } totalCount pageInfo { hasNextPage hasPreviousPage } } }`)).data.jobs;
            assert.deepEqual(all.items.map((x: { id: string }) => x.id), full.map((x) => String(x.id)), `order ${args}`);
            assert.equal(all.totalCount, full.length);
            assert.deepEqual(all.pageInfo, { hasNextPage: false, hasPreviousPage: false });
            const withCursor = [...cursorAt.keys()];
            const pos = (id: string) => sorted.findIndex((x) => String(x.id) === id);
            for (let k = 0; k < 6; k++) {
              const a = r() < 0.5 ? withCursor[Math.floor(r() * withCursor.length)] : undefined;
              const b = r() < 0.5 ? withCursor[Math.floor(r() * withCursor.length)] : undefined;
              const size = [0, 1, 2, 3, 5, 8, 40][Math.floor(r() * 7)];
              const useLast = r() < 0.5;
              // reference: positions in the full (filtered) list
              const fullPos = full.map((x) => pos(String(x.id)));
              const lo = a === undefined ? -1 : pos(a);
              const hi = b === undefined ? Infinity : pos(b);
              const windowIdx = fullPos.map((p, i) => [p, i] as const).filter(([p]) => p > lo && p < hi).map(([, i]) => i);
              let s: number;
              let e: number;
              if (!useLast) {
                s = windowIdx.length ? windowIdx[0] : fullPos.filter((p) => p <= lo).length;
                e = s + Math.min(size, windowIdx.length);
              } else {
                e = windowIdx.length ? windowIdx[windowIdx.length - 1] + 1 : fullPos.filter((p) => p < hi).length;
                s = e - Math.min(size, windowIdx.length);
              }
              const want = full.slice(s, e).map((x) => String(x.id));
              const q = `{ jobs(${args}, ${useLast ? "last" : "first"}: ${size}${a ? `, after: "${cursorAt.get(a)}"` : ""}${b ? `, before: "${cursorAt.get(b)}"` : ""}) { items { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
              const got = await gql(api, q);
              assert.equal(got.errors, undefined, JSON.stringify(got.errors));
              const page = got.data.jobs;
              const label = `${q}\nwant ${want} (s=${s}, e=${e}, ${full.length} rows)`;
              assert.deepEqual(page.items.map((x: { id: string }) => x.id), want, label);
              assert.equal(page.pageInfo.hasPreviousPage, s > 0, `hasPreviousPage: ${label}`);
              assert.equal(page.pageInfo.hasNextPage, e < full.length, `hasNextPage: ${label}`);
              // the page's own cursors continue exactly where it ends
              if (want.length && e < full.length) {
                const next = (await gql(api, `{ jobs(${args}, first: 1, after: "${page.pageInfo.endCursor}") { items { id } } }`)).data.jobs.items;
                assert.deepEqual(next.map((x: { id: string }) => x.id), [String(full[e].id)]);
              }
              checked++;
            }
          }
        }
      }
      assert.ok(checked >= 400, `${checked} pages checked`);
    });

    it("nested list pages (one statement for all parents) match the reference, with filters, both ends, counts and relation filters", async () => {
      const r = rng(99);
      const workers: { jobId: bigint; index: number; active: boolean; earned: string; worker: string }[] = [];
      for (const j of rows) {
        const n = Math.floor(r() * 6);
        for (let i = 0; i < n; i++) workers.push({ jobId: j.id, index: i, active: r() < 0.6, earned: String(Math.floor(r() * 3) * 10 ** Math.floor(r() * 20)), worker: rows[Math.floor(r() * N)].poster });
      }
      await db.prisma.jobWorker.createMany({
        data: workers.map((w) => ({ id: `${w.jobId}-${w.index}`, jobId: w.jobId, worker: w.worker, index: w.index, bond: "1", active: w.active, bondReleased: false, earned: w.earned, slashed: "0", commits: 0, openDisputes: 0, joinedBlock: 1n, joinedAt: 1n, updatedBlock: 1n })),
      });
      try {
        for (const [dir, size, end, where] of [["asc", 2, "first", "{}"], ["desc", 1, "last", "{ active: true }"], ["desc", 3, "first", "{ active: true }"], ["asc", 0, "first", "{}"], ["asc", 10, "last", "{ active: false }"]] as const) {
          const q = `{ jobs(first: 100) { items { id workers(${end}: ${size}, orderBy: index, orderDirection: ${dir}, where: ${where}) { items { index } totalCount pageInfo { hasNextPage hasPreviousPage } } } } }`;
          const got = (await gql(api, q)).data.jobs.items;
          for (const j of got) {
            const mine = workers.filter((w) => String(w.jobId) === j.id && (where === "{}" || w.active === where.includes("true"))).sort((a, b) => (dir === "asc" ? a.index - b.index : b.index - a.index));
            const want = end === "first" ? mine.slice(0, size) : mine.slice(Math.max(0, mine.length - size));
            const label = `${q} job ${j.id}`;
            assert.deepEqual(j.workers.items.map((w: { index: number }) => w.index), want.map((w) => w.index), label);
            assert.equal(j.workers.totalCount, mine.length, label);
            assert.equal(j.workers.pageInfo.hasNextPage, end === "first" ? mine.length > size : false, label);
            assert.equal(j.workers.pageInfo.hasPreviousPage, end === "last" ? mine.length > size : false, label);
          }
        }
        // a list-relation filter (some worker earned more than 1e15) and the reverse to-one relation
        const rich = (await gql(api, `{ jobs(first: 100, where: { workers_some: { earned_gt: "1000000000000000" } }) { items { id } } }`)).data.jobs.items.map((x: { id: string }) => x.id);
        assert.deepEqual(rich, [...new Set(workers.filter((w) => BigInt(w.earned) > 10n ** 15n).map((w) => String(w.jobId)))].sort((a, b) => Number(a) - Number(b)));
        const none = (await gql(api, `{ jobs(first: 100, where: { workers_none: {} }) { totalCount } }`)).data.jobs.totalCount;
        assert.equal(none, rows.filter((j) => !workers.some((w) => w.jobId === j.id)).length);
        const back = (await gql(api, `{ jobWorkers(first: 3, orderBy: earned, orderDirection: desc) { items { earned job { id } } } }`)).data.jobWorkers.items;
        const top = [...workers].sort((a, b) => (BigInt(b.earned) > BigInt(a.earned) ? 1 : BigInt(b.earned) < BigInt(a.earned) ? -1 : a.jobId < b.jobId ? 1 : -1));
        assert.deepEqual(back.map((w: { earned: string }) => w.earned), top.slice(0, 3).map((w) => w.earned));
        assert.ok(back.every((w: { job: { id: string } | null }) => w.job !== null));
      } finally {
        await db.prisma.jobWorker.deleteMany({});
      }
    });

    it("first with before pages inside the window (the old bug): ids 1-2 before a cursor at the third job", async () => {
      const sorted = refSort(rows, "id", "asc");
      const c = (await gql(api, `{ jobs(first: 2) { pageInfo { endCursor } } }`)).data.jobs.pageInfo.endCursor;
      const p = (await gql(api, `{ jobs(first: 5, before: "${(await gql(api, `{ jobs(first: 1, after: "${c}") { pageInfo { endCursor } } }`)).data.jobs.pageInfo.endCursor}") { items { id } pageInfo { hasNextPage hasPreviousPage } } }`)).data.jobs;
      assert.deepEqual(p.items.map((x: { id: string }) => x.id), sorted.slice(0, 2).map((x) => String(x.id)));
      assert.deepEqual(p.pageInfo, { hasNextPage: true, hasPreviousPage: false });
    });

    it("first: 0 says whether rows exist; page-size errors name the limit; bad cursors, out-of-range numbers and unexpected errors are coded", async () => {
      const zero = (await gql(api, `{ jobs(first: 0) { items { id } totalCount pageInfo { hasNextPage hasPreviousPage } } }`)).data.jobs;
      assert.deepEqual(zero, { items: [], totalCount: N, pageInfo: { hasNextPage: true, hasPreviousPage: false } });
      const big = await gql(api, `{ jobs(first: 100000) { items { id } } }`);
      assert.equal(big.errors[0].extensions.code, "PAGE_SIZE_EXCEEDED");
      assert.equal(big.errors[0].extensions.limit, 100);
      assert.match(big.errors[0].message, /limit of 100/);
      const code = async (q: string) => (await gql(api, q)).errors?.[0]?.extensions?.code;
      const good = (await gql(api, `{ jobs(first: 1, orderBy: createdAt) { pageInfo { endCursor } } }`)).data.jobs.pageInfo.endCursor as string;
      const forge = (v: unknown[]) => Buffer.from(JSON.stringify(v)).toString("base64url");
      for (const bad of ["garbage!", "", forge(["createdAt", 5, "1"]), forge(["createdAt", "1", "x"]), forge(["createdAt"]), forge(["createdAt", "99999999999999999999", "1"]), forge({ a: 1 } as never), Buffer.from("not json").toString("base64url")]) {
        assert.equal(await code(`{ jobs(orderBy: createdAt, after: ${JSON.stringify(bad)}) { items { id } } }`), "INVALID_CURSOR", bad);
      }
      assert.equal(await code(`{ jobs(orderBy: id, after: "${good}") { items { id } } }`), "INVALID_CURSOR", "a cursor of another order");
      assert.equal(await code(`{ jobs(orderBy: createdAt, before: "${good}") { items { id } } }`), undefined);
      for (const q of [
        `{ job(id: "99999999999999999999999999999") { id } }`,
        `{ jobs(where: { id_gt: "9223372036854775808" }) { items { id } } }`,
        `{ jobs(where: { createdAt_gt: "99999999999999999999" }) { items { id } } }`,
        `{ jobs(where: { id_in: ["1", "99999999999999999999"] }) { items { id } } }`,
      ]) {
        const res = await gql(api, q);
        assert.equal(res.errors?.[0]?.extensions?.code, "BAD_USER_INPUT", `${q}: ${JSON.stringify(res.errors)}`);
        assert.match(res.errors[0].message, /out of range/);
      }
      // an unexpected failure (here: a table gone under the API) is coded, carries a request id, and is logged with it
      const lines: string[] = [];
      const broken = await startApi({ db, port: 0, log: createLogger({ svc: "api" }, "info", (l) => lines.push(l)), cache: false, pollMs: 3_600_000 });
      try {
        await db.prisma.$executeRawUnsafe(`ALTER TABLE ${db.table("stake_change")} RENAME TO stake_change_gone`);
        const res = await fetch(broken.url, { method: "POST", headers: { "content-type": "application/json", "x-request-id": "req-42" }, body: JSON.stringify({ query: "{ stakeChanges { totalCount } }" }) });
        assert.equal(res.headers.get("x-request-id"), "req-42");
        const body = (await res.json()) as any;
        assert.equal(body.errors[0].extensions.code, "INTERNAL_SERVER_ERROR");
        assert.equal(body.errors[0].extensions.requestId, "req-42");
        assert.match(body.errors[0].message, /request id req-42/);
        assert.doesNotMatch(body.errors[0].message, /stake_change|prisma/i, "no internals leak to the client");
        const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "unexpected error");
        assert.equal(logged?.requestId, "req-42");
        assert.match(logged.error, /stake_change/);
      } finally {
        await db.prisma.$executeRawUnsafe(`ALTER TABLE ${db.table("stake_change_gone")} RENAME TO stake_change`);
        await broken.close();
      }
      // amounts are any size: no range error, numeric comparison
      const huge = await gql(api, `{ jobs(where: { rewardPerRound_gt: "99999999999999999999999999999" }) { totalCount } }`);
      assert.equal(huge.data.jobs.totalCount, rows.filter((x) => BigInt(x.rewardPerRound) > 99999999999999999999999999999n).length);
    });
  });
}
