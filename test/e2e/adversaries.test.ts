import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getAddress, parseEther, parseEventLogs, type Address } from "viem";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork, type WorkerProcess } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { createJobFromSpec, jobStatus } from "../../cli/poster/actions.ts";
import { disputeGameAbi, trainingMarketAbi } from "../../shared/abis.ts";
import { PenaltyReason } from "../../shared/types.ts";

const ADVERSARY = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "adversarial-worker.ts");
const REWARD = parseEther("10");

/** Every WorkerPenalized event of a job, as [worker, reason, round]. */
async function penalties(net: TestNetwork, jobId: bigint): Promise<[Address, string, number][]> {
  const logs = await net.reader.client.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "WorkerPenalized", args: { jobId }, fromBlock: 0n });
  return logs.map((l) => [getAddress(l.args.worker!), PenaltyReason[l.args.reason!], Number(l.args.round)]);
}

/** What `who` earned in the job: paid rounds × reward, accrued per job and credited when its bond is released after the challenge window (issue 13). */
async function rewardsOf(net: TestNetwork, jobId: bigint, who: Address): Promise<bigint> {
  const slot = await net.reader.slot(jobId, who);
  return BigInt(slot.paidRounds) * BigInt((await net.reader.jobParams(jobId)).rewardPerRound);
}

/**
 * Windows are sized so that no honest worker can miss them however loaded the machine is (the rounds
 * end as soon as everyone committed and voted); where the protocol's deadline itself is under test
 * (the silent worker), the test moves chain time past it once every other worker has committed,
 * instead of waiting for wall-clock time and hoping the honest workers were fast enough.
 */
