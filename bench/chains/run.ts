/**
 * bench/chains: round time and the chain's share of it on Hardhat's node and on anvil with 2 s and
 * 12 s interval blocks (default windows), and JSON-RPC calls per worker per round.
 *
 * Runs `cli/start.ts --exit-when-done --chain <node> --block-time <s>` (chain, contracts, blob store,
 * indexer + API, worker processes, demo job) per configuration and reads the workers' "round timing"
 * log lines (worker/node/job-runner.ts): per worker and round, the wall-clock from fetching the
 * global model to the round's close, its phases, and the HTTP JSON-RPC requests the worker process
 * sent meanwhile (viem transport hook, worker/node/clients.ts).
 *   roundSeconds  median over worker-rounds of the round's wall-clock
 *   chainSeconds  median of chainTx + waitCommits + waitClose: sending transactions and waiting for
 *                 blocks (commit and vote receipts, the vote phase opening, the round closing)
 *   chainShare    chainSeconds / roundSeconds
 *   rpcCalls      median JSON-RPC requests per worker per round
 *
 *   nice -n 10 node bench/chains/run.ts [--rounds 3] [--inner-steps 10] [--model tiny] [--workers 3]
 * Writes the section "## Round time by chain (bench/chains)" of BENCHMARKS.md and adds its keys to
 * bench/results/e2e.json (rpcCallsPerWorkerRound, roundSeconds12sBlocks, …).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { cpus, tmpdir, release } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({ options: { workers: { type: "string", default: "3" }, rounds: { type: "string", default: "3" }, "inner-steps": { type: "string", default: "10" }, model: { type: "string", default: "tiny" }, only: { type: "string" } } });

interface Config { name: string; chain: "hardhat" | "anvil"; blockTime: number }
const CONFIGS: Config[] = [
  { name: "hardhat", chain: "hardhat", blockTime: 1 },
  { name: "anvil-2s", chain: "anvil", blockTime: 2 },
  { name: "anvil-12s", chain: "anvil", blockTime: 12 },
].filter((c) => !values.only || values.only.split(",").includes(c.name)) as Config[];

async function runOnce(c: Config): Promise<Record<string, number>[]> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "bench-chains-"));
  const base = 30000 + Math.floor(Math.random() * 20000);
  const args = [path.join(root, "cli", "start.ts"), "--exit-when-done", "--chain", c.chain, "--block-time", String(c.blockTime), "--workers", values.workers!, "--rounds", values.rounds!, "--inner-steps", values["inner-steps"]!, "--model", values.model!, "--data-dir", dataDir,
    "--port", String(base), "--blob-port", String(base + 1), "--indexer-port", String(base + 2), "--api-port", String(base + 3)];
  const code = await new Promise<number>((resolve) => {
    const p = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    p.stdout.on("data", (d: Buffer) => process.stdout.write(`[${c.name}] ${d}`));
    p.on("exit", (code) => resolve(code ?? 1));
  });
  if (code !== 0) throw new Error(`${c.name}: cli/start.ts exited with ${code}; logs in ${dataDir}/logs`);
  const rows: Record<string, number>[] = [];
  for (const f of readdirSync(path.join(dataDir, "logs")).filter((f) => f.startsWith("worker-"))) {
    for (const line of readFileSync(path.join(dataDir, "logs", f), "utf8").split("\n")) {
      if (line.includes('"msg":"round timing"')) rows.push(JSON.parse(line) as Record<string, number>);
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(path.join(root, "ignition", "deployments", "local"), { recursive: true, force: true });
  return rows;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r2 = (x: number) => Number(x.toFixed(2));

type Result = { roundSeconds: number; chainSeconds: number; chainShare: number; rpcCalls: number; trainSeconds: number; rows: number; date?: string };
// with --only, the other configurations keep their last figures (bench/results/e2e.json)
const previousFile = path.join(root, "bench", "results", "e2e.json");
const previous = existsSync(previousFile) ? ((JSON.parse(readFileSync(previousFile, "utf8")) as { chains?: { results?: Record<string, Result> } }).chains?.results ?? {}) : {};
const results: Record<string, Result> = values.only ? { ...previous } : {};
for (const c of CONFIGS) {
  const rows = await runOnce(c);
  if (rows.length === 0) throw new Error(`${c.name}: no round timing lines`);
  const chain = rows.map((r) => (r.chainTxSeconds ?? 0) + (r.waitCommitsSeconds ?? 0) + (r.waitCloseSeconds ?? 0));
  const roundSeconds = median(rows.map((r) => r.totalSeconds));
  const chainSeconds = median(chain);
  results[c.name] = { roundSeconds: r2(roundSeconds), chainSeconds: r2(chainSeconds), chainShare: r2(chainSeconds / roundSeconds), rpcCalls: median(rows.map((r) => r.rpcCalls)), trainSeconds: r2(median(rows.map((r) => r.trainSeconds ?? 0))), rows: rows.length, date: new Date().toISOString().slice(0, 10) };
  console.log(JSON.stringify({ config: c.name, ...results[c.name] }));
}

const machine = `${cpus()[0]?.model ?? "unknown CPU"} × ${cpus().length}, Linux ${release()}, Node ${process.version}`;
const date = new Date().toISOString().slice(0, 10);
const command = `nice -n 10 node bench/chains/run.ts --workers ${values.workers} --rounds ${values.rounds} --inner-steps ${values["inner-steps"]} --model ${values.model}`;
const table = Object.entries(results).map(([k, v]) => `| ${k} | ${v.roundSeconds} | ${v.trainSeconds} | ${v.chainSeconds} | ${(v.chainShare * 100).toFixed(0)} % | ${v.rpcCalls} | ${v.rows} |`).join("\n");
const section = `## Round time by chain (bench/chains)

Machine: ${machine}. Date: ${date}. Command: \`${command}\` (the demo job of \`./run start\` with default windows: commit 900 s, vote 300 s; anvil mines only on its interval, Hardhat also mines a block per transaction).

- Round time: median over worker-rounds of the wall-clock from fetching the global model to the round's close (worker "round timing" log).
- Chain time: chainTx + waitCommits + waitClose of the same rounds: sending the commit and vote and waiting for their receipts, for the vote phase to open and for the round to close, i.e. waiting for blocks.
- RPC calls: HTTP JSON-RPC requests the worker process sent during the round (median per worker per round).

| Chain | Round (s) | Train (s) | Chain (s) | Chain share | RPC calls / worker / round | Worker-rounds |
|---|---|---|---|---|---|---|
${table}

A round needs three chained transactions per worker (commit; vote after all commits; the last vote finalizes): on a chain that mines only on its interval each costs up to one block, so the chain's time per round is about two blocks whatever the training time; the windows (minimum 10 blocks, \`worker/spec/chain-windows.ts\`) leave room for it. RPC calls per worker-round grow with the round's length (polling at most four times per block: job and round state, the latest block). Measured on the shared 2-core machine while other test suites ran.
`;
const benchFile = path.join(root, "BENCHMARKS.md");
let md = existsSync(benchFile) ? readFileSync(benchFile, "utf8") : "# Benchmarks\n";
const start = md.indexOf("## Round time by chain (bench/chains)");
if (start >= 0) {
  const next = md.indexOf("\n## ", start + 5);
  md = md.slice(0, start) + section + (next >= 0 ? md.slice(next + 1) : "");
} else md = `${md.trimEnd()}\n\n${section}`;
writeFileSync(benchFile, md);

const jsonFile = path.join(root, "bench", "results", "e2e.json");
const json = existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, "utf8")) as Record<string, unknown>) : {};
const a12 = results["anvil-12s"];
const a2 = results["anvil-2s"];
const hh = results.hardhat;
Object.assign(json, {
  ...(a12 || a2 || hh ? { rpcCallsPerWorkerRound: (a12 ?? a2 ?? hh).rpcCalls } : {}),
  ...(a12 ? { roundSeconds12sBlocks: a12.roundSeconds, chainShare12sBlocks: a12.chainShare } : {}),
  ...(a2 ? { roundSeconds2sBlocks: a2.roundSeconds, chainShare2sBlocks: a2.chainShare } : {}),
  ...(hh ? { roundSecondsHardhat: hh.roundSeconds, chainSecondsHardhat: hh.chainSeconds } : {}),
  chains: { machine, date, command, results },
});
writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
