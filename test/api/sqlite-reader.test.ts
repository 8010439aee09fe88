/**
 * The API's SQLite reader (api/sqlite-reader.ts) against Prisma's raw path, which the API used
 * before: the same rows, typed the same way, for every indexed table and for the statement shapes the
 * API issues (computed columns, window subqueries, bound bigints, booleans and nulls).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { SqliteReader } from "../../api/sqlite-reader.ts";
import { sqliteFile, type Db } from "../../indexer/db/index.ts";
import { TABLES } from "../../indexer/store.ts";
import { startChain, startIndexer, synced, testDatabases, type Chain } from "../indexer/helpers.ts";
import { runDisputeScenario, runScenario } from "../indexer/scenario.ts";

const chain: Chain = await startChain(undefined, { accounts: 26 });
await runScenario(chain.ctx);
await runDisputeScenario(chain.ctx);
const [lite] = (await testDatabases("sqlite-reader")).filter((d) => d.kind === "sqlite");

describe("API SQLite reader", () => {
  let db: Db;
  let reader: SqliteReader;
  before(async () => {
    db = await lite.open();
    const ix = await startIndexer(db, chain);
    await synced(ix, chain);
    await ix.stop();
    reader = new SqliteReader(sqliteFile(db.url));
  });
  after(async () => {
    reader?.close();
    await db?.close();
    await lite.drop();
    await chain.close();
  });

  const both = async (text: string, params: unknown[] = []) => {
    const want = (await db.prisma.$queryRawUnsafe(text, ...params)) as Record<string, unknown>[];
    const got = reader.query(text, params);
    assert.deepStrictEqual(got, want, text);
    return got;
  };

  it("reads every indexed table as Prisma's raw path does (bigints, integers, booleans, reals, texts, nulls)", async () => {
    let rows = 0;
    const types = new Set<string>();
    for (const table of Object.keys(TABLES)) {
      const got = await both(`SELECT * FROM ${db.table(table)} t ORDER BY 1`);
      rows += got.length;
      for (const r of got) for (const v of Object.values(r)) types.add(v === null ? "null" : typeof v);
    }
    assert.ok(rows > 100, `the scenario indexed rows (${rows})`);
    assert.deepEqual([...types].sort(), ["bigint", "boolean", "null", "number", "string"]);
  });

  it("reads computed columns, window subqueries and bound parameters as Prisma's raw path does", async () => {
    const [{ c }] = await both(`SELECT COUNT(*) AS c FROM ${db.table("commitment")} t`);
    assert.ok(typeof c === "number" && c > 0);
    await both(`SELECT 1 AS x FROM ${db.table("job")} t WHERE t."id" = ? LIMIT 1`, [1n]);
    await both(`SELECT t."jobId" AS "jobId", COUNT(*) AS "__c" FROM ${db.table("round")} t WHERE t."jobId" IN (?, ?) GROUP BY t."jobId"`, [1n, 2n]);
    await both(
      `SELECT w."id", w."jobId", w."round", w."loss" FROM (SELECT t."id" AS "id", t."jobId" AS "jobId", t."round" AS "round", t."loss" AS "loss", ROW_NUMBER() OVER (PARTITION BY t."jobId", t."round" ORDER BY t."block", t."logIndex") AS "__rn" FROM ${db.table("commitment")} t WHERE t."jobId" = ?) w WHERE "__rn" <= 3 ORDER BY "__rn"`,
      [1n],
    );
    const active = await both(`SELECT t."id" AS "id", t."active" AS "active" FROM ${db.table("job_worker")} t WHERE t."active" = ? ORDER BY t."id"`, [true]);
    assert.ok(active.length > 0 && active.every((r) => r.active === true));
    await both(`SELECT t."address" AS "address" FROM ${db.table("provider")} t WHERE t."metadataURI" IS ? OR t."address" = ?`, [null, "0x0"]);
  });

  it("refuses to write", async () => {
    const [{ n }] = (await db.prisma.$queryRawUnsafe(`SELECT COUNT(*) AS n FROM ${db.table("job")}`)) as { n: unknown }[];
    assert.throws(() => reader.query(`DELETE FROM ${db.table("job")} RETURNING "id"`, []), /readonly|read-only|query_only/i);
    const [{ n: still }] = (await db.prisma.$queryRawUnsafe(`SELECT COUNT(*) AS n FROM ${db.table("job")}`)) as { n: unknown }[];
    assert.ok(Number(n) > 0);
    assert.equal(Number(still), Number(n));
  });
});
