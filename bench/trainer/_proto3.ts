import { init, valueAndGrad, numpy as np } from "@jax-js/jax";
import { TINY_MODEL } from "../../worker/diloco/model/config.ts";
import { buildLayout } from "../../worker/diloco/model/layout.ts";
import { initParams } from "../../worker/diloco/model/init.ts";
import { lossFn } from "../../worker/diloco/model/transformer.ts";
await init("wasm");
const cfg = TINY_MODEL; const layout = buildLayout(cfg);
const f32 = initParams(cfg, 3);
// bigger weights so that gradients are not tiny
const f64 = Float64Array.from(f32, (v, i) => v * 10 + (i % 7) * 0.01);
const B = 2, T = cfg.contextLength;
const xs = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 5) % 96);
const ys = Int32Array.from({ length: B * T }, (_, i) => (i * 53 + 11) % 96);
const dev = (flat: Float64Array) => layout.tensors.map((t) => np.array(flat.slice(t.offset, t.offset + t.size), { dtype: np.float64 }).reshape(t.shape));
const X = () => np.array(xs, { dtype: np.int32 }).reshape([B, T]);
const Y = () => np.array(ys, { dtype: np.int32 }).reshape([B, T]);
const loss = async (flat: Float64Array) => (await lossFn(cfg, dev(flat), X(), Y()).data())[0];
const [l, g] = valueAndGrad((p: np.Array[]) => lossFn(cfg, p, X(), Y()))(dev(f64));
const lv = (await l.data())[0];
const gflat = new Float64Array(layout.size);
for (let i = 0; i < g.length; i++) gflat.set(await g[i].data() as Float64Array, layout.tensors[i].offset);
console.log("loss", lv, await loss(f64));
const h = 1e-5;
let worst = 0;
for (const t of layout.tensors) {
  for (const k of [0, Math.floor(t.size / 2), t.size - 1]) {
    const i = t.offset + k;
    const p = f64.slice(); p[i] += h; const lp = await loss(p);
    p[i] -= 2 * h; const lm = await loss(p);
    const fd = (lp - lm) / (2 * h);
    const err = Math.abs(fd - gflat[i]);
    worst = Math.max(worst, err);
    if (err > 1e-8) console.log(t.name, k, fd, gflat[i], err);
  }
}
console.log("worst", worst);
