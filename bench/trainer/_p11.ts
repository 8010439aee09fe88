import { init, jit, numpy as np, profiler } from "@jax-js/jax";
import { DEFAULT_MODEL } from "../../worker/diloco/trainer/index.ts";
import { buildLayout } from "../../worker/diloco/model/layout.ts";
import { initParams } from "../../worker/diloco/model/init.ts";
import { lossFn } from "../../worker/diloco/model/transformer.ts";
await init("wasm");
const cfg = DEFAULT_MODEL, layout = buildLayout(cfg), flat = initParams(cfg, 1);
const P = () => layout.tensors.map((t) => np.array(flat.slice(t.offset, t.offset + t.size)).reshape(t.shape));
const B = 32, T = 64;
const XY = () => { const a = Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % 96); return np.array(a, { dtype: np.int32 }).reshape([B, T]); };
const fwd = jit((p: np.Array[], x: np.Array, y: np.Array) => lossFn(cfg, p, x, y));
for (let i = 0; i < 2; i++) await fwd(P(), XY(), XY()).data();
performance.clearMeasures(); profiler.startTrace();
await fwd(P(), XY(), XY()).data();
profiler.stopTrace();
for (const e of (performance.getEntriesByType("measure") as PerformanceMeasure[]).sort((a, b) => b.duration - a.duration).slice(0, 8)) {
  const props = Object.fromEntries((e.detail as any).devtools.properties);
  console.log(e.duration.toFixed(2), e.name, props.reduction ?? "", String(props.exp ?? props.inputShapes).slice(0, 400));
}
