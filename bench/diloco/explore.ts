/**
 * One benchmark arm with every knob exposed, for exploring settings before the full comparison
 * (bench/diloco/run.ts). Appends one JSON line per run to --out (default /tmp/diloco-explore.jsonl).
 *
 *   nice -n 10 ./run exec node bench/diloco/explore.ts --model half --rounds 50 --inner 10 \
 *     --method lowrank --bits 2 --min-rank 4 --max-rank 4 --overlap eager-mix --keep-inner
 *   nice -n 10 ./run exec node bench/diloco/explore.ts --sync   (the synchronous data-parallel baseline)
 */
import { appendFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DILOCOX_COMPRESSION, type CompressionConfig } from "../../worker/diloco/compress/index.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import { runDilocoSim, runSyncDataParallelSim } from "../../worker/diloco/sim/index.ts";
import { createTrainer, DEFAULT_INNER_OPT } from "../../worker/diloco/trainer/index.ts";
import { modelByName } from "./models.ts";

const { values: a } = parseArgs({
  options: {
    model: { type: "string", default: "default" },
    workers: { type: "string", default: "4" },
    rounds: { type: "string", default: "50" },
    inner: { type: "string", default: "10" },
    batch: { type: "string", default: "16" },
    seed: { type: "string", default: "1" },
    sync: { type: "boolean", default: false },
    method: { type: "string", default: "lowrank" },
    bits: { type: "string", default: "4" },
    "vector-bits": { type: "string" },
    "block-size": { type: "string", default: "64" },
    "min-rank": { type: "string", default: "8" },
    "max-rank": { type: "string", default: "32" },
    energy: { type: "string", default: "0.9" },
    "power-iters": { type: "string", default: "1" },
    "no-ef": { type: "boolean", default: false },
    "warm-start": { type: "boolean", default: false },
    compact: { type: "boolean", default: false },
    oversample: { type: "string", default: "4" },
    overlap: { type: "string", default: "off" },
    "keep-inner": { type: "boolean", default: false },
    "outer-lr": { type: "string", default: "0.7" },
    "outer-momentum": { type: "string", default: "0.9" },
    "inner-lr": { type: "string" },
    "eval-every": { type: "string", default: "10" },
    "eval-batches": { type: "string", default: "16" },
    label: { type: "string", default: "" },
    out: { type: "string", default: "/tmp/diloco-explore.jsonl" },
  },
});

const K = Number(a.workers);
const R = Number(a.rounds);
const H = Number(a.inner);
const B = Number(a.batch);
const SEED = Number(a.seed);
const model = modelByName(a.model!);
const compression: CompressionConfig = {
  ...DILOCOX_COMPRESSION,
  method: a.method as CompressionConfig["method"],
  bits: Number(a.bits),
  vectorBits: Number(a["vector-bits"] ?? a.bits),
  blockSize: Number(a["block-size"]),
  minRank: Number(a["min-rank"]),
  maxRank: Number(a["max-rank"]),
  energy: Number(a.energy),
  powerIters: Number(a["power-iters"]),
  errorFeedback: !a["no-ef"],
  warmStart: a["warm-start"],
  entropyCoding: a.compact && a.method !== "none",
  layoutHash: a.compact,
  oversample: Number(a.oversample),
};
const outer = { lr: Number(a["outer-lr"]), momentum: Number(a["outer-momentum"]), nesterov: true };
const overlap = a.overlap !== "off";

const corpus = loadCorpus();
const sharded = makeShards(corpus, { workers: K });
const innerOpt = {
  ...DEFAULT_INNER_OPT,
  ...(a["inner-lr"] ? { lr: Number(a["inner-lr"]) } : {}),
  totalSteps: R * H,
  warmupSteps: Math.min(DEFAULT_INNER_OPT.warmupSteps, Math.floor((R * H) / 10)),
};
const trainer = await createTrainer(model, innerOpt);
const init = await trainer.initParams(SEED);
const evalOpts = { evalBatches: Number(a["eval-batches"]), evalBatchSize: 32 };
const t0 = Date.now();
let line: Record<string, unknown>;
if (a.sync) {
  const r = await runSyncDataParallelSim({
    trainer, shards: sharded.shards, steps: R * H, batchSize: B, seed: SEED, initParams: init,
    evalTokens: sharded.eval, ...evalOpts,
  });
  line = { arm: "sync", evalLoss: r.finalEvalLoss, sent: r.bytesSentPerWorker, recv: r.bytesReceivedPerWorker };
} else {
  const r = await runDilocoSim({
    trainer, shards: sharded.shards, rounds: R, innerSteps: H, batchSize: B, seed: SEED, compression, outer,
    overlap, overlapStart: overlap ? (a.overlap as "eager" | "eager-mix" | "local") : undefined,
    keepInnerState: a["keep-inner"], initParams: init, evalTokens: sharded.eval, evalEvery: Number(a["eval-every"]), ...evalOpts,
    onRound: (rec) => {
      if (rec.evalLoss !== undefined) {
        process.stderr.write(`round ${rec.round}: eval ${rec.evalLoss.toFixed(4)} bytes ${rec.updateBytes[0]} rank ${rec.meanRank.toFixed(1)} relErr ${rec.relError.toFixed(3)} compress ${rec.compressSeconds[0].toFixed(3)} s agg ${rec.aggregateSeconds.toFixed(3)} s\n`);
      }
    },
  });
  const hostPerRound = r.costs.map((c) => c[0].compressSeconds + c[0].aggregateSeconds);
  line = {
    arm: "diloco",
    evalLoss: r.finalEvalLoss,
    curve: r.rounds.filter((x) => x.evalLoss !== undefined).map((x) => [x.round, Number(x.evalLoss!.toFixed(4))]),
    sent: r.bytesSentPerWorker,
    recv: r.bytesReceivedPerWorker,
    updateBytes: r.rounds[r.rounds.length - 1].updateBytes[0],
    meanRank: r.rounds.reduce((s, x) => s + x.meanRank, 0) / r.rounds.length,
    hostSecondsPerRound: hostPerRound.reduce((s, x) => s + x, 0) / hostPerRound.length,
    compression, outer, overlap: a.overlap, keepInner: a["keep-inner"],
  };
}
trainer.dispose();
const out = { label: a.label, model: a.model, K, R, H, B, innerLr: innerOpt.lr, minutes: (Date.now() - t0) / 60000, ...line };
appendFileSync(a.out!, JSON.stringify(out) + "\n");
console.log(JSON.stringify(out));
