import { init, jit, valueAndGrad, numpy as np, nn } from "@jax-js/jax";
await init("wasm");
const B = 32, T = 64, H = 4, dh = 32, d = 128;
const r = (s: number[]) => np.array(Float32Array.from({ length: s.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 1.3))).reshape(s);
async function bench(name: string, f: any, mk: () => any[]) {
  const run = async (args: any[]) => { const out = f(...args); const [l, g] = out; await l.data(); await g.data(); };
  for (let i = 0; i < 2; i++) await run(mk());
  const n = 10; let tot = 0; for (let i = 0; i < n; i++) { const a = mk(); const t0 = performance.now(); await run(a); tot += performance.now() - t0; }
  console.log(name, (tot / n).toFixed(2), "ms");
}
const attA = (qkv: np.Array) => {
  const x = qkv.reshape([B, T, 3, H, dh]);
  const q = x.ref.slice([], [], 0), k = x.ref.slice([], [], 1), v = x.slice([], [], 2);
  const s = np.einsum("bthd,bshd->bhts", q, k).mul(1 / Math.sqrt(dh));
  const w = nn.softmax(np.where(np.tri(T, T, 0, { dtype: np.bool }), s, -1e30), -1);
  return np.einsum("bhts,bshd->bthd", w, v).reshape([B * T, d]);
};
const attB = (qkv: np.Array) => {
  const x = qkv.reshape([B, T, 3, H, dh]).transpose([2, 0, 3, 1, 4]); // [3,B,H,T,dh]
  const q = x.ref.slice(0).reshape([B * H, T, dh]), k = x.ref.slice(1).reshape([B * H, T, dh]), v = x.slice(2).reshape([B * H, T, dh]);
  const s = np.matmul(q, k.transpose([0, 2, 1])).mul(1 / Math.sqrt(dh));
  const w = nn.softmax(np.where(np.tri(T, T, 0, { dtype: np.bool }), s, -1e30), -1);
  return np.matmul(w, v).reshape([B, H, T, dh]).transpose([0, 2, 1, 3]).reshape([B * T, d]);
};
const attC = (qkv: np.Array) => {
  const x = qkv.reshape([B, T, 3, H, dh]).transpose([2, 0, 3, 1, 4]); // [3,B,H,T,dh]
  const q = x.ref.slice(0).mul(1 / Math.sqrt(dh)), k = x.ref.slice(1), v = x.slice(2);
  const mask = np.tri(T, T, 0).sub(1).mul(1e30);
  const s = np.einsum("bhtd,bhsd->bhts", q, k).add(mask);
  const w = nn.softmax(s, -1);
  return np.einsum("bhts,bhsd->bthd", w, v).reshape([B * T, d]);
};
for (const [name, att] of [["A einsum", attA], ["B bmm", attB], ["C einsum2", attC]] as const) {
  const f = jit((qkv: np.Array, ct: np.Array) => valueAndGrad((z: np.Array) => att(z).mul(ct).sum())(qkv));
  await bench(name, f, () => [r([B * T, 3 * d]), r([B * T, d])]);
}
{
  const f = jit((qkv: np.Array, ct: np.Array) => valueAndGrad((z: np.Array) => attA(z).mul(ct).sum())(qkv));
  const f2 = jit((qkv: np.Array, ct: np.Array) => valueAndGrad((z: np.Array) => attB(z).mul(ct).sum())(qkv));
  const f3 = jit((qkv: np.Array, ct: np.Array) => valueAndGrad((z: np.Array) => attC(z).mul(ct).sum())(qkv));
  const [a, ga] = f(r([B * T, 3 * d]), r([B * T, d])); const [b, gb] = f2(r([B * T, 3 * d]), r([B * T, d])); const [c, gc] = f3(r([B * T, 3 * d]), r([B * T, d]));
  const A = await ga.data(), Bv = await gb.data(), Cv = await gc.data();
  let m = 0, m2 = 0; for (let i = 0; i < A.length; i++) { m = Math.max(m, Math.abs(A[i] - Bv[i])); m2 = Math.max(m2, Math.abs(A[i] - Cv[i])); }
  console.log("vals", await a.data(), await b.data(), await c.data(), "max grad diff", m, m2);
}
const gl = (kind: number) => jit((x: np.Array, ct: np.Array) => valueAndGrad((z: np.Array) => {
  if (kind === 0) return nn.gelu(z).mul(ct).sum();
  const C = 2 * Math.sqrt(2 / Math.PI);
  const u = z.ref.mul(z.ref).mul(0.044715).add(1).mul(z.ref).mul(-C);
  return z.div(np.exp(np.minimum(u, 80)).add(1)).mul(ct).sum();
})(x));
await bench("gelu tanh fwd+bwd", gl(0), () => [r([2048, 512]), r([2048, 512])]);
await bench("gelu exp fwd+bwd", gl(1), () => [r([2048, 512]), r([2048, 512])]);