describe("misbehaving workers are penalised or caught while honest ones are paid in full", { timeout: 1_200_000 }, () => {
  let net: TestNetwork;
  const poster = hardhatAccount(1);
  before(async () => {
    net = await startTestNetwork();
    await net.mint(poster.address, "100000");
    for (let i = 2; i <= 12; i++) {
      await net.mint(hardhatAccount(i).address, "1000");
      const key = await net.keystore(hardhatKey(i), `w${i}`);
      const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...net.workerArgs(`w${i}`, key)]);
      assert.equal(await reg.exited, 0, reg.lines.join("\n"));
    }
  });
  after(async () => net?.stop());

  function launch(jobId: bigint, roles: Record<number, string | undefined>): Map<number, WorkerProcess> {
    const procs = new Map<number, WorkerProcess>();
    for (const [i, role] of Object.entries(roles)) {
      const args = ["run", "--job", jobId.toString(), ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)];
      procs.set(Number(i), role
        ? net.spawnWorker(`w${i}-${role}`, args.slice(1), { script: ADVERSARY, env: { ADVERSARY: role } })
        : net.spawnWorker(`w${i}`, args));
    }
    return procs;
  }

  it("garbage uploads are excluded and penalised, wrong votes are penalised as dissent", async () => {
    const spec = makeSpec({ model: "tiny", rounds: 2, innerSteps: 6, workers: 5, commitWindow: 3600, voteWindow: 3600 });
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    // join order fixes the worker indices: honest 2, 3, 4; garbage 5; wrong-vote 6
    const procs = launch(jobId, { 2: undefined, 3: undefined, 4: undefined, 5: "garbage", 6: "wrong-vote" });
    const codes = await Promise.all([...procs.values()].map((p) => p.exited));
    assert.deepEqual(codes, [0, 0, 0, 0, 0], [...procs.values()].map((p) => p.lines.slice(-6).join("\n")).join("\n---\n"));
    assert.equal((await jobStatus(net.reader, jobId)).status, "Completed");

    for (const i of [2, 3, 4]) assert.equal(await rewardsOf(net, jobId, hardhatAccount(i).address), 2n * REWARD, `honest worker ${i} paid in full`);
    const garbage = hardhatAccount(5).address;
    const wrong = hardhatAccount(6).address;
    assert.equal(await rewardsOf(net, jobId, garbage), 0n);
    const pens = await penalties(net, jobId);
    assert.deepEqual(pens.filter(([w]) => w === garbage).map(([, r]) => r), ["Excluded", "Excluded"], "garbage excluded and penalised each round");
    // the wrong voter dissents whenever its vote lands before the quorum; it is never paid for a round it dissented in
    const dissents = pens.filter(([w, r]) => w === wrong && r === "Dissent").length;
    assert.equal(await rewardsOf(net, jobId, wrong), BigInt(2 - dissents) * REWARD);
    assert.ok(pens.every(([w]) => ![2, 3, 4].map((i) => hardhatAccount(i).address).includes(w)), "honest workers are never penalised");
    // honest workers excluded the garbage with a reason in their logs
    assert.ok(procs.get(2)!.lines.some((l) => l.includes("excluded an update") && l.includes(garbage)));
    // every node checks each closed round; the rounds were correct, so nobody challenged one (a bond lost)
    const challenges = await net.reader.client.getContractEvents({ address: net.addresses.game!, abi: disputeGameAbi, eventName: "RoundChallenged", args: { jobId }, fromBlock: 0n });
    assert.deepEqual(challenges, [], "no node challenges a correct round");
  });

  it("a silent worker is penalised and removed; copied and perturbed updates are caught by replay audits and slashed", async () => {
    const spec = makeSpec({ model: "tiny", rounds: 2, innerSteps: 6, workers: 6, commitWindow: 3600, voteWindow: 3600 });
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    const procs = launch(jobId, { 7: undefined, 8: undefined, 9: undefined, 10: "copy", 11: "perturb", 12: "silent" });
    // a byte-for-byte copy of another worker's update is refused on chain (DuplicateUpdate, issue 13):
    // the copier never commits. Once the four others committed round 0 and the copier was refused,
    // chain time jumps past the commit deadline: the silent worker and the copier are absent by the
    // protocol's clock, whatever the machine's speed
    for (;;) {
      const commits = await net.reader.client.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "UpdateCommitted", args: { jobId, round: 0 }, fromBlock: 0n });
      const refused = procs.get(10)!.lines.some((l) => l.includes('"commit not accepted"') && l.includes("DuplicateUpdate"));
      if (commits.length >= 4 && refused) break;
      const exitedEarly = [...procs.values()].find((p) => p.child.exitCode !== null && p.child.exitCode !== 0);
      assert.equal(exitedEarly, undefined, exitedEarly?.lines.slice(-6).join("\n"));
      await new Promise((r) => setTimeout(r, 500));
    }
    const rd = await net.reader.round(jobId, 0);
    const now = await net.reader.now();
    if (rd.voteDeadline === 0n && now <= rd.commitDeadline) await net.warp(Number(rd.commitDeadline - now) + 1);
    const codes = await Promise.all([...procs.values()].map((p) => p.exited));
    assert.deepEqual(codes, [0, 0, 0, 0, 0, 0], [...procs.values()].map((p) => p.lines.slice(-6).join("\n")).join("\n---\n"));
    assert.equal((await jobStatus(net.reader, jobId)).status, "Completed");
    for (const i of [7, 8, 9]) assert.equal(await rewardsOf(net, jobId, hardhatAccount(i).address), 2n * REWARD, `honest worker ${i} paid in full`);

    const silent = hardhatAccount(12).address;
    const pens = await penalties(net, jobId);
    assert.deepEqual(pens.filter(([w]) => w === silent).map(([, r, round]) => [r, round]), [["Absent", 0]]);
    assert.equal((await net.reader.slot(jobId, silent)).active, false);
    const copier = hardhatAccount(10).address;
    assert.deepEqual(pens.filter(([w]) => w === copier).map(([, r, round]) => [r, round]), [["Absent", 0]], "the refused copier is absent");
    assert.equal((await net.reader.slot(jobId, copier)).active, false);
    assert.equal(await rewardsOf(net, jobId, copier), 0n);

    // audits: honest workers reproduce, forgers do not; the audit opens a fraud dispute in the DisputeGame
    const auditor = hardhatAccount(13);
    await net.mint(auditor.address, "1000");
    const auditorKey = await net.keystore(hardhatKey(13), "auditor");
    const honestAudit = net.spawnWorker("audit-honest", ["audit", "--job", jobId.toString(), "--round", "1", "--worker", hardhatAccount(7).address, ...net.workerArgs("auditor", auditorKey)]);
    assert.equal(await honestAudit.exited, 0, honestAudit.lines.join("\n"));
    assert.ok(honestAudit.lines.some((l) => l.includes('"match":true')));
    // the forger's process has exited with its job: it is not there to open its trace. The auditor
    // raises the fraud dispute and plays the challenger's side until it is closed; the forger misses
    // its first bisection move, and once that move window passed (chain time) the auditor resolves
    const game = net.addresses.game!;
    assert.ok(game, "the deployment names its DisputeGame");
    const forger = hardhatAccount(11).address;
    const bond = (await net.reader.slot(jobId, forger)).bond;
    assert.ok(bond > 0n && (await net.reader.provider(forger)).stake >= bond);
    const audit = net.spawnWorker("audit-11", ["audit", "--challenge", "--job", jobId.toString(), "--round", "0", "--worker", forger, ...net.workerArgs("auditor", auditorKey)]);
    while (!audit.lines.some((l) => l.includes('"challenge raised"'))) {
      assert.equal(audit.child.exitCode, null, audit.lines.join("\n"));
      await new Promise((r) => setTimeout(r, 300));
    }
    const moveWindow = await net.reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "moveWindow" });
    await net.warp(Number(moveWindow) + 1);
    assert.equal(await audit.exited, 0, audit.lines.join("\n"));
    const result = JSON.parse(audit.lines.find((l) => l.startsWith("{") && l.includes('"match"') && l.includes('"challengeId"'))!);
    assert.equal(result.match, false);
    assert.ok(BigInt(result.challengeId) > 0n, "a dispute was opened in the DisputeGame");
    assert.equal(result.verdict, "Upheld");
    const fraud = (await penalties(net, jobId)).filter(([, r]) => r === "Fraud").map(([w]) => w);
    assert.deepEqual(fraud, [hardhatAccount(11).address]);
    for (const i of [11]) {
      const slot = await net.reader.slot(jobId, hardhatAccount(i).address);
      assert.equal(slot.active, false, `forger ${i} removed`);
      assert.equal(slot.bond, 0n, `forger ${i}'s whole bond slashed`);
    }
    // the auditor got its challenge bond back (in the game) and a bounty (in the market)
    const bondBack = await net.reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "balanceOf", args: [auditor.address] });
    assert.equal(bondBack, BigInt(spec.market.challengeBond));
    assert.ok((await net.reader.balanceOf(auditor.address)) > 0n, "bounties credited");
  });
});
