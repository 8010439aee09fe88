/**
 * Trainer speed benchmark: tokens per second of the default model's training step (jax-js, wasm,
 * one thread), in both float modes, and — when `python3 -c "import torch"` works — the same model and
 * step in PyTorch CPU with one thread (bench/trainer/torch_bench.py; Debian: apt-get install python3-torch
 * libopenblas0-pthread).
 *
 *   ./run exec node bench/trainer/run.ts [--steps 30] [--batch 32] [--no-torch] [--modes strict,relaxed]
 *
 * Each measurement runs in its own process (the float mode is per process). The ratio uses CPU time
 * (steadier than wall-clock on a shared machine). Writes bench/results/trainer.json.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createTrainer, DEFAULT_MODEL, DEFAULT_INNER_OPT, type FloatMode } from "../../worker/diloco/trainer/index.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "30" },
    batch: { type: "string", default: "32" },
    modes: { type: "string", default: "strict,relaxed" },
    "no-torch": { type: "boolean", default: false },
    child: { type: "string" },
  },
});
const steps = Number(values.steps);
const batchSize = Number(values.batch);
if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${values.steps}`);
if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch must be a positive integer, got ${values.batch}`);
const opt = { ...DEFAULT_INNER_OPT, warmupSteps: 10, totalSteps: 1000 };

interface Measurement {
  floatMode: FloatMode;
  steps: number;
  wallSeconds: number;
  cpuSeconds: number;
  compileSeconds: number;
  tokensPerSec: number;
  tokensPerCpuSec: number;
  stepsPerCpuSec: number;
  peakRssMB: number;
  firstLoss: number;
  lastLoss: number;
}

async function child(mode: FloatMode): Promise<void> {
  const data = makeShards(loadCorpus(), { workers: 4 });
  const trainer = await createTrainer(DEFAULT_MODEL, opt, { floatMode: mode });
  const params = await trainer.initParams(1);
  const base = { batchSize, shard: data.shards[0], seed: 1, round: 0, workerIndex: 0 };
  const w = await trainer.train({ ...base, params, steps: 2, stepOffset: 0 }); // compiles the step
  const c0 = process.cpuUsage();
  const r = await trainer.train({ ...base, params: w.params, steps, round: 1, stepOffset: 2 });
  const c = process.cpuUsage(c0);
  const cpuSeconds = (c.user + c.system) / 1e6;
  const m: Measurement = {
    floatMode: mode,
    steps,
    wallSeconds: r.seconds,
    cpuSeconds,
    compileSeconds: w.seconds,
    tokensPerSec: r.tokensProcessed / r.seconds,
    tokensPerCpuSec: r.tokensProcessed / cpuSeconds,
    stepsPerCpuSec: steps / cpuSeconds,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    firstLoss: w.losses[0],
    lastLoss: r.losses[r.losses.length - 1],
  };
  trainer.dispose();
  process.stdout.write(JSON.stringify(m) + "\n");
}

function runChild(mode: FloatMode): Measurement {
  const res = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", mode, "--steps", String(steps), "--batch", String(batchSize)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (res.status !== 0) throw new Error(`benchmark child (${mode}) failed with status ${res.status}`);
  return JSON.parse(res.stdout.trim().split("\n").pop() as string) as Measurement;
}

interface TorchResult {
  tokensPerSec: number;
  tokensPerCpuSec: number;
  stepsPerCpuSec: number;
  peakRssMB: number;
  version: string;
}

/** First Python that can import torch: $PYTHON, python3 on PATH, then Debian's /usr/bin/python3 (python3-torch). */
function findTorchPython(): string | null {
  const candidates = [process.env.PYTHON, "python3", "/usr/bin/python3"].filter((c): c is string => !!c);
  for (const py of candidates) {
    if (spawnSync(py, ["-c", "import torch"], { stdio: "ignore" }).status === 0) return py;
  }
  return null;
}

function runTorch(): TorchResult | null {
  const python = findTorchPython();
  if (!python) {
    console.error("[bench] PyTorch not available (no python3 can 'import torch'): skipping the comparison");
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), "trainer-bench-"));
  try {
    const tokensFile = join(dir, "shard.bin");
    writeFileSync(tokensFile, makeShards(loadCorpus(), { workers: 4 }).shards[0].tokens);
    const config = { ...DEFAULT_MODEL, batchSize, ...opt };
    const res = spawnSync(python, [join(here, "torch_bench.py"), JSON.stringify(config), tokensFile, String(steps)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
    });
    if (res.status !== 0) throw new Error(`torch benchmark failed with status ${res.status}`);
    const out = JSON.parse(res.stdout.trim().split("\n").pop() as string) as { steps: number; wallSeconds: number; cpuSeconds: number; torch: string; peakRssMB: number };
    const tokens = out.steps * batchSize * DEFAULT_MODEL.contextLength;
    return { tokensPerSec: tokens / out.wallSeconds, tokensPerCpuSec: tokens / out.cpuSeconds, stepsPerCpuSec: out.steps / out.cpuSeconds, peakRssMB: out.peakRssMB, version: out.torch };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const modes = (values.modes as string).split(",").filter(Boolean) as FloatMode[];
  for (const m of modes) if (m !== "strict" && m !== "relaxed") throw new Error(`--modes: unknown float mode ${m}`);
  const results: Partial<Record<FloatMode, Measurement>> = {};
  for (const m of modes) {
    results[m] = runChild(m);
    console.error(`[bench] jax-js ${m}: ${results[m]!.tokensPerSec.toFixed(0)} tokens/s wall, ${results[m]!.stepsPerCpuSec.toFixed(2)} steps/CPU-s, peak RSS ${results[m]!.peakRssMB.toFixed(0)} MB`);
  }
  const torch = values["no-torch"] ? null : runTorch();
  if (torch) console.error(`[bench] torch ${torch.version}: ${torch.tokensPerSec.toFixed(0)} tokens/s wall, ${torch.stepsPerCpuSec.toFixed(2)} steps/CPU-s, peak RSS ${torch.peakRssMB.toFixed(0)} MB`);
  const primary = results.strict ?? results.relaxed;
  if (!primary) throw new Error("no float mode measured");
  const out = {
    tokensPerSec: Math.round(primary.tokensPerSec),
    tokensPerCpuSec: Math.round(primary.tokensPerCpuSec),
    floatMode: primary.floatMode,
    torchTokensPerSec: torch ? Math.round(torch.tokensPerSec) : null,
    torchTokensPerCpuSec: torch ? Math.round(torch.tokensPerCpuSec) : null,
    trainerVsTorch: torch ? Number((primary.tokensPerCpuSec / torch.tokensPerCpuSec).toFixed(3)) : null,
    ratioBasis: "tokens per CPU-second, one thread each",
    torchVersion: torch?.version ?? null,
    modes: results,
    model: DEFAULT_MODEL,
    batchSize,
    steps,
    machine: `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores (shared), Node ${process.versions.node}`,
    date: new Date().toISOString(),
  };
  const file = join(root, "bench", "results", "trainer.json");
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  console.log(JSON.stringify(out, null, 2));
}

if (values.child) await child(values.child as FloatMode);
else await main();
