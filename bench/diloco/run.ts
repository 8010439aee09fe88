/**
 * DiLoCoX engine benchmark: at the same total tokens, compare
 *   (1) synchronous data parallel (fp32 gradients all-reduced every step),
 *   (2) DiLoCo with fp32 pseudo-gradients, (3) DiLoCo int8,
 *   (4) DiLoCoX (adaptive low-rank + 4-bit + error feedback), (5) the same with one-step-delay overlap.
 * Reports eval loss, bytes per worker, ratio to (1), simulated wall-clock and compute utilisation at
 * 1 Gbps and 100 Mbps from measured compute time; writes BENCHMARKS.md (own section),
 * bench/results/diloco.json, bench/results/diloco-runs.json and bench/results/diloco-loss-vs-bytes.svg.
 *
 *   ./run exec node bench/diloco/run.ts [--model default|tiny] [--workers 4] [--rounds 10] [--inner 50]
 *        [--batch 16] [--seed 1] [--energy 0.9] [--max-rank 32] [--bits 4] [--overlap-start eager|local]
 *        [--only sync,fp32,int8,dilocox,dilocox-overlap] [--no-write]
 *   ./run exec node bench/diloco/run.ts --from-json bench/results/diloco-runs.json   (report only)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  DILOCOX_COMPRESSION,
  FP32_COMPRESSION,
  INT8_COMPRESSION,
  type CompressionConfig,
} from "../../worker/diloco/compress/index.ts";
import { DEFAULT_OUTER } from "../../worker/diloco/outer/index.ts";
import {
  LINK_100MBPS,
  LINK_1GBPS,
  runDilocoSim,
  runSyncDataParallelSim,
  type DilocoSimResult,
  type TimelineResult,
} from "../../worker/diloco/sim/index.ts";
import { buildLayout, createTrainer, DEFAULT_INNER_OPT, DEFAULT_MODEL, TINY_MODEL } from "../../worker/diloco/trainer/index.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import { lossVsBytesSvg, type Series } from "./plot.ts";
import { upsertSection } from "./report.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "default" },
    workers: { type: "string", default: "4" },
    rounds: { type: "string", default: "10" },
    inner: { type: "string", default: "50" },
    batch: { type: "string", default: "16" },
    seed: { type: "string", default: "1" },
    "eval-batches": { type: "string", default: "16" },
    "eval-batch-size": { type: "string", default: "32" },
    energy: { type: "string", default: String(DILOCOX_COMPRESSION.energy) },
    "max-rank": { type: "string", default: String(DILOCOX_COMPRESSION.maxRank) },
    bits: { type: "string", default: String(DILOCOX_COMPRESSION.bits) },
    "overlap-start": { type: "string", default: "eager" },
    only: { type: "string" },
    /** Rebuild the report (BENCHMARKS.md section, JSON, SVG) from a saved diloco-runs.json without training. */
    "from-json": { type: "string" },
    /** With --from-json: the original run's duration, when the saved file predates that field. */
    minutes: { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});

const K = Number(args.workers);
const R = Number(args.rounds);
const H = Number(args.inner);
const B = Number(args.batch);
const SEED = Number(args.seed);
const modelConfig = args.model === "tiny" ? TINY_MODEL : DEFAULT_MODEL;
const evalOpts = { batches: Number(args["eval-batches"]), batchSize: Number(args["eval-batch-size"]) };
const dilocox: CompressionConfig = {
  ...DILOCOX_COMPRESSION,
  energy: Number(args.energy),
  maxRank: Number(args["max-rank"]),
  bits: Number(args.bits),
  vectorBits: Number(args.bits),
};
const CONFIGS = [
  { id: "sync", label: "(1) sync data-parallel, fp32 grads every step", color: "#000000" },
  { id: "fp32", label: "(2) DiLoCo fp32", color: "#1f77b4", compression: FP32_COMPRESSION, overlap: false },
  { id: "int8", label: "(3) DiLoCo int8", color: "#2ca02c", compression: INT8_COMPRESSION, overlap: false },
  { id: "dilocox", label: `(4) DiLoCoX low-rank + ${dilocox.bits}-bit + EF`, color: "#d62728", compression: dilocox, overlap: false },
  { id: "dilocox-overlap", label: `(5) DiLoCoX + one-step delay (${args["overlap-start"]})`, color: "#ff7f0e", compression: dilocox, overlap: true },
] as const;
const only = args.only ? new Set(args.only.split(",")) : null;

