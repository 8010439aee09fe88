import { init, jit, numpy as np, nn } from "@jax-js/jax";
import { oneHotRows, crossEntropy } from "../../worker/diloco/model/transformer.ts";
await init("wasm");
async function bench(name: string, f: any, mk: () => any[]) {
  for (let i = 0; i < 2; i++) await f(...mk()).data();
  const n = 10; let tot = 0;
  for (let i = 0; i < n; i++) { const a = mk(); const t0 = performance.now(); await f(...a).data(); tot += performance.now() - t0; }
  console.log(name, (tot / n).toFixed(2), "ms");
}
const r = (s: number[]) => np.array(Float32Array.from({ length: s.reduce((a, b) => a * b) }, (_, i) => Math.sin(i))).reshape(s);
const ids = () => np.array(Int32Array.from({ length: 2048 }, (_, i) => (i * 7919) % 96), { dtype: np.int32 });
await bench("onehot emb", jit((x: np.Array, w: np.Array) => np.matmul(oneHotRows(x, 96, np.float32), w)), () => [ids(), r([96, 128])]);
await bench("layernorm", jit((x: np.Array, g: np.Array, b: np.Array) => { const mu = x.ref.mean(-1, { keepdims: true }); const xc = x.sub(mu); const v = np.square(xc.ref).mean(-1, { keepdims: true }); return xc.mul(np.reciprocal(np.sqrt(v.add(1e-5)))).mul(g).add(b); }), () => [r([2048, 128]), r([128]), r([128])]);
await bench("gelu 2048x512", jit((x: np.Array) => nn.gelu(x)), () => [r([2048, 512])]);
await bench("tanh", jit((x: np.Array) => np.tanh(x)), () => [r([2048, 512])]);
await bench("exp", jit((x: np.Array) => np.exp(x)), () => [r([2048, 512])]);
await bench("sigmoid", jit((x: np.Array) => nn.sigmoid(x)), () => [r([2048, 512])]);
const C = 2 * Math.sqrt(2 / Math.PI);
await bench("gelu via exp", jit((x: np.Array) => { const u = x.ref.mul(x.ref).mul(0.044715).add(1).mul(x.ref).mul(-C); return x.div(np.exp(np.minimum(u, 80)).add(1)); }), () => [r([2048, 512])]);
await bench("gelu via sigmoid", jit((x: np.Array) => { const u = x.ref.mul(x.ref).mul(0.044715).add(1).mul(x.ref).mul(C); return x.mul(nn.sigmoid(u)); }), () => [r([2048, 512])]);
await bench("linear fc", jit((x: np.Array, w: np.Array, b: np.Array) => np.matmul(x, w).add(b)), () => [r([2048, 128]), r([128, 512]), r([512])]);
await bench("qkv split", jit((qkv: np.Array) => { const q = qkv.reshape([32, 64, 3, 4, 32]); return q.ref.slice([], [], 0).add(q.slice([], [], 1)); }), () => [r([2048, 384])]);
await bench("scores einsum", jit((q: np.Array, k: np.Array) => np.einsum("bthd,bshd->bhts", q, k)), () => [r([32, 64, 4, 32]), r([32, 64, 4, 32])]);
await bench("mask+softmax", jit((s: np.Array) => nn.softmax(np.where(np.tri(64, 64, 0, { dtype: np.bool }), s, -1e30), -1)), () => [r([32, 4, 64, 64])]);
await bench("softmax only", jit((s: np.Array) => nn.softmax(s, -1)), () => [r([32, 4, 64, 64])]);
await bench("av einsum", jit((w: np.Array, v: np.Array) => np.einsum("bhts,bshd->bthd", w, v)), () => [r([32, 4, 64, 64]), r([32, 64, 4, 32])]);
await bench("cross-entropy", jit((l: np.Array, y: np.Array) => crossEntropy(l, y)), () => [r([2048, 96]), ids()]);
await bench("identity copy 2048x512", jit((x: np.Array) => x.add(1)), () => [r([2048, 512])]);
