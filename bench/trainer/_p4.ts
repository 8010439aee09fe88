import { init, numpy as np, nn } from "@jax-js/jax";
await init("wasm");
const xs = Float64Array.from({ length: 11 }, (_, i) => -5 + i * 1.0 + 0.123456789);
for (const [name, f, ref] of [["exp", np.exp, Math.exp], ["tanh", np.tanh, Math.tanh], ["log", (a: any) => np.log(np.abs(a)), (v: number) => Math.log(Math.abs(v))], ["sqrt", (a: any) => np.sqrt(np.abs(a)), (v: number) => Math.sqrt(Math.abs(v))]] as const) {
  const out = await (f as any)(np.array(xs, { dtype: np.float64 })).data();
  let worst = 0; for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(out[i] - (ref as any)(xs[i])) / Math.abs((ref as any)(xs[i])));
  console.log(name, out.constructor.name, "worst rel err", worst);
}
