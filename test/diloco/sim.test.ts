import { test } from "node:test";
import assert from "node:assert/strict";
import { DILOCOX_COMPRESSION, FP32_COMPRESSION, INT8_COMPRESSION } from "../../worker/diloco/compress/index.ts";
import { initWorkerState, trainingStart } from "../../worker/diloco/round/index.ts";
import {
  LINK_1GBPS,
  ringAllReduceBytesSent,
  ringAllReduceSeconds,
  runDilocoSim,
  runSyncDataParallelSim,
  simulateTimeline,
  type WorkerRoundCost,
} from "../../worker/diloco/sim/index.ts";
import { createQuadraticTrainer, quadraticShards } from "./fixtures/quadratic-trainer.ts";

const evalTokens = new Uint8Array(8);
/** Outer momentum 0.5: the planted quadratic is solved almost exactly in a few rounds, where 0.9 overshoots. */
const outer = { lr: 0.7, momentum: 0.5, nesterov: true };
const base = {
  outer,
  shards: quadraticShards(3),
  rounds: 8,
  innerSteps: 5,
  batchSize: 8,
  seed: 3,
  evalTokens,
  evalEvery: 1,
};

test("DiLoCo fp32, int8 and DiLoCoX (low-rank 4-bit + EF) all train the quadratic; DiLoCoX sends far fewer bytes", async () => {
  const trainer = createQuadraticTrainer({ lr: 0.2 });
  const fp32 = await runDilocoSim({ ...base, trainer, compression: FP32_COMPRESSION, overlap: false });
  const int8 = await runDilocoSim({ ...base, trainer, compression: INT8_COMPRESSION, overlap: false });
  const x = await runDilocoSim({ ...base, trainer, compression: { ...DILOCOX_COMPRESSION, minRank: 1, maxRank: 3, energy: 0.9 }, overlap: false });
  const l0 = fp32.initialEvalLoss!;
  for (const [name, r] of [["fp32", fp32], ["int8", int8], ["dilocox", x]] as const) {
    assert.ok(r.finalEvalLoss! < 0.05 * l0, `${name}: ${r.finalEvalLoss} vs initial ${l0}`);
    assert.equal(r.rounds.length, 8);
    assert.equal(r.tokens, 3 * 8 * 5 * 8);
  }
  assert.ok(x.finalEvalLoss! < 3 * fp32.finalEvalLoss! + 0.05, `dilocox ${x.finalEvalLoss} vs fp32 ${fp32.finalEvalLoss}`);
  assert.ok(x.bytesSentPerWorker < fp32.bytesSentPerWorker / 4);
  assert.ok(int8.bytesSentPerWorker < fp32.bytesSentPerWorker / 2.5); // headers dominate on this tiny model
  assert.ok(x.rounds.every((r) => r.meanRank >= 1 && r.meanRank <= 3));
  // receive side of the blob-store model: K−1 other updates per round
  assert.ok(Math.abs(fp32.bytesReceivedPerWorker - 2 * fp32.bytesSentPerWorker) < 1e-6);
});

test("one-step-delay start points: eager applies the outer step with the worker's own Δ; local rebases its params", () => {
  const x0 = { step: 0, params: Float32Array.from([1, 1]), momentum: new Float32Array(2) };
  const o = { lr: 0.5, momentum: 0.5, nesterov: true };
  const ws0 = initWorkerState();
  assert.deepEqual(trainingStart(x0, ws0, "eager", o), x0.params, "round 0 starts from x_0");
  assert.deepEqual(trainingStart(x0, ws0, "local", o), x0.params);
  const theta0 = Float32Array.from([0.5, 2]); // Δ⁰ = [0.5, −1]
  const ws1 = { residual: null, lastStart: x0.params, lastLocal: theta0 };
  // local: x_0 is still the newest global model at round 1, so it starts exactly from θ⁰
  assert.deepEqual(trainingStart(x0, ws1, "local", o), theta0);
  // eager: outer(x_0, b = 0, Δ⁰): b = Δ⁰, u = 1.5·Δ⁰, x = x_0 − 0.75·Δ⁰ = [0.625, 1.75]
  assert.deepEqual(trainingStart(x0, ws1, "eager", o), Float32Array.from([0.625, 1.75]));
  const x1 = { step: 1, params: Float32Array.from([0.75, 1.25]), momentum: Float32Array.from([0.5, -1]) };
  const theta1 = Float32Array.from([0.25, 2.5]);
  const ws2 = { residual: null, lastStart: theta0, lastLocal: theta1 };
  // local: θ¹ + (x¹ − s¹) = [0.25 + 0.25, 2.5 − 0.75]
  assert.deepEqual(trainingStart(x1, ws2, "local", o), Float32Array.from([0.5, 1.75]));
  // eager: Δ¹ = s¹ − θ¹ = [0.25, −0.5]; b = [0.5, −1]; u = Δ¹ + 0.5·b = [0.5, −1]; x = x¹ − 0.5·u = [0.5, 1.75]
  assert.deepEqual(trainingStart(x1, ws2, "eager", o), Float32Array.from([0.5, 1.75]));
  assert.deepEqual(trainingStart(x1, ws2, "off", o), x1.params, "without overlap every round starts from the global model");
});