interface Row {
  id: string;
  label: string;
  evalLoss: number;
  initialEvalLoss: number;
  bytesSentPerWorker: number;
  bytesReceivedPerWorker: number;
  computeSecondsPerWorker: number;
  /** Compression + aggregation seconds per worker over the run (host CPU work). */
  hostSecondsPerWorker?: number;
  timelines: TimelineResult[];
  meanRank?: number;
  curve: { bytes: number; evalLoss: number }[];
  finalHash?: string;
}

function log(msg: string): void {
  process.stderr.write(`[bench/diloco] ${msg}\n`);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const corpus = loadCorpus();
  const sharded = makeShards(corpus, { workers: K });
  const innerOpt = { ...DEFAULT_INNER_OPT, totalSteps: R * H, warmupSteps: Math.min(DEFAULT_INNER_OPT.warmupSteps, Math.floor((R * H) / 10)) };
  const trainer = await createTrainer(modelConfig, innerOpt);
  const init = await trainer.initParams(SEED);
  const N = trainer.layout.size;
  log(`model ${JSON.stringify(modelConfig)} (${N} params), K=${K} R=${R} H=${H} B=${B}, ${R * H * K * B * modelConfig.contextLength} training tokens per run`);
  // Warm-up: compile the step for both batch shapes and the evaluation once, outside any measurement.
  for (const bs of [B, K * B]) {
    await trainer.train({ params: init, steps: 1, batchSize: bs, shard: sharded.shards[0], seed: SEED, round: 0, workerIndex: 0, stepOffset: 0 });
  }
  await trainer.evaluate(init, sharded.eval, evalOpts);
  const links = [LINK_1GBPS, LINK_100MBPS];
  const rows: Row[] = [];
  for (const c of CONFIGS) {
    if (only && !only.has(c.id)) continue;
    const tc = Date.now();
    if (c.id === "sync") {
      const r = await runSyncDataParallelSim({
        trainer,
        shards: sharded.shards,
        steps: R * H,
        batchSize: B,
        seed: SEED,
        initParams: init,
        evalTokens: sharded.eval,
        evalBatches: evalOpts.batches,
        evalBatchSize: evalOpts.batchSize,
        links,
        computeClock: "min-wall-cpu",
      });
      rows.push({
        id: c.id,
        label: c.label,
        evalLoss: r.finalEvalLoss!,
        initialEvalLoss: r.initialEvalLoss!,
        bytesSentPerWorker: r.bytesSentPerWorker,
        bytesReceivedPerWorker: r.bytesReceivedPerWorker,
        computeSecondsPerWorker: r.stepComputeSecondsPerWorker * R * H,
        timelines: r.timelines,
        curve: [{ bytes: r.bytesSentPerWorker, evalLoss: r.finalEvalLoss! }],
      });
    } else {
      const r: DilocoSimResult = await runDilocoSim({
        trainer,
        shards: sharded.shards,
        rounds: R,
        innerSteps: H,
        batchSize: B,
        seed: SEED,
        compression: c.compression,
        outer: DEFAULT_OUTER,
        overlap: c.overlap,
        overlapStart: args["overlap-start"] === "local" ? "local" : "eager",
        initParams: init,
        evalTokens: sharded.eval,
        evalEvery: 1,
        evalBatches: evalOpts.batches,
        evalBatchSize: evalOpts.batchSize,
        links,
        computeClock: "min-wall-cpu",
        onRound: (rec) =>
          log(
            `${c.id} round ${rec.round}: train ${rec.trainLoss.toFixed(4)} eval ${rec.evalLoss?.toFixed(4)} update ${rec.updateBytes[0]} B` +
              (rec.meanRank ? ` rank ${rec.meanRank.toFixed(2)}` : "") +
              ` relErr ${rec.relError.toFixed(3)} train ${rec.trainSeconds[0].toFixed(1)} s compress ${rec.compressSeconds[0].toFixed(2)} s aggregate ${rec.aggregateSeconds.toFixed(2)} s`,
          ),
      });
      const ranks = r.rounds.map((x) => x.meanRank).filter((x) => x > 0);
      rows.push({
        id: c.id,
        label: c.label,
        evalLoss: r.finalEvalLoss!,
        initialEvalLoss: r.initialEvalLoss!,
        bytesSentPerWorker: r.bytesSentPerWorker,
        bytesReceivedPerWorker: r.bytesReceivedPerWorker,
        computeSecondsPerWorker: r.rounds.reduce((s, x) => s + x.trainSeconds.reduce((a, b) => a + b, 0), 0) / K,
        hostSecondsPerWorker: r.rounds.reduce((s, x) => s + x.compressSeconds.reduce((a, b) => a + b, 0) / K + x.aggregateSeconds, 0),
        timelines: r.timelines,
        meanRank: ranks.length ? ranks.reduce((a, b) => a + b, 0) / ranks.length : undefined,
        curve: r.rounds.map((x) => ({ bytes: x.cumBytesSentPerWorker, evalLoss: x.evalLoss! })),
        finalHash: r.finalHash,
      });
    }
    const row = rows[rows.length - 1];
    log(`${c.id}: eval ${row.evalLoss.toFixed(4)}, sent ${row.bytesSentPerWorker.toFixed(0)} B/worker, ${((Date.now() - tc) / 1000).toFixed(0)} s`);
  }
  await trainer.dispose();
  const minutes = (Date.now() - t0) / 60000;
  report(rows, N, minutes, innerOpt);
}

