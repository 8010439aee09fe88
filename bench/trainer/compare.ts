/**
 * jax-js vs PyTorch CPU, back to back, on the same model, batch and data, one thread each, at three
 * sizes (GPT-2 family: the 0.43M default model, ~10M, ~50M). Both sides are this project's `Trainer`
 * backends (worker/diloco/trainer/jax-trainer.ts and torch-trainer.ts: same formulation, batches,
 * AdamW); for the default model the idiomatic PyTorch script bench/trainer/torch_bench.py (nn.Module,
 * fused cross-entropy/LayerNorm/GELU kernels, torch.optim.AdamW) is measured too, since it is what the
 * older 0.30× figure compared against.
 *
 *   nice -n 10 ./run exec node bench/trainer/compare.ts [--reps 2] [--sizes 0.43m,10m,50m]
 *
 * Counted: tokens (batch × context × steps) of one `train` call after a warm-up call that compiles /
 * warms caches, divided by the CPU seconds of the process doing the work (Node's process.cpuUsage for
 * jax-js; Python's time.process_time inside the PyTorch process). Wall-clock rates are recorded too
 * (the machine is shared), and the load averages before and after each size. Best of `reps` alternating
 * runs at every size; the ~10M and ~50M sizes time calls of 2 steps (batch 4 and 2) after the warm-up
 * step, as the machine allows. Writes bench/results/trainer.json (keys
 * jaxVsTorchCpu, torchCpuTokPerS, jaxTokPerS, perSize) keeping the older keys of bench/trainer/run.ts.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createTrainer, DEFAULT_INNER_OPT } from "../../worker/diloco/trainer/index.ts";
import { TorchTrainer, defaultPython } from "../../worker/diloco/trainer/torch-trainer.ts";
import { paramCount } from "../../worker/diloco/model/layout.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import type { ModelConfig, Trainer } from "../../worker/diloco/types.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const { values } = parseArgs({ options: { reps: { type: "string", default: "2" }, sizes: { type: "string", default: "0.43m,10m,50m" } } });
const reps = Number(values.reps);

const SIZES: Record<string, { model: ModelConfig; batch: number; steps: number }> = {
  "0.43m": { model: { vocabSize: 96, contextLength: 64, dModel: 128, nHeads: 4, nLayers: 2, dMlp: 512 }, batch: 32, steps: 20 },
  // a few steps only at the larger sizes: on the shared 2-core machine a jax-js step of the ~50M model
  // takes minutes of wall time; the rate is per CPU-second, so short runs still compare
  "10m": { model: { vocabSize: 96, contextLength: 64, dModel: 384, nHeads: 6, nLayers: 6, dMlp: 1536 }, batch: 4, steps: 2 },
  "50m": { model: { vocabSize: 96, contextLength: 64, dModel: 640, nHeads: 10, nLayers: 10, dMlp: 2560 }, batch: 2, steps: 2 },
};
const opt = { ...DEFAULT_INNER_OPT, warmupSteps: 10, totalSteps: 1000 };
const shard = makeShards(loadCorpus(), { workers: 4 }).shards[0];

interface Rate { tokPerCpuS: number; tokPerS: number; cpuSeconds: number; wallSeconds: number; lastLoss: number }

async function measure(trainer: Trainer, kind: "jax" | "torch", steps: number, batch: number): Promise<Rate> {
  const params = await trainer.initParams(1);
  const base = { batchSize: batch, shard, seed: 1, workerIndex: 0 };
  const warm = await trainer.train({ ...base, params, steps: 1, round: 0, stepOffset: 0 });
  const c0 = process.cpuUsage();
  const r = await trainer.train({ ...base, params: warm.params, steps, round: 1, stepOffset: 1 });
  const c = process.cpuUsage(c0);
  const tokens = r.tokensProcessed;
  let cpuSeconds = (c.user + c.system) / 1e6;
  let wallSeconds = r.seconds;
  if (kind === "torch") {
    const st = (trainer as TorchTrainer).lastStats;
    cpuSeconds = st.cpuSeconds!;
    wallSeconds = st.wallSeconds!;
  }
  return { tokPerCpuS: tokens / cpuSeconds, tokPerS: tokens / wallSeconds, cpuSeconds, wallSeconds, lastLoss: r.losses[r.losses.length - 1] };
}

/** `blasThreads` unset = OpenBLAS's default (one thread per core), as a run without OPENBLAS_NUM_THREADS gets. */
function idiomaticTorch(model: ModelConfig, batch: number, steps: number, blasThreads: string | undefined = "1"): Rate | null {
  const dir = mkdtempSync(join(tmpdir(), "trainer-bench-"));
  try {
    const file = join(dir, "shard.bin");
    writeFileSync(file, Uint8Array.from(shard.tokens));
    const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: blasThreads, MKL_NUM_THREADS: "1" };
    if (blasThreads === undefined) delete env.OPENBLAS_NUM_THREADS;
    const res = spawnSync(defaultPython(), [join(here, "torch_bench.py"), JSON.stringify({ ...model, batchSize: batch, ...opt }), file, String(steps)], { encoding: "utf8", env });
    if (res.status !== 0) return null;
    const out = JSON.parse(res.stdout.trim().split("\n").pop()!) as { steps: number; wallSeconds: number; cpuSeconds: number; losses: number[] };
    const tokens = out.steps * batch * model.contextLength;
    return { tokPerCpuS: tokens / out.cpuSeconds, tokPerS: tokens / out.wallSeconds, cpuSeconds: out.cpuSeconds, wallSeconds: out.wallSeconds, lastLoss: out.losses[out.losses.length - 1] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const best = (rs: Rate[]): Rate => rs.reduce((a, b) => (b.tokPerCpuS > a.tokPerCpuS ? b : a));
const perSize: Record<string, unknown> = {};
let torchVersion = "";
for (const name of (values.sizes as string).split(",")) {
  const s = SIZES[name];
  if (!s) throw new Error(`unknown size ${name}: ${Object.keys(SIZES).join(", ")}`);
  const jaxRuns: Rate[] = [];
  const torchRuns: Rate[] = [];
  const idiomRuns: Rate[] = [];
  const idiomBlasDefault: Rate[] = [];
  const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
  const jax = await createTrainer(s.model, opt);
  const torch = await TorchTrainer.start(s.model, opt, { threads: 1 });
  torchVersion = torch.info.torch;
  for (let r = 0; r < reps; r++) {
    jaxRuns.push(await measure(jax, "jax", s.steps, s.batch));
    torchRuns.push(await measure(torch, "torch", s.steps, s.batch));
    if (name === "0.43m") {
      const i = idiomaticTorch(s.model, s.batch, s.steps);
      if (i) idiomRuns.push(i);
      const d = idiomaticTorch(s.model, s.batch, s.steps, undefined);
      if (d) idiomBlasDefault.push(d);
    }
    console.error(`[bench] ${name} rep ${r + 1}: jax ${jaxRuns.at(-1)!.tokPerCpuS.toFixed(0)} tok/CPU-s, torch ${torchRuns.at(-1)!.tokPerCpuS.toFixed(0)}${idiomRuns.length ? `, idiomatic torch ${idiomRuns.at(-1)!.tokPerCpuS.toFixed(0)}` : ""}${idiomBlasDefault.length ? `, idiomatic torch with OpenBLAS default threads ${idiomBlasDefault.at(-1)!.tokPerCpuS.toFixed(0)} tok/CPU-s (${idiomBlasDefault.at(-1)!.tokPerS.toFixed(0)} tok/s wall)` : ""} (load ${loadavg()[0].toFixed(1)})`);
  }
  jax.dispose();
  await torch.dispose();
  const j = best(jaxRuns);
  const t = best(torchRuns);
  perSize[name] = {
    params: paramCount(s.model), model: s.model, batch: s.batch, steps: s.steps, reps: jaxRuns.length,
    // the machine is shared: 1-, 5- and 15-minute load averages when this size started and ended
    loadAvgBefore: loadBefore, loadAvgAfter: loadavg().map((x) => Number(x.toFixed(2))), measuredAt: new Date().toISOString(),
    jaxTokPerS: Math.round(j.tokPerCpuS), torchCpuTokPerS: Math.round(t.tokPerCpuS), jaxVsTorchCpu: Number((j.tokPerCpuS / t.tokPerCpuS).toFixed(3)),
    jaxWallTokPerS: Math.round(j.tokPerS), torchWallTokPerS: Math.round(t.tokPerS),
    ...(idiomRuns.length ? { torchIdiomaticTokPerS: Math.round(best(idiomRuns).tokPerCpuS), jaxVsTorchIdiomatic: Number((j.tokPerCpuS / best(idiomRuns).tokPerCpuS).toFixed(3)) } : {}),
    ...(idiomBlasDefault.length ? { torchIdiomaticBlasDefaultThreadsTokPerCpuS: Math.round(best(idiomBlasDefault).tokPerCpuS), jaxVsTorchIdiomaticBlasDefaultThreads: Number((j.tokPerCpuS / best(idiomBlasDefault).tokPerCpuS).toFixed(3)) } : {}),
    runs: { jax: jaxRuns, torch: torchRuns, torchIdiomatic: idiomRuns, torchIdiomaticBlasDefaultThreads: idiomBlasDefault },
  };
  writeResults(); // after every size, so a long run keeps what it measured
}
function writeResults(): void {
  const file = join(root, "bench", "results", "trainer.json");
  const previous = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
const d = perSize["0.43m"] as { jaxTokPerS: number; torchCpuTokPerS: number; jaxVsTorchCpu: number } | undefined;
const out = {
  ...previous,
  ...(d ? { jaxVsTorchCpu: d.jaxVsTorchCpu, torchCpuTokPerS: d.torchCpuTokPerS, jaxTokPerS: d.jaxTokPerS } : {}),
  perSize: { ...(previous.perSize ?? {}), ...perSize },
  compareBasis: "tokens per CPU-second of the training process, one thread each, best of alternating runs; both sides are the project's Trainer backends (same formulation); torchIdiomatic = bench/trainer/torch_bench.py",
  compareTorchVersion: torchVersion,
  compareMachine: `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores (shared), Node ${process.versions.node}`,
  compareDate: new Date().toISOString(),
};
  writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  console.log(JSON.stringify({ jaxVsTorchCpu: out.jaxVsTorchCpu, torchCpuTokPerS: out.torchCpuTokPerS, jaxTokPerS: out.jaxTokPerS, perSize: Object.fromEntries(Object.entries(perSize).map(([k, v]) => [k, { ...(v as object), runs: undefined }])) }, null, 2));
}
