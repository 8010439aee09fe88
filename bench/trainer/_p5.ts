import { init, jit, numpy as np } from "@jax-js/jax";
await init("wasm");
async function bench(name: string, f: any, mk: () => any[], flops: number) {
  for (let i = 0; i < 2; i++) await f(...mk()).data();
  const n = 20; let tot = 0;
  for (let i = 0; i < n; i++) { const a = mk(); const t0 = performance.now(); await f(...a).data(); tot += performance.now() - t0; }
  const ms = tot / n; console.log(name, ms.toFixed(2), "ms", (flops / ms / 1e6).toFixed(2), "GFLOP/s");
}
const r = (s: number[]) => np.array(Float32Array.from({ length: s.reduce((a, b) => a * b) }, (_, i) => Math.sin(i))).reshape(s);
const mm = jit((a: np.Array, b: np.Array) => np.matmul(a, b));
await bench("mm 2048x128 @128x512", mm, () => [r([2048, 128]), r([128, 512])], 2 * 2048 * 128 * 512);
await bench("mm 2048x512 @512x128", mm, () => [r([2048, 512]), r([512, 128])], 2 * 2048 * 128 * 512);
const mmTA = jit((a: np.Array, b: np.Array) => np.matmul(a.transpose(), b));
await bench("mm (2048x128)^T @2048x512", mmTA, () => [r([2048, 128]), r([2048, 512])], 2 * 2048 * 128 * 512);
const mmTB = jit((a: np.Array, b: np.Array) => np.matmul(a, b.transpose()));
await bench("mm 2048x512 @ (128x512)^T", mmTB, () => [r([2048, 512]), r([128, 512])], 2 * 2048 * 128 * 512);
const att = jit((q: np.Array, k: np.Array) => np.einsum("bthd,bshd->bhts", q, k));
await bench("einsum qk", att, () => [r([32, 64, 4, 32]), r([32, 64, 4, 32])], 2 * 32 * 4 * 64 * 64 * 32);
const att2 = jit((q: np.Array, k: np.Array) => np.matmul(q, k));
await bench("bmm qk [128,64,32]@[128,32,64]", att2, () => [r([128, 64, 32]), r([128, 32, 64])], 2 * 32 * 4 * 64 * 64 * 32);
const ew = jit((a: np.Array) => np.tanh(a.ref.mul(0.7)).mul(a));
await bench("elementwise tanh 2048x512", ew, () => [r([2048, 512])], 2048 * 512 * 10);