/** Signed percentage with two decimals, never "-0.00". */
function fmtPct(v: number, signed = false): string {
  const t = v.toFixed(2);
  const clean = t === "-0.00" ? "0.00" : t;
  return `${signed && !clean.startsWith("-") ? "+" : ""}${clean} %`;
}

function fmtBytes(b: number): string {
  if (b >= 1e9) return `${(b / 1e9).toFixed(2)} GB`;
  if (b >= 1e6) return `${(b / 1e6).toFixed(2)} MB`;
  if (b >= 1e3) return `${(b / 1e3).toFixed(1)} KB`;
  return `${b.toFixed(0)} B`;
}

function fmtSec(s: number): string {
  return s >= 3600 ? `${(s / 3600).toFixed(2)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`;
}

function readTrainerVsTorch(): number | null {
  const f = join(ROOT, "bench", "results", "trainer.json");
  if (!existsSync(f)) return null;
  try {
    const j = JSON.parse(readFileSync(f, "utf8")) as Record<string, unknown>;
    if (typeof j.trainerVsTorch === "number") return j.trainerVsTorch;
    const key = Object.keys(j).find((k) => /torch/i.test(k) && typeof j[k] === "number");
    return key ? (j[key] as number) : null;
  } catch {
    return null;
  }
}

/** Plain-language reading of the table, computed from the numbers. */
function findings(rows: Row[]): string[] {
  const by = (id: string) => rows.find((r) => r.id === id);
  const pct = (a: Row, b: Row) => `${fmtPct(((a.evalLoss - b.evalLoss) / b.evalLoss) * 100, true)} eval loss`;
  const out: string[] = [];
  const [s, f, i8, x4, x5] = ["sync", "fp32", "int8", "dilocox", "dilocox-overlap"].map(by);
  if (s && f) out.push(`- Algorithm (DiLoCo vs synchronous, both fp32): (2) ends at ${pct(f, s)} relative to (1) at the same tokens and sends ${(s.bytesSentPerWorker / f.bytesSentPerWorker).toFixed(0)}× fewer bytes.`);
  if (f && i8) out.push(`- int8 pseudo-gradients: (3) vs (2) ${pct(i8, f)}, ${(f.bytesSentPerWorker / i8.bytesSentPerWorker).toFixed(1)}× fewer bytes.`);
  if (f && x4) out.push(`- DiLoCoX compression (low-rank + ${dilocox.bits}-bit + error feedback): (4) vs (2) ${pct(x4, f)}, ${(f.bytesSentPerWorker / x4.bytesSentPerWorker).toFixed(0)}× fewer bytes than (2).`);
  if (x4 && x5) out.push(`- One-step-delay overlap: (5) vs (4) ${pct(x5, x4)}; utilisation at 1 Gbps ${(x4.timelines[0].utilization * 100).toFixed(1)} % → ${(x5.timelines[0].utilization * 100).toFixed(1)} %, at 100 Mbps ${(x4.timelines[1].utilization * 100).toFixed(1)} % → ${(x5.timelines[1].utilization * 100).toFixed(1)} %.`);
  if (s && x5) {
    const ratio = s.bytesSentPerWorker / x5.bytesSentPerWorker;
    const gap = ((x5.evalLoss - s.evalLoss) / s.evalLoss) * 100;
    out.push(`- Goals: ≥ 2000× fewer bytes than (1): ${ratio >= 2000 ? "met" : "not met"} (${ratio.toFixed(0)}×); eval loss ≤ 2 % above (1): ${gap <= 2 ? "met" : "not met"} (${gap.toFixed(2)} %); utilisation ≥ 97 % at 1 Gbps with overlap: ${x5.timelines[0].utilization >= 0.97 ? "met" : "not met"} (${(x5.timelines[0].utilization * 100).toFixed(1)} %).`);
  }
  return out.length ? ["Reading:", "", ...out] : [];
}

