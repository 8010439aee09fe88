import { init, jit, valueAndGrad, numpy as np } from "@jax-js/jax";
import { DEFAULT_MODEL } from "../../worker/diloco/model/config.ts";
import { buildLayout } from "../../worker/diloco/model/layout.ts";
import { initParams } from "../../worker/diloco/model/init.ts";
import { lossFn } from "../../worker/diloco/model/transformer.ts";

await init("wasm");
const cfg = DEFAULT_MODEL;
const layout = buildLayout(cfg);
console.log("params", layout.size);
const flat = initParams(cfg, 1);
let params = layout.tensors.map((t) => np.array(flat.slice(t.offset, t.offset + t.size)).reshape(t.shape));
const B = 32, T = 64;
const step = jit((ps: np.Array[], x: np.Array, y: np.Array) => {
  const [loss, grads] = valueAndGrad((p: np.Array[]) => lossFn(cfg, p, x, y))(ps.map((a) => a.ref));
  const newPs = ps.map((p, i) => p.sub(grads[i].mul(0.01)));
  return [loss, newPs] as [np.Array, np.Array[]];
});
const mk = () => { const a = new Int32Array(B * T); for (let i = 0; i < a.length; i++) a[i] = (i * 7919) % 96; return np.array(a, { dtype: np.int32 }).reshape([B, T]); };
for (let s = 0; s < 6; s++) {
  const t0 = performance.now(); const c0 = process.cpuUsage();
  const [loss, np2] = step(params, mk(), mk());
  params = np2;
  const l = (await loss.data())[0];
  const c = process.cpuUsage(c0);
  console.log(s, l, (performance.now() - t0).toFixed(0), "ms wall", ((c.user + c.system) / 1000).toFixed(0), "ms cpu", (process.memoryUsage().rss / 1e6).toFixed(0), "MB");
}
