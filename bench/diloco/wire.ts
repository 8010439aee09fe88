/**
 * Update size and host time per round on the default model's layout, without training: encoded bytes
 * of one DiLoCoX update ("DLXU" v1 vs v2 = entropy-coded codes + layout by hash) for several ranks and
 * bit widths, the sent + received ratio to synchronous data parallel that size gives at H inner steps
 * (K workers), and the host CPU time of compression (Δ, low-rank + quantise + EF, encode, keccak) and of
 * aggregating K updates (verify, decode, mean) plus the outer step. The pseudo-gradient is synthetic
 * (bell-shaped noise), so the sizes are those of real updates only up to the codes' entropy.
 *
 *   nice -n 10 ./run exec node bench/diloco/wire.ts [--inner 10] [--workers 4] [--reps 5]
 *
 * bench/diloco/run.ts includes this table in its report.
 */
import { parseArgs } from "node:util";
import { aggregateBlobs } from "../../worker/diloco/aggregate/index.ts";
import { compressUpdate, DILOCOX_COMPRESSION, pseudoGradient, type WarmFactor } from "../../worker/diloco/compress/index.ts";
import { encodeUpdate } from "../../worker/diloco/format/update.ts";
import { blobId } from "../../worker/diloco/hash.ts";
import { initGlobalState, outerStep } from "../../worker/diloco/outer/index.ts";
import { buildLayout, DEFAULT_MODEL } from "../../worker/diloco/trainer/index.ts";

/** Markdown lines: the header sentence and the table. */
export function wireTable(H: number, K: number, REPS: number): string[] {
  const out: string[] = [];
  const layout = buildLayout(DEFAULT_MODEL);
  const N = layout.size;
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const bell = () => rnd() + rnd() + rnd() + rnd() - 2;
  const start = Float32Array.from({ length: N }, () => 0.02 * bell());
  const local = Float32Array.from(start, (x) => x - 0.001 * bell());
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
  const syncPerWorker = (4 * (K - 1) * 4 * N) / K; // sent + received per step
  out.push(`Default model (${N} params), K = ${K}, H = ${H}: ≥ 1000× sent + received needs an update ≤ ${((syncPerWorker * H) / (K * 1000)).toFixed(0)} B. Synthetic bell-shaped pseudo-gradient, warm-started factors, blocks of 128, median of ${REPS} rounds (\`bench/diloco/wire.ts\`):`);
  out.push("");
  out.push("| rank | bits | v1 bytes | v2 bytes | v2 / v1 | ratio (v2) | compress ms CPU | aggregate + outer ms CPU |");
  out.push("|---|---|---|---|---|---|---|---|");
  for (const [rank, bits] of [[4, 2], [8, 2], [12, 2], [16, 2], [8, 3], [8, 4]]) {
    const cfg = { ...DILOCOX_COMPRESSION, minRank: rank, maxRank: rank, bits, vectorBits: bits, blockSize: 128, warmStart: true };
    let warm: (WarmFactor | null)[] | null = null;
    let residual: Float32Array | null = null;
    const tc: number[] = [];
    const ta: number[] = [];
    let v1 = 0;
    let v2 = 0;
    for (let r = 0; r < REPS; r++) {
      const c0 = cpu();
      const res = compressUpdate(pseudoGradient(start, local), residual, layout, cfg, { seed: 1, round: r, worker: 0, warm });
      const bytes = encodeUpdate(res.update, { entropyCoding: true, layoutHash: true });
      const hash = blobId(bytes);
      tc.push(cpu() - c0);
      warm = res.warm;
      residual = res.residual;
      v1 = encodeUpdate(res.update).length;
      v2 = bytes.length;
      const blobs = Array.from({ length: K }, (_, i) => ({ worker: "0x" + (i + 1).toString(16).padStart(40, "0"), bytes, committedHash: hash }));
      const a0 = cpu();
      outerStep(initGlobalState(start), aggregateBlobs(blobs, layout, { expectedBlockSize: 128 }));
      ta.push(cpu() - a0);
    }
    const ratio = (syncPerWorker * H) / (K * v2);
    out.push(`| ${rank} | ${bits} | ${v1} | ${v2} | ${(v2 / v1).toFixed(3)} | ${ratio.toFixed(0)}× | ${(median(tc) * 1000).toFixed(0)} | ${(median(ta) * 1000).toFixed(0)} |`);
  }
  return out;
}

if (import.meta.main) {
  const { values: a } = parseArgs({ options: { inner: { type: "string", default: "10" }, workers: { type: "string", default: "4" }, reps: { type: "string", default: "5" } } });
  console.log(wireTable(Number(a.inner), Number(a.workers), Number(a.reps)).join("\n"));
}
