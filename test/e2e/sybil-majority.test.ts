import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getAddress, parseEther, type Address } from "viem";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork, type WorkerProcess } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { createJobFromSpec, jobStatus } from "../../cli/poster/actions.ts";
import { disputeGameAbi, testTokenAbi, trainingMarketAbi } from "../../shared/abis.ts";

/** ITrainingMarket.PenaltyReason (shared/types.ts lists only the first five). */
const PenaltyReason = ["Absent", "Dissent", "Excluded", "Fraud", "NoVote", "WrongResult", "LowBond"] as const;

const ADVERSARY = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "adversarial-worker.ts");
const REWARD = parseEther("10");
const BOND = parseEther("50");

/** Everything an account holds in the protocol's token: wallet, registry stake, market and game balances. */
async function wealth(net: TestNetwork, who: Address): Promise<bigint> {
  const c = net.reader.client;
  const wallet = await c.readContract({ address: net.addresses.token, abi: testTokenAbi, functionName: "balanceOf", args: [who] });
  const stake = (await net.reader.provider(who)).stake;
  const market = await net.reader.balanceOf(who);
  const game = await c.readContract({ address: net.addresses.game!, abi: disputeGameAbi, functionName: "balanceOf", args: [who] });
  return wallet + stake + market + game;
}

/**
 * Issue 13, attack 3 end to end with real processes: two Sybil workers of three finalize a made-up
 * model that excludes the honest worker (2 of 3 at quorum 6666); the honest node sees that the
 * finalized outcome is not the deterministic aggregate it computed and challenges the round by
 * itself; three referee processes (providers outside the job) recompute the round and vote; the
 * dispute resolves: the Sybils lose their whole bond and the round's reward, the job fails (later
 * rounds were built on a wrong model), and the honest worker ends with at least what it had plus
 * the round's reward.
 *
 * Windows: the commit and vote windows are an hour, so no honest process can miss one however
 * loaded the machine is; in round 1 the Sybils do not vote (they wait to see whether the fraud
 * survives), so round 1 cannot close before the verdict. The one deadline the test needs passed (the
 * challenge window before bonds are released) is passed by moving chain time.
 */
