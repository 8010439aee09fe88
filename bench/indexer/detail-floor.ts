/**
 * The floor under the uncached job-detail figure (bench/indexer/api-nocache.ts): what PostgreSQL
 * alone spends to answer bench/indexer's detail query when the API does no work at all.
 *
 * The whole GraphQL answer is built as JSON by one SQL statement, the design of PostGraphile and
 * Hasura (nested json_agg subqueries with the page limits and orders of the API's defaults). The
 * statement's answers are first checked equal to the API's (`checkDetailSql`), so it does the same
 * work; then pgbench runs it with 50 clients, as the API's load is run, and reports its latency
 * percentiles, rate and the machine's CPU per statement. pgbench itself costs little CPU and parses
 * nothing, so this is a lower bound on any design's latency on the same machine.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { detailQuery } from "./queries.ts";

/** The detail answer `{ data: { job } }` of job `idExpr`, as JSON text, from tables of `schema`. */
export function detailSql(schema: string, idExpr: string): string {
  const t = (name: string) => `"${schema}"."${name}"`;
  // the API's loss fields: Commitment.trainLoss is the `loss` column; a round's mean is the sum of raw losses over the commits, scaled (the API rounds it to 12 significant digits, which the check's tolerance covers)
  const mean = `CASE WHEN r."commitCount" > 0 THEN r."trainLossSum"::float8 / r."commitCount" / 1000000 END`;
  const commits = (limit: string, fields: string) =>
    `(SELECT coalesce(json_agg(json_build_object(${fields}) ORDER BY c.block, c."logIndex", c.id), '[]') FROM (SELECT * FROM ${t("commitment")} c WHERE c."jobId" = r."jobId" AND c.round = r.round ORDER BY c.block, c."logIndex", c.id${limit}) c)`;
  return `SELECT json_build_object('data', json_build_object('job', (
  SELECT json_build_object('id', j.id::text, 'status', j.status, 'poster', j.poster, 'escrow', j.escrow, 'totalPaid', j."totalPaid",
    'workers', json_build_object('items', (SELECT coalesce(json_agg(json_build_object('worker', w.worker, 'index', w.index, 'earned', w.earned,
        'provider', (SELECT json_build_object('address', p.address, 'stake', p.stake) FROM ${t("provider")} p WHERE p.address = w.worker)) ORDER BY w.id), '[]')
      FROM (SELECT * FROM ${t("job_worker")} w WHERE w."jobId" = j.id ORDER BY w.id LIMIT 20) w)),
    'roundList', json_build_object('items', (SELECT coalesce(json_agg(json_build_object('round', r.round, 'status', r.status, 'resultModelHash', r."resultModelHash", 'meanTrainLoss', ${mean},
        'commitments', json_build_object('items', ${commits(" LIMIT 20", `'worker', c.worker, 'trainLoss', c.loss, 'updateHash', c."updateHash"`)}),
        'votes', json_build_object('items', (SELECT coalesce(json_agg(json_build_object('worker', v.worker, 'agreed', v."includedMask" = r."includedMask") ORDER BY v.block, v."logIndex", v.id), '[]')
          FROM (SELECT * FROM ${t("vote")} v WHERE v."jobId" = r."jobId" AND v.round = r.round ORDER BY v.block, v."logIndex", v.id LIMIT 20) v))
      ) ORDER BY r.id), '[]') FROM (SELECT * FROM ${t("round")} r WHERE r."jobId" = j.id ORDER BY r.id LIMIT 10) r)),
    'lossCurve', (SELECT coalesce(json_agg(json_build_object('round', r.round, 'meanTrainLoss', ${mean}, 'workers', ${commits("", `'worker', c.worker, 'trainLoss', c.loss`)}) ORDER BY r.round), '[]')
      FROM ${t("round")} r WHERE r."jobId" = j.id)
  ) FROM ${t("job")} j WHERE j.id = ${idExpr}))) AS answer`;
}

/** Equal as JSON values, numbers to 1e-12 relative (the API's and PostgreSQL's float printing). */
function same(a: unknown, b: unknown, at = "$"): string | undefined {
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a)) ? undefined : `${at}: ${a} vs ${b}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${at}: ${a.length} vs ${b.length} items`;
    for (let i = 0; i < a.length; i++) {
      const d = same(a[i], b[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    if (ka.join() !== kb.join()) return `${at}: fields ${ka} vs ${kb}`;
    for (const k of ka) {
      const d = same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${at}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/** Throws unless the statement answers jobs `ids` exactly as the API at `apiUrl` does. */
export async function checkDetailSql(pgUrl: string, schema: string, apiUrl: string, ids: number[]): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl.replace(/\?.*$/, "") });
  await client.connect();
  try {
    for (const id of ids) {
      const api = (await (await fetch(apiUrl, { method: "POST", headers: { "content-type": "application/json" }, body: detailQuery(id) })).json()) as unknown;
      const { rows } = await client.query(detailSql(schema, "$1"), [String(id)]);
      const diff = same(api, rows[0].answer);
      if (diff) throw new Error(`the detail statement does not answer job ${id} as the API does: ${diff}`);
    }
  } finally {
    await client.end();
  }
}

export interface Floor {
  p50: number;
  p99: number;
  rps: number;
  /** Busy CPU time of the whole machine per statement (PostgreSQL's backends, which exit with pgbench, and pgbench itself). */
  machineCpuMsPerStatement: number;
  errors: number;
}

/** Busy (non-idle) CPU time of the machine so far, in ms (Linux /proc/stat). */
function machineBusyMs(): number {
  const cols = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cols[3] + (cols[4] ?? 0);
  return ((cols.reduce((a, b) => a + b, 0) - idle) * 1000) / 100; // clock ticks at 100 Hz
}

/** pgbench: 50 clients run the statement for `duration` s over jobs 1..`jobs`. */
export function runDetailFloor(pgUrl: string, schema: string, jobs: number, duration: number): Floor {
  const u = new URL(pgUrl);
  const dir = mkdtempSync(path.join(os.tmpdir(), "detail-floor-"));
  try {
    const script = path.join(dir, "detail.sql");
    // pgbench reads one statement per line
    writeFileSync(script, `\\set id random(1, ${jobs})\n${detailSql(schema, ":id").replace(/\s*\n\s*/g, " ")};\n`);
    const cpu0 = machineBusyMs();
    const out = execFileSync(
      "pgbench",
      ["-h", u.hostname, "-p", u.port || "5432", "-U", decodeURIComponent(u.username || "postgres"), "-n", "-M", "prepared", "-c", "50", "-j", "2", "-T", String(duration), "-l", "--log-prefix", path.join(dir, "log"), "-f", script, u.pathname.slice(1)],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    const cpu = machineBusyMs() - cpu0;
    // per-transaction log lines: client_id transaction_no time_us script_no time_epoch time_us
    const lat: number[] = [];
    let errors = 0;
    for (const f of readdirSync(dir).filter((n) => n.startsWith("log"))) {
      for (const line of readFileSync(path.join(dir, f), "utf8").split("\n")) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 3) continue;
        if (cols[2] === "failed" || cols[2] === "skipped") errors++;
        else lat.push(Number(cols[2]) / 1000);
      }
    }
    lat.sort((a, b) => a - b);
    const pct = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]);
    const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
    return { p50: pct(50), p99: pct(99), rps: Math.round(tps), machineCpuMsPerStatement: Number((cpu / lat.length).toFixed(2)), errors };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
