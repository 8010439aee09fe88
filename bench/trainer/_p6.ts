import { init, jit, valueAndGrad, numpy as np } from "@jax-js/jax";
import { DEFAULT_MODEL, DEFAULT_INNER_OPT } from "../../worker/diloco/trainer/index.ts";
import { buildLayout } from "../../worker/diloco/model/layout.ts";
import { initParams } from "../../worker/diloco/model/init.ts";
import { lossFn } from "../../worker/diloco/model/transformer.ts";
import { makeTrainStep } from "../../worker/diloco/trainer/step.ts";
await init("wasm");
const cfg = DEFAULT_MODEL, layout = buildLayout(cfg), flat = initParams(cfg, 1);
const P = () => layout.tensors.map((t) => np.array(flat.slice(t.offset, t.offset + t.size)).reshape(t.shape));
const B = 32, T = 64;
const XY = () => { const a = Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % 96); return np.array(a, { dtype: np.int32 }).reshape([B, T]); };
async function bench(name: string, run: () => Promise<void>) {
  for (let i = 0; i < 2; i++) await run();
  const n = 10; const best: number[] = [];
  for (let i = 0; i < n; i++) { const c0 = process.cpuUsage(); await run(); const c = process.cpuUsage(c0); best.push((c.user + c.system) / 1000); }
  best.sort((a, b) => a - b);
  console.log(name, "cpu ms/step min", best[0].toFixed(1), "median", best[n >> 1].toFixed(1));
}
const fwd = jit((p: np.Array[], x: np.Array, y: np.Array) => lossFn(cfg, p, x, y));
await bench("forward", async () => { await fwd(P(), XY(), XY()).data(); });
const vg = jit((p: np.Array[], x: np.Array, y: np.Array) => valueAndGrad((q: np.Array[]) => lossFn(cfg, q, x, y))(p));
await bench("value+grad", async () => { const [l, g] = vg(P(), XY(), XY()); await l.data(); for (const a of g) await a.data(); });
const step = makeTrainStep(cfg, layout, DEFAULT_INNER_OPT);
const s = (v: number) => np.array(new Float32Array([v])).reshape([]);
let st = { params: P(), m: layout.tensors.map((t) => np.zeros(t.shape)), v: layout.tensors.map((t) => np.zeros(t.shape)) };
await bench("full step", async () => { const [n, o] = step(st, XY(), XY(), s(1e-3), s(1e-2), s(0.1)); st = n; await o.data(); });
await bench("upload params", async () => { for (const a of P()) a.dispose(); });