interface SavedRuns {
  command?: string;
  date?: string;
}

function report(rows: Row[], nParams: number, minutes: number, innerOpt: typeof DEFAULT_INNER_OPT, saved?: SavedRuns): void {
  const sync = rows.find((r) => r.id === "sync");
  const x5 = rows.find((r) => r.id === "dilocox-overlap");
  const fp32 = rows.find((r) => r.id === "fp32");
  const table: string[] = [
    "| config | eval loss | vs (1) | vs (2) | sent / worker | received / worker | (1) ÷ sent | compute / worker | host work / worker | wall 1 Gbps | util 1 Gbps | wall 100 Mbps | util 100 Mbps |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const [g1, g100] = r.timelines;
    const gap = sync ? fmtPct(((r.evalLoss - sync.evalLoss) / sync.evalLoss) * 100, true) : "–";
    const gap2 = fp32 && r.id !== "sync" ? fmtPct(((r.evalLoss - fp32.evalLoss) / fp32.evalLoss) * 100, true) : "–";
    const host = r.hostSecondsPerWorker !== undefined ? fmtSec(r.hostSecondsPerWorker) : "–";
    const ratio = sync ? `${(sync.bytesSentPerWorker / r.bytesSentPerWorker).toFixed(0)}×` : "–";
    table.push(
      `| ${r.label}${r.meanRank ? ` (mean rank ${r.meanRank.toFixed(1)})` : ""} | ${r.evalLoss.toFixed(4)} | ${gap} | ${gap2} | ${fmtBytes(r.bytesSentPerWorker)} | ${fmtBytes(r.bytesReceivedPerWorker)} | ${ratio} | ${fmtSec(r.computeSecondsPerWorker)} | ${host} | ${fmtSec(g1.wallSeconds)} | ${(g1.utilization * 100).toFixed(1)} % | ${fmtSec(g100.wallSeconds)} | ${(g100.utilization * 100).toFixed(1)} % |`,
    );
  }
  const summary = {
    bytesRatioVsSync: sync && x5 ? sync.bytesSentPerWorker / x5.bytesSentPerWorker : null,
    evalLossGapPct: sync && x5 ? ((x5.evalLoss - sync.evalLoss) / sync.evalLoss) * 100 : null,
    utilization1Gbps: x5 ? x5.timelines[0].utilization : null,
    trainerVsTorch: readTrainerVsTorch(),
  };
  const argv = process.argv.slice(2);
  for (const flag of ["--from-json", "--minutes"]) {
    const at = argv.indexOf(flag);
    if (at >= 0) argv.splice(at, 2);
  }
  const cmd = saved?.command ?? `./run exec node bench/diloco/run.ts ${argv.join(" ")}`.trim();
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const body = [
    `Machine: ${cpu}, ${os.cpus().length} logical cores (shared with other work), ${(os.totalmem() / 2 ** 30).toFixed(0)} GB RAM, Node ${process.versions.node}, ${os.platform()} ${os.release()}.`,
    `Date: ${(saved?.date ?? new Date().toISOString()).slice(0, 10)}. Command: \`${cmd}\`${Number.isFinite(minutes) ? ` (${minutes.toFixed(0)} min)` : ""}.`,
    "",
    `Setup: ${JSON.stringify(modelConfig)} (${nParams.toLocaleString("en-US")} parameters), K = ${K} workers, R = ${R} rounds × H = ${H} inner AdamW steps, batch ${B} × ${modelConfig.contextLength} chars per worker-step, so every run trains on ${(K * R * H * B * modelConfig.contextLength).toLocaleString("en-US")} characters. Inner AdamW lr ${innerOpt.lr}, warm-up ${innerOpt.warmupSteps}, cosine over ${innerOpt.totalSteps} steps; outer Nesterov lr ${DEFAULT_OUTER.lr}, momentum ${DEFAULT_OUTER.momentum}. DiLoCoX: smallest rank in ${dilocox.minRank}..${dilocox.maxRank} capturing ≥ ${dilocox.energy} of the energy, ${dilocox.bits}-bit factors and vectors, blocks of ${dilocox.blockSize}, error feedback. Eval: ${evalOpts.batches} × ${evalOpts.batchSize} held-out windows (same for every run).`,
    "",
    "(1) is computed as one AdamW run with batch K·B on the union of the shards (the mean of K batch-mean gradients is the gradient of the union batch), its compute per worker taken as 1/K of the measured time; its traffic is a ring all-reduce of the fp32 gradient every step (2(K−1)/K × 4N bytes sent and received per worker). (2)–(5) use the protocol's blob-store exchange: each worker uploads its update once per round and downloads the K−1 others. Links: full duplex, 20 ms latency per transfer. Wall-clock = measured compute (sequential on this machine, each worker's time counted as if it ran on its own device; per train call the smaller of wall-clock and process CPU time, to discount time stolen by other jobs on this shared machine) + modelled communication (worker/diloco/sim/timeline.ts); compute utilisation = training time / wall-clock. Without overlap, compression, exchange and aggregation are on the critical path; with overlap they run on the host while the accelerator trains the next round (on this CPU-only machine they would share the cores). \"host work\" = measured compression + aggregation seconds per worker (– when the saved run predates that field).",
    "",
    ...table,
    "",
    ...findings(rows),
    "",
    `Summary (\`bench/results/diloco.json\`): ${JSON.stringify(summary)}.`,
    "",
    "![eval loss vs bytes sent](bench/results/diloco-loss-vs-bytes.svg)",
  ].join("\n");
  console.log(body);
  if (args["no-write"]) return;
  const series: Series[] = rows.map((r) => {
    const c = CONFIGS.find((x) => x.id === r.id)!;
    return { name: c.label, color: c.color, points: r.curve.map((p) => ({ x: p.bytes, y: p.evalLoss })), dashed: r.id === "dilocox-overlap" };
  });
  const resultsDir = join(ROOT, "bench", "results");
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "diloco-loss-vs-bytes.svg"), lossVsBytesSvg(series, `Eval loss vs bytes sent per worker (K=${K}, R=${R}, H=${H})`));
  writeFileSync(join(resultsDir, "diloco.json"), JSON.stringify(summary, null, 2) + "\n");
  writeFileSync(
    join(resultsDir, "diloco-runs.json"),
    JSON.stringify({ model: modelConfig, K, R, H, B, seed: SEED, dilocox, nParams, minutes, innerOpt, command: cmd, date: new Date().toISOString(), rows }, null, 2) + "\n",
  );
  upsertSection(join(ROOT, "BENCHMARKS.md"), "## DiLoCoX engine (bench/diloco)", body);
}

async function fromJson(file: string): Promise<void> {
  const j = JSON.parse(readFileSync(file, "utf8")) as {
    K: number; R: number; H: number; B: number; nParams?: number; minutes?: number; innerOpt?: typeof DEFAULT_INNER_OPT;
    command?: string; date?: string; rows: Row[];
  };
  if (j.K !== K || j.R !== R || j.H !== H || j.B !== B) {
    throw new Error(`${file} was run with K=${j.K} R=${j.R} H=${j.H} B=${j.B}: pass the same --workers/--rounds/--inner/--batch`);
  }
  const innerOpt = j.innerOpt ?? { ...DEFAULT_INNER_OPT, totalSteps: R * H, warmupSteps: Math.min(DEFAULT_INNER_OPT.warmupSteps, Math.floor((R * H) / 10)) };
  const nParams = j.nParams ?? buildLayout(modelConfig).size;
  report(j.rows, nParams, j.minutes ?? (args.minutes !== undefined ? Number(args.minutes) : NaN), innerOpt, { command: j.command, date: j.date });
}

if (args["from-json"]) await fromJson(args["from-json"]);
else await main();
