/**
 * Read-only SQL over HTTP (POST/GET /sql) on a read-only PostgreSQL role: answers queries, caps rows,
 * stops slow statements, and refuses every kind of write (through the endpoint and directly as the role).
 * PostgreSQL only (the feature needs it): without PostgreSQL the test says it did not run.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { startApi, type Api } from "../../api/server.ts";
import { createReadOnlyRole } from "../../api/sql-http.ts";
import type { Db } from "../../indexer/db/index.ts";
import { quietLog, testDatabases } from "../indexer/helpers.ts";

const pgDb = (await testDatabases("sql")).find((d) => d.kind === "postgresql");
if (!pgDb) console.log("# PostgreSQL is not reachable: SQL over HTTP (PostgreSQL only) was NOT tested");

describe("SQL over HTTP on a read-only role", { skip: !pgDb && "PostgreSQL unavailable" }, () => {
  let db: Db;
  let api: Api;
  const role = `diloco_reader_${process.pid}`;
  let roleUrl: string;
  before(async () => {
    db = await pgDb!.open();
    await db.prisma.account.createMany({ data: [1, 2, 3].map((i) => ({ address: `0x${String(i).repeat(40)}`, credited: `${i}000000000000000000000`, withdrawn: "0", balance: "5", updatedBlock: BigInt(i) })) });
    await createReadOnlyRole(pgDb!.url, role);
    const u = new URL(pgDb!.url);
    u.username = role;
    roleUrl = u.toString();
    api = await startApi({ db, port: 0, log: quietLog, sqlUrl: roleUrl });
  });
  after(async () => {
    await api?.close();
    await db?.close();
    await pgDb!.drop();
    const admin = new pg.Client({ connectionString: pgDb!.url.replace(/\?.*$/, "") });
    await admin.connect();
    await admin.query(`DROP OWNED BY ${role}`).catch(() => {});
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });
  const sqlUrl = () => api.url.replace(/\/graphql$/, "/sql");
  const post = async (body: unknown) => {
    const r = await fetch(sqlUrl(), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as any };
  };

  it("answers SELECTs (POST with parameters, GET), with exact numbers", async () => {
    const r = await post({ sql: 'SELECT address, credited, "updatedBlock" FROM account WHERE "updatedBlock" >= $1 ORDER BY address;', params: [2] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.columns, ["address", "credited", "updatedBlock"]);
    assert.deepEqual(r.body.rows, [[`0x${"2".repeat(40)}`, "2000000000000000000000", "2"], [`0x${"3".repeat(40)}`, "3000000000000000000000", "3"]]);
    assert.equal(r.body.truncated, false);
    const g = await fetch(`${sqlUrl()}?sql=${encodeURIComponent("SELECT count(*) AS n FROM account")}`);
    assert.deepEqual(((await g.json()) as any).rows, [["3"]]);
  });

  it("caps the rows and says so; stops slow statements", async () => {
    const many = await post({ sql: "SELECT i FROM generate_series(1, 5000) AS i" });
    assert.equal(many.body.rowCount, 1000);
    assert.equal(many.body.rows.length, 1000);
    assert.equal(many.body.truncated, true);
    const slow = await post({ sql: "SELECT pg_sleep(30)" });
    assert.equal(slow.status, 400);
    assert.equal(slow.body.code, "SQL_TIMEOUT");
    assert.match(slow.body.error, /5000 ms/);
  });

  it("refuses writes however they are phrased, and bad requests with a clear message", async () => {
    for (const sql of [
      "DELETE FROM account",
      "INSERT INTO account VALUES ('x', '1', '1', '1', 1)",
      "WITH d AS (DELETE FROM account RETURNING *) SELECT * FROM d",
      "SELECT 1; DELETE FROM account",
      "SELECT 1) AS q; DELETE FROM account; SELECT * FROM (SELECT 1",
      "SELECT set_config('default_transaction_read_only', 'off', false)",
    ]) {
      const r = await post({ sql });
      if (r.status === 200) assert.ok(!/DELETE|INSERT/.test(sql), `${sql} answered 200`);
      else assert.equal(r.body.code, "SQL_ERROR", sql);
    }
    assert.equal((await post({ sql: "SELECT count(*) FROM account" })).body.rows[0][0], "3", "nothing was deleted");
    assert.equal((await post({})).body.code, "BAD_REQUEST");
    assert.equal((await post({ sql: "x".repeat(20_000) })).body.code, "BAD_REQUEST");
    const notJson = await fetch(sqlUrl(), { method: "POST", body: "SELECT 1" });
    assert.equal(notJson.status, 400);
    // the role itself cannot write, even outside the endpoint's read-only transaction
    const direct = new pg.Client({ connectionString: roleUrl.replace(/\?.*$/, "") });
    await direct.connect();
    try {
      await direct.query(`SET search_path = "${new URL(pgDb!.url).searchParams.get("schema")}"`);
      await direct.query("SET default_transaction_read_only = off");
      await assert.rejects(direct.query("DELETE FROM account"), /permission denied/);
    } finally {
      await direct.end();
    }
  });

  it("is off (404 with the reason) when the API has no SQL_DATABASE_URL", async () => {
    const plain = await startApi({ db, port: 0, log: quietLog });
    try {
      const r = await fetch(plain.url.replace(/\/graphql$/, "/sql?sql=SELECT%201"));
      assert.equal(r.status, 404);
      assert.match(((await r.json()) as { error: string }).error, /SQL_DATABASE_URL/);
    } finally {
      await plain.close();
    }
  });
});
