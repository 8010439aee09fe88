/**
 * Kernel-level profile of one training step of the default model (jax-js tracing → performance
 * measures, aggregated by kernel). For finding what to optimise next:
 *   ./run exec node bench/trainer/profile.ts        (FULL=1 prints whole kernel expressions)
 */
import { numpy as np, profiler } from "@jax-js/jax";
import { initBackend } from "../../worker/diloco/trainer/backend.ts";
import { DEFAULT_MODEL, DEFAULT_INNER_OPT } from "../../worker/diloco/trainer/index.ts";
import { buildLayout } from "../../worker/diloco/model/layout.ts";
import { initParams } from "../../worker/diloco/model/init.ts";
import { makeTrainStep } from "../../worker/diloco/trainer/step.ts";
await initBackend("strict");
const cfg = DEFAULT_MODEL, layout = buildLayout(cfg), flat = initParams(cfg, 1);
const P = () => layout.tensors.map((t) => np.array(flat.slice(t.offset, t.offset + t.size)).reshape(t.shape));
const B = 32, T = 64;
const XY = () => { const a = Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % 96); return np.array(a, { dtype: np.int32 }).reshape([B, T]); };
const step = makeTrainStep(cfg, layout, DEFAULT_INNER_OPT);
const s = (v: number) => np.array(new Float32Array([v])).reshape([]);
let st = { params: P(), m: layout.tensors.map((t) => np.zeros(t.shape)), v: layout.tensors.map((t) => np.zeros(t.shape)) };
for (let i = 0; i < 3; i++) { const [n, o] = step(st, XY(), XY(), s(1e-3), s(1e-2), s(0.1)); st = n; await o.data(); }
performance.clearMeasures();
profiler.startTrace();
const N = 3;
const t0 = performance.now();
for (let i = 0; i < N; i++) { const [n, o] = step(st, XY(), XY(), s(1e-3), s(1e-2), s(0.1)); st = n; await o.data(); }
const wall = (performance.now() - t0) / N;
profiler.stopTrace();
const agg = new Map<string, { ms: number; n: number; desc: string }>();
let total = 0;
for (const e of performance.getEntriesByType("measure") as PerformanceMeasure[]) {
  const props = Object.fromEntries((e.detail as any).devtools.properties);
  const key = e.name + " " + (props.reduction ?? "") + " " + (props.inputShapes ?? "") + (props.exp ? String(props.exp).slice(0, process.env.FULL ? 5000 : 140) : "");
  const a = agg.get(key) ?? { ms: 0, n: 0, desc: key }; a.ms += e.duration / N; a.n++; agg.set(key, a); total += e.duration / N;
}
console.log("wall/step", wall.toFixed(1), "kernel total/step", total.toFixed(1), "kernels", agg.size);
for (const a of [...agg.values()].sort((x, y) => y.ms - x.ms).slice(0, 40)) console.log(a.ms.toFixed(2).padStart(7), String(a.n / N).padStart(3), (process.env.FULL ? a.desc : a.desc.slice(0, 230)));
