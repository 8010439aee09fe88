/**
 * GPU trainer benchmark (not part of the tests): tokens/s and model FLOPs utilisation of the PyTorch
 * backend (worker/diloco/trainer/torch-trainer.ts, device cuda, deterministic algorithms, TF32 off —
 * the settings a replayable determinism class needs) on the llama-125m preset. Run by bench/trainer/gpu.sh.
 *
 * FLOPs per token = 6·N (N = parameters, the embedding counted once when tied) + 12·L·T·d (attention
 * scores and mixing, forward + backward). MFU = achieved FLOP/s ÷ the device's peak dense FP32 FLOP/s
 * (what these settings use; table below, or PEAK_TFLOPS=… to override); `mfuVsBf16Peak` is given too.
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { TorchTrainer } from "../../worker/diloco/trainer/torch-trainer.ts";
import { modelPreset } from "../../worker/diloco/model/presets.ts";
import { paramCount } from "../../worker/diloco/model/layout.ts";
import { DEFAULT_INNER_OPT } from "../../worker/diloco/trainer/options.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values } = parseArgs({ options: { batch: { type: "string", default: "8" }, steps: { type: "string", default: "20" }, context: { type: "string", default: "1024" } } });
const batch = Number(values.batch);
const steps = Number(values.steps);

/** Peak dense TFLOP/s: [FP32 (no tensor cores), BF16 tensor]. */
const PEAKS: [RegExp, number, number][] = [
  [/H200|H100.*(SXM|HBM3)/i, 67, 989], [/H100/i, 51, 756], [/A100/i, 19.5, 312], [/L40S/i, 91.6, 362], [/L4\b/i, 30.3, 121],
  [/A10G?\b/i, 31.2, 125], [/4090/i, 82.6, 165], [/3090/i, 35.6, 71], [/V100/i, 15.7, 125], [/T4\b/i, 8.1, 65],
];

const model = { ...modelPreset("llama-125m"), contextLength: Number(values.context) };
const opt = { ...DEFAULT_INNER_OPT, warmupSteps: 10, totalSteps: 10_000 };
const trainer = await TorchTrainer.start(model, opt, { device: "cuda" });
if (trainer.info.device !== "cuda") throw new Error("no CUDA device");
const T = model.contextLength;
const tokens = new Uint16Array(4_000_000);
for (let i = 0; i < tokens.length; i++) tokens[i] = (i * 2654435761) % model.vocabSize; // synthetic ids: speed does not depend on them
const shard = { tokens };
let params = await trainer.initParams(1);
const warm = await trainer.train({ params, steps: 3, batchSize: batch, shard, seed: 1, round: 0, workerIndex: 0, stepOffset: 0 });
params = warm.params;
const r = await trainer.train({ params, steps, batchSize: batch, shard, seed: 1, round: 1, workerIndex: 0, stepOffset: 3, innerState: warm.innerState });
const seconds = trainer.lastStats.wallSeconds!;
await trainer.dispose();
const n = paramCount(model);
const flopsPerToken = 6 * n + 12 * model.nLayers * T * model.dModel;
const tokPerS = (steps * batch * T) / seconds;
const peak = PEAKS.find(([re]) => re.test(trainer.info.deviceName));
const fp32Peak = process.env.PEAK_TFLOPS ? Number(process.env.PEAK_TFLOPS) : peak?.[1];
const out = {
  device: trainer.info.deviceName, torch: trainer.info.torch, determinismClass: trainer.info.determinismClass,
  model: "llama-125m", params: n, contextLength: T, batch, steps, seconds,
  tokPerS: Math.round(tokPerS), flopsPerToken, achievedTflops: Number(((tokPerS * flopsPerToken) / 1e12).toFixed(2)),
  mfu: fp32Peak ? Number(((tokPerS * flopsPerToken) / (fp32Peak * 1e12)).toFixed(3)) : null, peakFp32Tflops: fp32Peak ?? null,
  mfuVsBf16Peak: peak ? Number(((tokPerS * flopsPerToken) / (peak[2] * 1e12)).toFixed(3)) : null,
  firstLoss: warm.losses[0], lastLoss: r.losses.at(-1), date: new Date().toISOString(),
};
const file = join(root, "bench", "results", "trainer-gpu.json");
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
console.log(JSON.stringify(out, null, 2));