describe("a Sybil majority finalizing garbage is challenged by the honest node and slashed by referees", { timeout: 1_200_000 }, () => {
  let net: TestNetwork;
  const poster = hardhatAccount(1);
  const honest = hardhatAccount(2).address;
  const sybils = [hardhatAccount(3).address, hardhatAccount(4).address];
  const refereeIds = [5, 6, 7];
  const referees: WorkerProcess[] = [];
  before(async () => {
    net = await startTestNetwork();
    await net.mint(poster.address, "100000");
    for (const i of [2, 3, 4, ...refereeIds]) {
      await net.mint(hardhatAccount(i).address, "1000");
      const key = await net.keystore(hardhatKey(i), `w${i}`);
      const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...net.workerArgs(`w${i}`, key)]);
      assert.equal(await reg.exited, 0, reg.lines.join("\n"));
    }
    for (const i of refereeIds) referees.push(net.spawnWorker(`referee${i}`, ["referee", ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)]));
    for (const r of referees) await r.waitFor(/"registered as referee"/, 300_000);
  });
  after(async () => net?.stop());

  it("the honest node challenges, referees overturn the round, the Sybils are slashed and the honest worker is paid", async () => {
    const game = net.addresses.game!;
    const c = net.reader.client;
    assert.equal((await c.readContract({ address: game, abi: disputeGameAbi, functionName: "referees" })).length, 3);
    const before = new Map<Address, bigint>();
    for (const w of [honest, ...sybils]) before.set(w, await wealth(net, w));

    const spec = makeSpec({ model: "tiny", rounds: 2, innerSteps: 6, workers: 3, commitWindow: 3600, voteWindow: 3600 });
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    const args = (i: number) => ["run", "--job", jobId.toString(), ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)];
    const procs = [
      net.spawnWorker("w2-honest", args(2)),
      ...[3, 4].map((i) => net.spawnWorker(`w${i}-sybil`, args(i).slice(1), { script: ADVERSARY, env: { ADVERSARY: "sybil", SYBILS: sybils.join(","), SYBIL_ROUNDS: "0" } })),
    ];
    const codes = await Promise.all(procs.map((p) => p.exited));
    assert.deepEqual(codes, [0, 0, 0], procs.map((p) => p.lines.slice(-8).join("\n")).join("\n---\n"));

    // the Sybils finalized round 0 with a mask that excludes the honest worker
    const workers = await net.reader.workers(jobId);
    const hBit = 1 << workers.findIndex((w) => w === honest);
    const fin = await c.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "RoundFinalized", args: { jobId, round: 0 }, fromBlock: 0n });
    assert.equal(fin.length, 1);
    assert.equal(fin[0].args.includedMask! & hBit, 0, "the Sybils' outcome excludes the honest worker");

    // the honest node challenged by itself, saying why
    const challengedLine = procs[0].lines.find((l) => l.includes('"challenged a wrong finalized round"'));
    assert.ok(challengedLine, procs[0].lines.slice(-20).join("\n"));
    assert.match(challengedLine, /deterministic aggregate/);
    const challenges = await c.getContractEvents({ address: game, abi: disputeGameAbi, eventName: "RoundChallenged", args: { jobId }, fromBlock: 0n });
    assert.equal(challenges.length, 1, "one challenge, by the honest worker");
    assert.equal(getAddress(challenges[0].args.challenger!), honest);
    assert.equal(challenges[0].args.round, 0);
    assert.equal(challenges[0].args.settlement, false);
    const id = challenges[0].args.id!;

    // three referees recomputed the round and voted the same outcome; none was slashed
    const votes = await c.getContractEvents({ address: game, abi: disputeGameAbi, eventName: "RefereeVoted", args: { id }, fromBlock: 0n });
    assert.equal(votes.length, 3);
    assert.equal(new Set(votes.map((v) => v.args.vote)).size, 1, "the referees agree");
    assert.equal((await c.getContractEvents({ address: game, abi: disputeGameAbi, eventName: "RefereeSlashed", fromBlock: 0n })).length, 0);
    const resolved = await c.getContractEvents({ address: game, abi: disputeGameAbi, eventName: "DisputeResolved", args: { id }, fromBlock: 0n });
    assert.equal(resolved.length, 1);
    assert.equal(resolved[0].args.verdict, 0, "upheld");
    assert.equal(resolved[0].args.wrongMask, fin[0].args.includedMask, "every voter of the Sybils' outcome was wrong");
    const overturned = await c.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "RoundOverturned", args: { jobId, round: 0 }, fromBlock: 0n });
    assert.equal(overturned.length, 1);
    assert.ok(overturned[0].args.includedMask! & hBit, "the correct outcome includes the honest worker");
    assert.ok(overturned[0].args.honestMask! & hBit);
    for (const r of referees) assert.ok(r.lines.some((l) => l.includes('"recomputed a disputed round"')), r.lines.slice(-10).join("\n"));

    // the job fails: later rounds were built on a wrong model
    assert.equal((await jobStatus(net.reader, jobId)).status, "Failed");

    // the Sybils lose their whole bond and the round's reward, and leave the job
    const pens = await c.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "WorkerPenalized", args: { jobId }, fromBlock: 0n });
    const clawed = await c.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "RewardClawedBack", args: { jobId }, fromBlock: 0n });
    for (const s of sybils) {
      const slot = await net.reader.slot(jobId, s);
      assert.equal(slot.bond, 0n, "whole bond slashed");
      assert.equal(slot.active, false);
      assert.equal(slot.paidRounds, 0, "the round's reward is clawed back");
      assert.ok(pens.some((p) => getAddress(p.args.worker!) === s && PenaltyReason[p.args.reason!] === "WrongResult"));
      assert.ok(clawed.some((e) => getAddress(e.args.worker!) === s && e.args.round === 0));
    }
    // the honest worker was only penalised by the Sybils' finalization (dissent or excluded), which is refunded
    assert.deepEqual(pens.filter((p) => getAddress(p.args.worker!) === honest).map((p) => [PenaltyReason[p.args.reason!], p.args.round]).filter(([r]) => r !== "Dissent" && r !== "Excluded"), []);

    // after the challenge window, bonds and rewards are released (chain time moved past it)
    await net.warp(Number(spec.market.challengeWindow) + 1);
    const deployer = net.senderFor(net.deployer);
    for (const w of [honest, ...sybils]) {
      const slot = await net.reader.slot(jobId, w);
      if (!slot.bondReleased) await deployer.send({ address: net.addresses.market, abi: trainingMarketAbi, functionName: "releaseBond", args: [jobId, w] });
    }
    const hSlot = await net.reader.slot(jobId, honest);
    const earned = REWARD * BigInt(1 + hSlot.paidRounds); // round 0 (compensated) + any paid round
    const after = await wealth(net, honest);
    assert.ok(after >= before.get(honest)! + earned, `honest worker ends with at least its stake plus what it earned: ${after} < ${before.get(honest)! + earned}`);
    for (const s of sybils) {
      const after = await wealth(net, s);
      assert.ok(after <= before.get(s)! - BOND, `Sybil ${s} lost at least its bond (${before.get(s)} → ${after})`);
    }
  });
});