test("overlap mode trains too, and runs are reproducible (same per-round hashes)", async () => {
  const trainer = createQuadraticTrainer({ lr: 0.2 });
  const cfg = { ...base, trainer, compression: { ...DILOCOX_COMPRESSION, minRank: 1, maxRank: 3, energy: 0.9 }, overlap: true };
  const a = await runDilocoSim(cfg);
  const b = await runDilocoSim(cfg);
  assert.ok(a.finalEvalLoss! < 0.05 * a.initialEvalLoss!, `${a.finalEvalLoss} vs ${a.initialEvalLoss}`);
  assert.equal(a.finalHash, b.finalHash);
  assert.deepEqual(a.rounds.map((r) => r.updateHashes), b.rounds.map((r) => r.updateHashes));
  const sync = await runDilocoSim({ ...cfg, overlap: false });
  assert.notEqual(sync.finalHash, a.finalHash);
  const local = await runDilocoSim({ ...cfg, overlapStart: "local" });
  assert.ok(local.finalEvalLoss! < 0.05 * local.initialEvalLoss!, `local rule: ${local.finalEvalLoss}`);
  assert.notEqual(local.finalHash, a.finalHash);
});

test("timeline: hand-computed wall clock with and without overlap", () => {
  const link = { name: "8 Mbps", bandwidthBps: 8e6, latencySeconds: 0 };
  const c: WorkerRoundCost = { trainSeconds: 10, compressSeconds: 0, uploadBytes: 1e6, aggregateSeconds: 0 };
  const rounds = [[c, c], [c, c]];
  // sync: train 10, upload 1 s, download the other 1 s → 12 per round
  const s = simulateTimeline(rounds, link, false);
  assert.equal(s.wallSeconds, 24);
  assert.deepEqual(s.roundDone, [12, 24]);
  assert.equal(s.utilization, 20 / 24);
  // overlap: round 1 trains 10..20 while round 0 communicates; round 1's upload 20..21, download 21..22
  const o = simulateTimeline(rounds, link, true);
  assert.equal(o.wallSeconds, 22);
  assert.equal(o.utilization, 20 / 22);
  // communication longer than compute: overlap hides at most the compute
  const slow = { ...c, uploadBytes: 2e7 }; // 20 s each way
  const os = simulateTimeline([[slow, slow], [slow, slow], [slow, slow]], link, true);
  const ss = simulateTimeline([[slow, slow], [slow, slow], [slow, slow]], link, false);
  assert.ok(os.wallSeconds < ss.wallSeconds);
  assert.equal(ss.wallSeconds, 3 * 50);
  // host work (compress 2 s, aggregate 3 s) is on the critical path without overlap, hidden with it
  const h: WorkerRoundCost = { trainSeconds: 10, compressSeconds: 2, uploadBytes: 1e6, aggregateSeconds: 3 };
  const hs = simulateTimeline([[h, h], [h, h]], link, false);
  assert.deepEqual(hs.roundDone, [17, 34]); // 10 train + 2 compress + 1 up + 1 down + 3 aggregate
  const ho = simulateTimeline([[h, h], [h, h], [h, h]], link, true);
  assert.deepEqual(ho.roundDone, [17, 27, 37]); // round r+1 trains from t = 10·(r+1) while r is exchanged
  assert.equal(ho.utilization, 30 / 37);
});

test("ring all-reduce cost model and the synchronous data-parallel baseline", async () => {
  assert.ok(Math.abs(ringAllReduceSeconds(4e6, 4, LINK_1GBPS) - 6 * (0.02 + 0.008)) < 1e-12);
  assert.equal(ringAllReduceBytesSent(4e6, 4), 6e6);
  assert.equal(ringAllReduceSeconds(4e6, 1, LINK_1GBPS), 0);
  const trainer = createQuadraticTrainer({ lr: 0.2 });
  const r = await runSyncDataParallelSim({ trainer, shards: base.shards, steps: 40, batchSize: 8, seed: 3, evalTokens, links: [LINK_1GBPS] });
  assert.ok(r.finalEvalLoss! < 0.05 * r.initialEvalLoss!);
  assert.equal(r.tokens, 40 * 8 * 3);
  assert.equal(r.bytesSentPerWorker, 40 * ringAllReduceBytesSent(trainer.layout.size * 4, 3));
  const t = r.timelines[0];
  assert.ok(t.utilization > 0 && t.utilization < 1);
  assert.ok(Math.abs(t.wallSeconds - 40 * (r.stepComputeSecondsPerWorker + ringAllReduceSeconds(trainer.layout.size * 4, 3, LINK_1GBPS))) < 1e-9);
});

test("timeline: host work longer than a round's training stays on the critical path under overlap (one host, serial)", () => {
  const link = { name: "8 Mbps", bandwidthBps: 8e6, latencySeconds: 0 };
  // train 1 s, compress 2 s, aggregate 3 s, transfers 0.125 s each way
  const h: WorkerRoundCost = { trainSeconds: 1, compressSeconds: 2, uploadBytes: 125000, aggregateSeconds: 3 };
  const o = simulateTimeline([[h], [h], [h]], link, true);
  // one worker (no download): r0 train 0–1, compress 1–3, up 3–3.125, aggregate 3.125–6.125
  // r1 train 1–2 (needs x_0 only), compress 6.125–8.125 (host busy until then), aggregate 8.25–11.25
  // r2 starts at max(2, aggDone_0 = 6.125), trains 6.125–7.125, compress 11.25–13.25, up –13.375, aggregate –16.375
  assert.deepEqual(o.roundDone, [6.125, 11.25, 16.375]);
  assert.equal(o.utilization, 3 / 16.375);
});
