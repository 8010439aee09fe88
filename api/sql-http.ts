/**
 * Read-only SQL over HTTP for analysts (PostgreSQL only): `POST /sql` with
 * `{"sql": "SELECT …", "params": [...]}` (or `GET /sql?sql=…`) answers
 * `{"columns": [...], "rows": [[...]], "rowCount": n, "truncated": bool}`.
 *
 * Three fences, each enough on its own to stop a write:
 * - the connection is a read-only database role (SQL_DATABASE_URL; `npm run api:sql-role` creates
 *   one with SELECT on the indexer's tables and nothing else);
 * - every statement runs in a READ ONLY transaction that is rolled back;
 * - the statement must be a single query: it is wrapped as `SELECT * FROM (<sql>) q LIMIT n`.
 * Limits: `statement_timeout` (SQL_TIMEOUT_MS, default 5,000 ms), at most SQL_MAX_ROWS rows
 * (default 1,000; `truncated` says when more matched), 10,000 characters of SQL.
 * Errors: HTTP 400 `{ "error", "code" }` with code SQL_ERROR, SQL_TIMEOUT or BAD_REQUEST.
 */
import type http from "node:http";
import pg from "pg";
import type { Logger } from "../indexer/log.ts";

export interface SqlHandler {
  (req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  close(): Promise<void>;
}

const MAX_SQL = 10_000;

export async function serveSql(url: string, log: Logger, opts: { timeoutMs?: number; maxRows?: number } = {}): Promise<SqlHandler> {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error("SQL_DATABASE_URL must be a postgresql:// URL of a read-only role (SQL over HTTP needs PostgreSQL)");
  const timeoutMs = opts.timeoutMs ?? Number(process.env.SQL_TIMEOUT_MS ?? 5000);
  const maxRows = opts.maxRows ?? Number(process.env.SQL_MAX_ROWS ?? 1000);
  const u = new URL(url);
  const schema = u.searchParams.get("schema") ?? "public";
  u.searchParams.delete("schema");
  const pool = new pg.Pool({ connectionString: u.toString(), max: 4 });
  // bigint and numeric as text: exact, and JSON-safe
  const types = { getTypeParser: (oid: number, format?: string) => (oid === 20 || oid === 1700 ? (v: string) => v : pg.types.getTypeParser(oid, format as never)) };
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const handler = (async (req, res) => {
    let sql: string | undefined;
    let params: unknown[] = [];
    if (req.method === "GET") sql = new URL(req.url ?? "/", "http://x").searchParams.get("sql") ?? undefined;
    else if (req.method === "POST") {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size > MAX_SQL * 4 + 65536) return send(res, 413, { error: "request body too large", code: "BAD_REQUEST" });
        chunks.push(c as Buffer);
      }
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { sql?: unknown; params?: unknown };
        if (typeof body.sql === "string") sql = body.sql;
        if (body.params !== undefined) {
          if (!Array.isArray(body.params)) return send(res, 400, { error: "params must be an array", code: "BAD_REQUEST" });
          params = body.params;
        }
      } catch {
        return send(res, 400, { error: 'the body must be JSON: {"sql": "SELECT …", "params": []}', code: "BAD_REQUEST" });
      }
    } else return send(res, 405, { error: "use GET /sql?sql=… or POST /sql", code: "BAD_REQUEST" });
    if (!sql?.trim()) return send(res, 400, { error: 'missing sql: POST {"sql": "SELECT …"} or GET /sql?sql=…', code: "BAD_REQUEST" });
    if (sql.length > MAX_SQL) return send(res, 400, { error: `sql is ${sql.length} characters, over the limit of ${MAX_SQL}`, code: "BAD_REQUEST" });
    const inner = sql.trim().replace(/;\s*$/, "");
    const client = await pool.connect();
    try {
      await client.query("BEGIN READ ONLY");
      await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
      await client.query(`SET LOCAL search_path = "${schema.replace(/"/g, '""')}"`);
      const r = await client.query({ text: `SELECT * FROM (${inner}\n) AS q LIMIT ${maxRows + 1}`, values: params, rowMode: "array", types });
      const rows = r.rows as unknown[][];
      send(res, 200, { columns: r.fields.map((f) => f.name), rows: rows.slice(0, maxRows), rowCount: Math.min(rows.length, maxRows), truncated: rows.length > maxRows, maxRows });
    } catch (err) {
      const e = err as { message: string; code?: string };
      const timeout = e.code === "57014";
      send(res, 400, { error: timeout ? `statement timeout: the query ran over ${timeoutMs} ms` : e.message, code: timeout ? "SQL_TIMEOUT" : "SQL_ERROR", sqlState: e.code });
    } finally {
      await client.query("ROLLBACK").catch(() => {});
      client.release();
    }
  }) as SqlHandler;
  handler.close = () => pool.end();
  pool.on("error", (e) => log.warn("sql pool error", { error: e.message }));
  return handler;
}

/**
 * Creates (or updates) a read-only role with SELECT on every table of `schema`, and nothing else.
 * Run as a role allowed to create roles (`npm run api:sql-role -- <role> [password]`).
 */
export async function createReadOnlyRole(adminUrl: string, role: string, password?: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) throw new Error(`role name "${role}" must be lower-case letters, digits and _`);
  const u = new URL(adminUrl);
  const schema = u.searchParams.get("schema") ?? "public";
  u.searchParams.delete("schema");
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    const s = `"${schema.replace(/"/g, '""')}"`;
    const exists = (await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role])).rowCount;
    const pw = password ? ` PASSWORD '${password.replace(/'/g, "''")}'` : "";
    await client.query(`${exists ? "ALTER" : "CREATE"} ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT${pw}`);
    await client.query(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
    await client.query(`GRANT USAGE ON SCHEMA ${s} TO ${role}`);
    await client.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${role}`);
    await client.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT SELECT ON TABLES TO ${role}`);
  } finally {
    await client.end();
  }
}
