/**
 * The API's pipelined PostgreSQL reader (api/pg-reader.ts) on a real PostgreSQL: every statement of
 * a batch gets its own rows, a failing statement fails alone, the connection limit holds, a killed
 * connection is replaced, and a closed reader refuses work. Without PostgreSQL the test says it did not run.
 */
import os from "node:os";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { PgReader } from "../../api/pg-reader.ts";
import { postgresAvailable } from "../indexer/helpers.ts";

const url = (process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test").replace(/\?.*$/, "");
const available = await postgresAvailable();
if (!available) console.log("# PostgreSQL is not reachable: the pipelined PostgreSQL reader was NOT tested");

const types = { getTypeParser: (oid: number, format?: string) => (oid === 20 ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid, format as never)) } as pg.CustomTypesConfig;

describe("pipelined PostgreSQL reader", { skip: !available && "PostgreSQL unavailable" }, () => {
  const readers: PgReader[] = [];
  const open = (size: number) => {
    const r = new PgReader({ connectionString: url, size, types });
    readers.push(r);
    return r;
  };
  after(async () => {
    for (const r of readers) await r.close();
  });

  it("answers every statement of one batch with its own rows and typed values", async () => {
    const r = open(2);
    const got = await Promise.all(Array.from({ length: 50 }, (_, i) => r.query("SELECT $1::int8 * 2 AS v, $2::text AS s, $3::int AS n", [String(i), `row ${i}`, i])));
    got.forEach((rows, i) => assert.deepEqual(rows, [{ v: BigInt(i) * 2n, s: `row ${i}`, n: i }]));
    // statements without parameters (PostgreSQL's simple protocol) too
    assert.deepEqual(await r.query("SELECT 1 AS one", []), [{ one: 1 }]);
  });

  it("a failing statement fails alone; the others of its batch and the next batch are answered", async () => {
    const r = open(1);
    const results = await Promise.allSettled([r.query("SELECT 1 AS a", []), r.query("SELECT 1 / $1::int AS b", [0]), r.query("SELECT 3 AS c", [])]);
    assert.deepEqual(results[0], { status: "fulfilled", value: [{ a: 1 }] });
    assert.equal(results[1].status, "rejected");
    assert.match(String((results[1] as PromiseRejectedResult).reason), /division by zero/);
    assert.deepEqual(results[2], { status: "fulfilled", value: [{ c: 3 }] });
    assert.deepEqual(await r.query("SELECT 4 AS d", []), [{ d: 4 }]);
  });

  it("uses at most `size` connections, and replaces one that was killed", async () => {
    const r = open(2);
    const pids = await Promise.all(Array.from({ length: 40 }, () => r.query("SELECT pg_backend_pid() AS pid, pg_sleep(0.001) AS s", [])));
    const distinct = new Set(pids.map((p) => p[0].pid));
    assert.ok(distinct.size >= 1 && distinct.size <= 2, `connections used: ${distinct.size}`);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      for (const pid of distinct) await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    } finally {
      await admin.end();
    }
    // the first statements after the kill may fail with the dead connection; then a new one answers
    let answered: unknown;
    for (let i = 0; i < 20 && answered === undefined; i++) {
      answered = await r.query("SELECT pg_backend_pid() AS pid", []).then(
        (rows) => rows[0].pid,
        () => undefined,
      );
      if (answered === undefined) await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(typeof answered === "number" && !distinct.has(answered), "a new connection answers after the old ones were killed");
  });

  it("prepares each statement text once per connection (up to maxPrepared texts); a connection whose prepared statements went stale is replaced", async () => {
    const r = new PgReader({ connectionString: url, size: 1, types, maxPrepared: 3 });
    readers.push(r);
    const table = `reader_prepared_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (a int); INSERT INTO ${table} VALUES (1)`);
      for (let i = 0; i < 3; i++) assert.deepEqual(await r.query(`SELECT * FROM ${table} WHERE a = $1`, [1]), [{ a: 1 }]);
      for (let i = 0; i < 4; i++) await r.query(`SELECT $1::int + ${i} AS v`, [1]); // texts beyond the limit run unnamed
      const prepared = await r.query("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time", []);
      assert.equal(prepared.length, 3, JSON.stringify(prepared));
      assert.match(String(prepared[0].statement), new RegExp(`FROM ${table} WHERE`));
      // a migration changes the columns `SELECT *` returns: the prepared plan is stale
      await admin.query(`ALTER TABLE ${table} ADD COLUMN b int DEFAULT 2`);
      let rows: unknown;
      for (let i = 0; i < 5 && rows === undefined; i++) rows = await r.query(`SELECT * FROM ${table} WHERE a = $1`, [1]).catch(() => undefined);
      assert.deepEqual(rows, [{ a: 1, b: 2 }], "a fresh connection answers after the stale one was dropped");
    } finally {
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
      await admin.end();
    }
  });

  it("a closed reader refuses statements with a clear error", async () => {
    const r = open(1);
    await r.query("SELECT 1 AS x", []);
    await r.close();
    await assert.rejects(r.query("SELECT 1 AS x", []), /reader is closed/);
  });
});

describe("API_PG_CONNECTIONS", () => {
  it("defaults to the machine's cores and rejects anything but a whole number from 1 to 64 with a one-line error", async () => {
    const { pgConnectionsFromEnv } = await import("../../api/sql.ts");
    const saved = process.env.API_PG_CONNECTIONS;
    try {
      delete process.env.API_PG_CONNECTIONS;
      assert.equal(pgConnectionsFromEnv(), Math.min(64, os.availableParallelism()));
      process.env.API_PG_CONNECTIONS = "8";
      assert.equal(pgConnectionsFromEnv(), 8);
      for (const bad of ["0", "abc", "2.5", "65"]) {
        process.env.API_PG_CONNECTIONS = bad;
        assert.throws(() => pgConnectionsFromEnv(), new RegExp(`API_PG_CONNECTIONS must be a whole number from 1 to 64, got "${bad.replace(".", "\\.")}"`));
      }
    } finally {
      if (saved === undefined) delete process.env.API_PG_CONNECTIONS;
      else process.env.API_PG_CONNECTIONS = saved;
    }
  });
});
