/**
 * Probe of one-step-delay start rules and outer momenta on the half-width model, 12 rounds of H = 10
 * (K = 4, batch 8, DiLoCoX rank 8, 2-bit, warm start, EF): final eval loss and, per round, how far the
 * workers' start points are from the global model they stand in for (‖s_i − x_r‖ / ‖x_r − x_{r−1}‖).
 *
 *   nice -n 10 ./run exec node bench/diloco/overlap-probe.ts off:0.9 eager-mix:0.9 eager-own:0.9 eager-mix:0.7
 */
import { DILOCOX_COMPRESSION } from "../../worker/diloco/compress/index.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import { runDilocoSim } from "../../worker/diloco/sim/index.ts";
import { createTrainer, DEFAULT_INNER_OPT } from "../../worker/diloco/trainer/index.ts";
import { HALF_MODEL } from "./models.ts";
const R = 12, H = 10, B = 8, K = 4;
const sharded = makeShards(loadCorpus(), { workers: K });
const innerOpt = { ...DEFAULT_INNER_OPT, totalSteps: 500, warmupSteps: 50 };
const trainer = await createTrainer(HALF_MODEL, innerOpt);
const init = await trainer.initParams(1);
const comp = { ...DILOCOX_COMPRESSION, minRank: 8, maxRank: 8, bits: 2, vectorBits: 2, blockSize: 128, warmStart: true, entropyCoding: true, layoutHash: true };
const variants = process.argv.slice(2).map((a) => [a.split(":")[0], Number(a.split(":")[1])] as const);
for (const [mode, mom] of variants as ["off" | "eager" | "eager-mix" | "eager-own" | "local", number][]) {
  const r = await runDilocoSim({ trainer, shards: sharded.shards, rounds: R, innerSteps: H, batchSize: B, seed: 1, compression: comp,
    outer: { lr: 0.7, momentum: mom, nesterov: true }, overlap: mode !== "off", overlapStart: mode === "off" ? undefined : mode,
    keepInnerState: true, initParams: init, evalTokens: sharded.eval, evalEvery: 0, evalBatches: 8, evalBatchSize: 32 });
  console.log(`${mode} μ=${mom}: eval ${r.finalEvalLoss!.toFixed(4)} startErr ${r.rounds.map((x) => x.startError.toFixed(2)).join(" ")}`);
}
trainer.dispose();
