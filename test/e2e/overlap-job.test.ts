/**
 * The one-step-delay overlap in the node (issue 11): three worker processes run an overlapped job
 * (eager-own, AdamW state and residual carried) on a real chain. Each trains round r + 1 right after
 * committing round r; one is killed (SIGKILL) between its commit of round 1 and its commit of round 2,
 * while it trains round 2 ahead, and restarted. Every worker is paid for every round and never
 * penalised, the final model on chain equals the engine's simulation of the same schedule, audits of
 * the overlapped rounds 2 and 3 reproduce the commitments from their snapshots, and the referees'
 * replay of a round's start and the worker's own witnesses agree with its committed trace.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { parseEther, zeroHash, type Address } from "viem";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork, type WorkerProcess } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { createJobFromSpec, jobStatus } from "../../cli/poster/actions.ts";
import { trainingMarketAbi } from "../../shared/abis.ts";
import { fetchGlobalState, loadJobContext, type JobContext } from "../../worker/node/job-context.ts";
import { runDilocoSim } from "../../worker/diloco/sim/diloco.ts";
import { decodeUpdate } from "../../worker/diloco/format/update.ts";
import { decodeSnapshot } from "../../worker/diloco/trace/snapshot.ts";
import { contextHash, digestF32, stateLeaf, zeroDigest } from "../../worker/diloco/trace/index.ts";
import { compressionMatches, judgeStep, replayRoundStart } from "../../worker/node/step-judge.ts";
import { compressWorkerUpdate } from "../../worker/diloco/round/index.ts";
import { loadRoundStart, loadTrace, witnessAt, witnessLeaf } from "../../worker/node/round-trace.ts";

describe("an overlapped job (one-step delay) with a worker killed mid-schedule", { timeout: 900_000 }, () => {
  let net: TestNetwork;
  let ctx: JobContext | undefined;
  before(async () => {
    net = await startTestNetwork();
  });
  after(async () => {
    await ctx?.trainer.dispose();
    await net?.stop();
  });

  it("trains ahead, resumes the victim, pays everyone, ends on the simulated model and audits from snapshots", async () => {
    const poster = hardhatAccount(1);
    await net.mint(poster.address, "10000");
    const ids = [2, 3, 4];
    for (const i of ids) {
      await net.mint(hardhatAccount(i).address, "1000");
      const key = await net.keystore(hardhatKey(i), `w${i}`);
      const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...net.workerArgs(`w${i}`, key)]);
      assert.equal(await reg.exited, 0, reg.lines.join("\n"));
    }
    const rounds = 4;
    // windows are chain seconds and the chain follows the wall clock: generous for a loaded machine
    const spec = makeSpec({ model: "tiny", rounds, innerSteps: 4, workers: 3, commitWindow: 900, voteWindow: 900, overlap: true, keepInnerState: true, outerMomentum: 0.5 });
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    const args = (i: number) => ["run", "--job", jobId.toString(), ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)];
    const procs: WorkerProcess[] = ids.map((i) => net.spawnWorker(`w${i}`, args(i)));

    // the victim trains round 2 ahead right after committing round 1: kill it during that training
    const victim = procs[0];
    await victim.waitFor(/"msg":"committed".*"round":1,/, 300_000);
    await victim.waitFor(/"msg":"training","jobId":"[0-9]+","round":2,"step":1,/, 300_000);
    assert.ok(!victim.lines.some((l) => /"msg":"committed".*"round":2,/.test(l)), "killed before its commit of round 2");
    victim.child.kill("SIGKILL");
    assert.notEqual(await victim.exited, 0, "the victim was killed");
    const restarted = net.spawnWorker(`w${ids[0]}-restarted`, args(ids[0]));
    const all = [restarted, procs[1], procs[2]];
    const codes = await Promise.all(all.map((p) => p.exited));
    assert.deepEqual(codes, [0, 0, 0], all.map((p) => p.lines.slice(-10).join("\n")).join("\n---\n"));

    const status = await jobStatus(net.reader, jobId);
    assert.equal(status.status, "Completed");
    assert.ok(status.losses.every((r) => r.status === "Finalized"), JSON.stringify(status.losses));
    for (const i of ids) {
      const who = hardhatAccount(i).address;
      const slot = await net.reader.slot(jobId, who);
      assert.equal(BigInt(slot.paidRounds) * BigInt((await net.reader.jobParams(jobId)).rewardPerRound), BigInt(rounds) * parseEther("10"), `worker ${i} was paid for every round`);
      const pens = await net.reader.client.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "WorkerPenalized", args: { jobId, worker: who }, fromBlock: 0n });
      assert.equal(pens.length, 0, `worker ${i} was never penalised`);
    }
    // the schedule overlapped: rounds 1.. were trained ahead from the previous round's state
    for (const p of [procs[1], procs[2]]) {
      for (let r = 1; r < rounds; r++) {
        assert.ok(p.lines.some((l) => new RegExp(`"msg":"training ahead".*"round":${r},`).test(l)), `round ${r} trained ahead`);
        assert.ok(p.lines.some((l) => new RegExp(`"msg":"trained".*"round":${r},.*"from":"previous round"`).test(l)), `round ${r} started from round ${r - 1}'s state`);
      }
    }
    // the restarted worker resumed round 2 from its persisted state (no second join)
    assert.ok(restarted.lines.some((l) => /"msg":"trained".*"round":2,.*"from":"previous round"/.test(l)), restarted.lines.slice(0, 30).join("\n"));
    assert.ok(restarted.lines.some((l) => /"msg":"committed".*"round":2,/.test(l)));
    assert.ok(!restarted.lines.some((l) => l.includes('"msg":"joined job"')), "it did not need to join again");

    // the final model on chain is the engine's simulation of the same overlapped schedule
    const job = await net.reader.jobState(jobId);
    const params = await net.reader.jobParams(jobId);
    ctx = await loadJobContext({ jobId, params, workerCount: job.workerCount, blobs: net.blobs });
    const workers = (await net.reader.workers(jobId)) as Address[];
    const sim = await runDilocoSim({
      trainer: ctx.trainer,
      shards: await Promise.all(workers.map((_, i) => ctx!.shardFor(0, i))),
      rounds,
      innerSteps: spec.training.innerSteps,
      batchSize: spec.training.batchSize,
      seed: Number(spec.training.seed),
      compression: spec.training.compression,
      outer: spec.training.outer,
      overlap: true,
      overlapStart: "eager-own",
      keepInnerState: true,
      initParams: (await fetchGlobalState(ctx, net.blobs, params.initialModelHash)).params,
      addresses: workers,
    });
    assert.equal(job.modelHash.toLowerCase(), sim.finalHash, "the chain's final model is the simulated one");

    // audits of the overlapped rounds start from the snapshots the updates name
    const victimAddr = hardhatAccount(ids[0]).address;
    const index = (await net.reader.slot(jobId, victimAddr)).index;
    const starts = await net.reader.roundStartHashes(jobId);
    const commit3 = (await net.reader.commitments(jobId, 3)).find((c) => c.worker === victimAddr)!;
    const snap = decodeSnapshot(await net.blobs.get(decodeUpdate(await net.blobs.get(commit3.updateHash), { expectedLayout: ctx.trainer.layout }).stateRef!));
    assert.equal(snap.overlap?.start, "eager-own");
    assert.equal(snap.overlap?.workers, 3);
    assert.ok(snap.overlap?.carry, "round 3 carries round 2's start and trained parameters");
    assert.equal(snap.startModelHash, starts.get(2)!.toLowerCase(), "round 3 derives from round 2's start model");
    const auditorKey = await net.keystore(hardhatKey(9), "auditor");
    for (const round of [2, 3]) {
      const audit = net.spawnWorker(`audit-${round}`, ["audit", "--job", jobId.toString(), "--round", String(round), "--worker", victimAddr, ...net.workerArgs("auditor", auditorKey)]);
      assert.equal(await audit.exited, 0, audit.lines.join("\n"));
      const result = JSON.parse(audit.lines.find((l) => l.startsWith("{") && l.includes('"match"'))!);
      assert.equal(result.match, true, audit.lines.join("\n"));
      assert.equal(result.from, "snapshot");
      assert.deepEqual(result.replayedRounds, [round - 1, round]);
    }

    // disputes: the referees' replay of round 3's start is the worker's leaf 0, and the worker's own
    // witnesses (from its saved start point) rebuild its committed leaves
    const dir = path.join(net.dir, "workers", `w${ids[0]}`, "jobs", jobId.toString());
    const trace = await loadTrace(dir, 3);
    assert.ok(trace, "the worker kept round 3's trace");
    const start = await replayRoundStart(ctx, net.reader, net.blobs, jobId, 3, victimAddr, index);
    assert.equal(start.startModelHash.toLowerCase(), starts.get(2)!.toLowerCase());
    const n = ctx.trainer.layout.size;
    const c = contextHash({ startModelHash: start.startModelHash, round: 3, workerIndex: index, residualDigest: digestF32(start.residual) });
    const leaf0 = stateLeaf(c, 0, start.innerState?.t ?? 0, { params: digestF32(start.params), m: start.innerState ? digestF32(start.innerState.m) : zeroDigest(n), v: start.innerState ? digestF32(start.innerState.v) : zeroDigest(n) });
    assert.equal(leaf0, trace!.leaves[0], "leaf 0 replayed by a referee");
    const saved = await loadRoundStart(dir, ctx, trace!, await fetchGlobalState(ctx, net.blobs, trace!.startModelHash));
    assert.deepEqual(saved.params, start.params, "the saved start point is the replayed one");
    const H = spec.training.innerSteps;
    const witness = await witnessAt(ctx, saved, H);
    assert.equal(witnessLeaf(witness), trace!.leaves[H], "the witness of the last step");
    // the referees' verdicts: leaf 0 (no witness needed) and the compression H → H + 1 against the
    // replayed start point; an update compressed against the round's basis model instead is wrong
    const judge = { reader: net.reader, blobs: net.blobs, game: net.addresses.game!, log: () => undefined };
    const dispute = { id: 0n, jobId, round: 3, worker: victimAddr, traceRoot: commit3.traceRoot };
    assert.equal(await judgeStep(judge, { ...dispute, lo: -1, hi: 0, loLeaf: zeroHash, hiLeaf: trace!.leaves[0] }), true, "the honest leaf 0");
    assert.equal(await judgeStep(judge, { ...dispute, lo: -1, hi: 0, loLeaf: zeroHash, hiLeaf: trace!.leaves[1] }), false, "a wrong leaf 0");
    const last = { ...dispute, lo: H, hi: H + 1, loLeaf: trace!.leaves[H], hiLeaf: trace!.leaves[H + 1] };
    assert.equal(trace!.leaves[H + 1], commit3.updateHash.toLowerCase());
    assert.equal(await compressionMatches(ctx, net.reader, net.blobs, last, witness, index, trace!.startModelHash), true, "the committed compression");
    const basis = await fetchGlobalState(ctx, net.blobs, trace!.startModelHash);
    const t = spec.training;
    const wrong = compressWorkerUpdate({ start: basis.params, trained: witness.params, residual: witness.residual, layout: ctx.trainer.layout, compression: t.compression, seed: BigInt(t.seed), round: 3, workerIndex: index, stateRef: decodeUpdate(await net.blobs.get(commit3.updateHash), { expectedLayout: ctx.trainer.layout }).stateRef });
    await net.blobs.put(wrong.bytes);
    assert.equal(await compressionMatches(ctx, net.reader, net.blobs, { ...last, hiLeaf: wrong.hash }, witness, index, trace!.startModelHash), false, "Δ against the basis model instead of the start point");
  });
});
