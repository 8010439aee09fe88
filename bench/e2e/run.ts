/**
 * bench/e2e: where a round's wall-clock goes in the local market's demo job.
 *
 * Runs `cli/start.ts --exit-when-done` (chain, contracts, blob store, indexer + API, worker processes,
 * demo job) and reads the workers' "round timing" log lines (worker/node/job-runner.ts PhaseTimer):
 * per worker and round, the time from fetching the global model to the round's close, split into
 *   train, compress, aggregate            (the DiLoCoX computation)
 *   chainTx                               (signing, sending and waiting for commit/vote receipts)
 *   upload, fetchModel                    (blob transfer; downloading updates is inside aggregate)
 *   waitCommits, waitClose, other         (waiting for the other workers / the quorum, bookkeeping)
 * overheadPct = 100 × (chainTx + upload + fetchModel + waitCommits + waitClose + other) / total.
 *
 *   node bench/e2e/run.ts [--workers 3] [--rounds 4] [--inner-steps 40] [--model default]
 * Writes the section "## Local network round overhead (bench/e2e)" of BENCHMARKS.md and bench/results/e2e.json.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { cpus, tmpdir, release } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({ options: { workers: { type: "string", default: "3" }, rounds: { type: "string", default: "4" }, "inner-steps": { type: "string", default: "40" }, model: { type: "string", default: "default" } } });

const OVERHEAD = ["chainTx", "upload", "fetchModel", "waitCommits", "waitClose", "other"];
const COMPUTE = ["train", "compress", "aggregate"];

async function runOnce(workers: number): Promise<{ rows: Record<string, number>[]; wall: number }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "bench-e2e-"));
  const base = 30000 + Math.floor(Math.random() * 20000);
  const args = [path.join(root, "cli", "start.ts"), "--exit-when-done", "--workers", String(workers), "--rounds", values.rounds!, "--inner-steps", values["inner-steps"]!, "--model", values.model!, "--data-dir", dataDir,
    "--port", String(base), "--blob-port", String(base + 1), "--indexer-port", String(base + 2), "--api-port", String(base + 3)];
  const t0 = performance.now();
  const code = await new Promise<number>((resolve) => {
    const p = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    p.stdout.on("data", (d: Buffer) => process.stdout.write(d));
    p.on("exit", (c) => resolve(c ?? 1));
  });
  const wall = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`cli/start.ts exited with ${code}; logs in ${dataDir}/logs`);
  const rows: Record<string, number>[] = [];
  for (const f of readdirSync(path.join(dataDir, "logs")).filter((f) => f.startsWith("worker-"))) {
    for (const line of readFileSync(path.join(dataDir, "logs", f), "utf8").split("\n")) {
      if (!line.includes('"msg":"round timing"')) continue;
      const j = JSON.parse(line) as Record<string, number>;
      rows.push(j);
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(path.join(root, "ignition", "deployments", "local"), { recursive: true, force: true });
  return { rows, wall };
}

function sum(rows: Record<string, number>[], key: string): number {
  return rows.reduce((a, r) => a + (r[`${key}Seconds`] ?? 0), 0);
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : Number.NaN;
}

const configs = [Number(values.workers), ...(Number(values.workers) > 2 ? [2] : [])];
const results: { workers: number; overheadPct: number; medianRoundOverheadPct: number; table: Record<string, number>; rounds: number; wall: number }[] = [];
for (const w of configs) {
  console.log(`\n=== ${w} workers ===`);
  const { rows, wall } = await runOnce(w);
  if (rows.length === 0) throw new Error("no round timing lines found");
  const total = sum(rows, "total");
  const table = Object.fromEntries([...COMPUTE, ...OVERHEAD].map((k) => [k, sum(rows, k)]));
  const overhead = OVERHEAD.reduce((a, k) => a + table[k], 0);
  const perRound = rows.map((r) => (100 * OVERHEAD.reduce((a, k) => a + (r[`${k}Seconds`] ?? 0), 0)) / r.totalSeconds);
  results.push({ workers: w, overheadPct: (100 * overhead) / total, medianRoundOverheadPct: median(perRound), table: { total, ...table }, rounds: rows.length, wall });
}

const machine = `${cpus()[0]?.model ?? "unknown CPU"} × ${cpus().length}, Linux ${release()}, Node ${process.version}`;
const date = new Date().toISOString().slice(0, 10);
let md = `## Local network round overhead (bench/e2e)\n\n`;
md += `Machine: ${machine}. Date: ${date}. Command: \`node bench/e2e/run.ts --workers ${values.workers} --rounds ${values.rounds} --inner-steps ${values["inner-steps"]} --model ${values.model}\`.\n\n`;
md += `Whole \`./run start\` network (Hardhat node with 1 s interval mining, blob store, indexer + API, worker processes, poster evaluating each round) on one shared 2-core machine. Seconds summed over every worker × round (each worker's round: from fetching the global model to the round's close).\n\n`;
md += `| workers | worker-rounds | total s | train | compress | aggregate | chain tx | blob upload+fetch | waiting (commits + close) | other | overhead % (sum) | overhead % (median round) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n`;
for (const r of results) {
  const t = r.table;
  md += `| ${r.workers} | ${r.rounds} | ${t.total.toFixed(1)} | ${t.train.toFixed(1)} | ${t.compress.toFixed(2)} | ${t.aggregate.toFixed(2)} | ${t.chainTx.toFixed(2)} | ${(t.upload + t.fetchModel).toFixed(2)} | ${(t.waitCommits + t.waitClose).toFixed(1)} | ${t.other.toFixed(2)} | ${r.overheadPct.toFixed(1)} | ${r.medianRoundOverheadPct.toFixed(1)} |\n`;
}
md += `\nOverhead = chain transactions + blob transfer + waiting + other, over the round's wall-clock; train, compression and aggregation are the work itself. With more worker processes than cores, "waiting" is mostly the faster workers waiting for the slower ones' training (CPU contention), not protocol cost.\n`;

const file = path.join(root, "BENCHMARKS.md");
let doc = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
const re = /## Local network round overhead \(bench\/e2e\)[\s\S]*?(?=\n## |$)/;
doc = re.test(doc) ? doc.replace(re, md.trimEnd() + "\n") : `${doc.trimEnd()}\n\n${md}`;
writeFileSync(file, doc);
const head = results[0];
writeFileSync(path.join(root, "bench", "results", "e2e.json"), JSON.stringify({ overheadPct: Number(head.overheadPct.toFixed(2)), medianRoundOverheadPct: Number(head.medianRoundOverheadPct.toFixed(2)), workers: head.workers, byWorkers: results.map((r) => ({ workers: r.workers, overheadPct: Number(r.overheadPct.toFixed(2)), table: r.table })), machine, date }, null, 2) + "\n");
console.log(md);
