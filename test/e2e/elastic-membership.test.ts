/**
 * Issue 11, elastic membership end to end with real processes: a job of 3 workers loses one for good
 * (SIGKILL, never restarted) and a new provider, started while every slot is still taken, joins the
 * running job as soon as the absent worker is removed, becomes active at the next round (training
 * from that round's global model, fetched by hash, and its own data shards), and the job completes.
 * Everyone honest is paid for exactly the rounds it did; the only penalty is the departed worker's
 * absence; a replay audit of the newcomer's first round matches its commitment.
 *
 * Chain time moves only where the protocol's deadline is under test (the dead worker's commit
 * window, once both survivors committed), so the test holds however loaded the machine is.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { getAddress, type Address } from "viem";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork, type WorkerProcess } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { TINY_MODEL } from "../../worker/diloco/model/config.ts";
import { createJobFromSpec, jobStatus } from "../../cli/poster/actions.ts";
import { packFolder, uploadFolder } from "../../cli/dataset.ts";
import { trainingMarketAbi } from "../../shared/abis.ts";
import { replayWorker } from "../../worker/node/audit.ts";

const ROUNDS = 8;
const PenaltyReason = ["Absent", "Dissent", "Excluded", "Fraud", "NoVote", "WrongResult", "LowBond"];

describe("elastic membership: a worker leaves for good, a new provider takes its slot, the job completes", { timeout: 900_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork();
  });
  after(async () => net?.stop());

  // synchronous schedule, and the one-step-delay overlap (the newcomer has no commitment in the round
  // before its first, so it trains that round from the round's own model, as every replayer computes it)
  for (const overlap of [false, true]) it(`kills one worker for good mid-job; a newcomer joins the running job and everyone honest is paid for its rounds (${overlap ? "overlap" : "synchronous"})`, async () => {
    // ---- a byte-level dataset (late joiners need one: shards are drawn per round and worker index)
    const tag = overlap ? "o" : "s";
    const inDir = path.join(net.dir, `texts-${tag}`);
    mkdirSync(inDir, { recursive: true });
    for (let i = 0; i < 8; i++) writeFileSync(path.join(inDir, `doc${i}.txt`), `Document ${i}: the quick brown fox jumps over the lazy dog. `.repeat(20));
    const packed = await packFolder({ inputs: [inDir], tokenizer: "byte", out: path.join(net.dir, `packed-${tag}`), shardTokens: 256, evalEvery: 4 });
    const up = await uploadFolder(path.join(net.dir, `packed-${tag}`), net.blobs);
    assert.equal(up.manifestHash, packed.manifestHash);

    const poster = hardhatAccount(1);
    await net.mint(poster.address, "10000");
    // 2, 3: stay; 4: leaves for good; 5: the newcomer (accounts 6–9 in the second run)
    const ids = (overlap ? [6, 7, 8, 9] : [2, 3, 4, 5]);
    for (const i of ids) {
      await net.mint(hardhatAccount(i).address, "1000");
      const key = await net.keystore(hardhatKey(i), `w${i}`);
      const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...net.workerArgs(`w${i}`, key)]);
      assert.equal(await reg.exited, 0, reg.lines.join("\n"));
    }
    const spec = makeSpec({
      rounds: ROUNDS, innerSteps: 4, batchSize: 4, workers: 3, commitWindow: 3600, voteWindow: 3600, name: "elastic",
      modelConfig: { ...TINY_MODEL, vocabSize: 256 },
      dataset: { hash: up.manifestHash, shardsPerRound: 1, description: "byte-level test documents" },
      ...(overlap ? { overlap: true, overlapStart: "eager-own" as const, outerMomentum: 0.5 } : {}),
    });
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    const args = (i: number) => ["run", "--job", jobId.toString(), ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)];
    const [a, b, victim] = ids.slice(0, 3).map((i) => net.spawnWorker(`w${i}`, args(i)));
    const addr = (k: number): Address => getAddress(hardhatAccount(ids[k - 2]).address); // k = 2..5 as named above

    // ---- round 0 finalizes with all three; then worker 4 is killed and never comes back
    await waitUntil(async () => (await net.reader.jobState(jobId)).currentRound >= 1, [a, b, victim]);
    victim.child.kill("SIGKILL");
    assert.notEqual(await victim.exited, 0, "the victim was killed");
    // the newcomer starts while every slot is taken: it waits for a free one
    const newcomer = net.spawnWorker(`w${ids[3]}`, args(ids[3]));

    // ---- the dead worker misses a round: once both survivors committed it, chain time passes its commit deadline
    const survivors = [a, b, newcomer];
    // the three started together: their indices are their join order
    const indexOf = async (k: number) => (await net.reader.slot(jobId, addr(k))).index;
    const both = (1 << (await indexOf(2))) | (1 << (await indexOf(3)));
    const victimBit = 1 << (await indexOf(4));
    await waitUntil(async () => {
      const slot = await net.reader.slot(jobId, addr(4));
      if (!slot.active) return true;
      const job = await net.reader.jobState(jobId);
      const rd = await net.reader.round(jobId, job.currentRound);
      const now = await net.reader.now();
      if ((rd.committedMask & both) === both && !(rd.committedMask & victimBit) && rd.voteDeadline === 0n && now <= rd.commitDeadline) {
        await net.warp(Number(rd.commitDeadline - now) + 1);
      }
      return false;
    }, survivors);
    const removedRound = await removalRound(net, jobId, addr(4));

    const codes = await Promise.all(survivors.map((p) => p.exited));
    assert.deepEqual(codes, [0, 0, 0], survivors.map((p) => p.lines.slice(-8).join("\n")).join("\n---\n"));

    // ---- the job completed, every round finalized
    const status = await jobStatus(net.reader, jobId);
    assert.equal(status.status, "Completed");
    assert.equal(status.losses.length, ROUNDS);
    assert.ok(status.losses.every((r) => r.status === "Finalized"), JSON.stringify(status.losses.map((r) => r.status)));

    // ---- the newcomer took a new index, joined while the job ran, and became active at a later round
    const slot5 = await net.reader.slot(jobId, addr(5));
    assert.equal(slot5.index, 3);
    assert.ok(newcomer.lines.some((l) => l.includes('"msg":"joined a running job: waiting for the next round"')), "the newcomer waited for its first round");
    const activated = await net.reader.client.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "WorkersActivated", args: { jobId }, fromBlock: 0n });
    assert.equal(activated.length, 1);
    assert.equal(activated[0].args.mask, 1 << 3);
    const firstRound = Number(activated[0].args.round);
    assert.ok(firstRound > removedRound && firstRound < ROUNDS, `activated at round ${firstRound}, the victim left in round ${removedRound}`);

    // ---- everyone honest is paid for exactly the rounds it did; the only penalty is the departure
    const finalized = await net.reader.client.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "RoundFinalized", args: { jobId }, fromBlock: 0n });
    const roundsRewarded = (index: number) => finalized.filter((e) => (Number(e.args.rewardedMask) >>> index) & 1).length;
    assert.equal(roundsRewarded(await indexOf(2)), ROUNDS);
    assert.equal(roundsRewarded(await indexOf(3)), ROUNDS);
    assert.equal(roundsRewarded(3), ROUNDS - firstRound, "the newcomer is paid for every round from its first");
    for (const k of [2, 3, 4, 5]) {
      assert.equal((await net.reader.slot(jobId, addr(k))).paidRounds, roundsRewarded(await indexOf(k)), `worker ${k}'s paid rounds`);
    }
    const pens = await net.reader.client.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "WorkerPenalized", args: { jobId }, fromBlock: 0n });
    assert.deepEqual(pens.map((p) => [getAddress(p.args.worker!), PenaltyReason[p.args.reason!]]), [[addr(4), "Absent"]]);

    // ---- the newcomer's first round replays bit for bit from public data (global model by hash, its shard)
    const audit = await replayWorker(net.reader, net.blobs, jobId, firstRound, addr(5));
    assert.equal(audit.match, true, JSON.stringify(audit, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
  });
});

/** Polls `done` until true; fails early when a process that should be running exited with an error. */
async function waitUntil(done: () => Promise<boolean>, procs: WorkerProcess[], timeoutMs = 600_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return;
    const failed = procs.find((p) => p.child.exitCode !== null && p.child.exitCode !== 0);
    assert.equal(failed, undefined, failed?.lines.slice(-8).join("\n"));
    assert.ok(Date.now() < end, `timed out; the workers' last lines:\n${procs.map((p) => p.lines.slice(-10).join("\n")).join("\n---\n")}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The round in which `worker` was removed (its WorkerPenalized Absent event's round). */
async function removalRound(net: TestNetwork, jobId: bigint, worker: Address): Promise<number> {
  const pens = await net.reader.client.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "WorkerPenalized", args: { jobId, worker }, fromBlock: 0n });
  assert.equal(pens.length, 1);
  return Number(pens[0].args.round);
}
