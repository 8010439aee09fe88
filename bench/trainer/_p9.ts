const noRelaxed = process.env.NO_RELAXED === "1";
if (noRelaxed) {
  const orig = WebAssembly.validate;
  const probe = "0061736d0100000001080160037b7b7b017b030201000a0d010b00200020012002fd85020b";
  (WebAssembly as any).validate = (b: BufferSource) => { const u = new Uint8Array(b instanceof ArrayBuffer ? b : (b as Uint8Array).buffer); return Buffer.from(u).toString("hex") === probe ? false : orig(b); };
}
const { init, jit, numpy: np } = await import("@jax-js/jax");
await init("wasm");
const r = (s: number[]) => np.array(Float32Array.from({ length: s.reduce((a, b) => a * b) }, (_, i) => Math.sin(i))).reshape(s);
const mm = jit((a: any, b: any) => np.matmul(a, b));
for (let i = 0; i < 2; i++) await mm(r([2048, 128]), r([128, 512])).data();
let tot = 0; for (let i = 0; i < 20; i++) { const a = r([2048, 128]), b = r([128, 512]); const t0 = performance.now(); await mm(a, b).data(); tot += performance.now() - t0; }
console.log(noRelaxed ? "no relaxed" : "relaxed", (tot / 20).toFixed(2), "ms");
const out = await mm(r([2048, 128]), r([128, 512])).data();
console.log("hash", (await import("node:crypto")).createHash("sha256").update(new Uint8Array(out.buffer)).digest("hex").slice(0, 16));
