/**
 * Issue 13, fraud decided by evidence, end to end with real processes: a worker that trains honestly
 * but commits a forged update is caught by an auditor's replay; the dispute is bisected on chain over
 * the worker's committed per-step trace (the forger's own node answers every move) down to the one
 * transition it lied about (the compression of its last state), both sides publish the witness of the
 * agreed state, three referee processes recompute that single transition and vote it wrong: the forger
 * loses its whole bond, the auditor gets its bond back and a bounty. Then the reverse: a challenger
 * that disagrees with everything an honest worker reveals ends on leaf 0, which the referees confirm,
 * and the honest worker keeps its bond and wins the challenger's.
 *
 * Windows: commit and vote windows of an hour; bisection moves (120 s) and referee votes (300 s) run
 * on the chain's clock, which advances with the processes' own transactions, and every party polls
 * every few hundred milliseconds, so no honest party can miss one on a loaded machine.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getAddress, parseEventLogs, type Address } from "viem";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork, type WorkerProcess } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { createJobFromSpec, jobStatus } from "../../cli/poster/actions.ts";
import { disputeGameAbi, testTokenAbi, trainingMarketAbi } from "../../shared/abis.ts";
import { DisputePhase as PHASE } from "../../worker/node/game-client.ts";

const ADVERSARY = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "adversarial-worker.ts");
const H = 6;

describe("a forged update is caught by bisection over the trace and one recomputed transition", { timeout: 1_500_000 }, () => {
  let net: TestNetwork;
  const poster = hardhatAccount(1);
  const forger = hardhatAccount(4).address;
  const refereeIds = [5, 6, 7];
  const referees: WorkerProcess[] = [];
  before(async () => {
    net = await startTestNetwork();
    await net.mint(poster.address, "100000");
    for (const i of [2, 3, 4, ...refereeIds, 8]) {
      await net.mint(hardhatAccount(i).address, "1000");
      const key = await net.keystore(hardhatKey(i), `w${i}`);
      if (i === 8) continue; // the auditor is not a provider
      const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...net.workerArgs(`w${i}`, key)]);
      assert.equal(await reg.exited, 0, reg.lines.join("\n"));
    }
    for (const i of refereeIds) referees.push(net.spawnWorker(`referee${i}`, ["referee", ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)]));
    for (const r of referees) await r.waitFor(/"registered as referee"/, 300_000);
  });
  after(async () => net?.stop());

  it("the forger answers every move and loses on the recomputed compression; the auditor is paid", async () => {
    const game = net.addresses.game!;
    const c = net.reader.client;
    const spec = makeSpec({ model: "tiny", rounds: 2, innerSteps: H, workers: 3, commitWindow: 3600, voteWindow: 3600, keepInnerState: true });
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    const args = (i: number) => ["run", "--job", jobId.toString(), ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)];
    const env = { WORKER_MIN_REFEREES: "3" };
    const procs = [net.spawnWorker("w2", args(2), { env }), net.spawnWorker("w3", args(3), { env }), net.spawnWorker("w4-forge", args(4).slice(1), { script: ADVERSARY, env: { ...env, ADVERSARY: "forge" } })];
    assert.deepEqual(await Promise.all(procs.map((p) => p.exited)), [0, 0, 0], procs.map((p) => p.lines.slice(-8).join("\n")).join("\n---\n"));
    assert.equal((await jobStatus(net.reader, jobId)).status, "Completed");
    const bond = (await net.reader.slot(jobId, forger)).bond;
    assert.ok(bond > 0n);

    // the auditor replays the forger's round 0, finds the mismatch and challenges; the forger's node
    // (restarted: its job had ended) answers the dispute from the trace it kept on disk
    const auditor = hardhatAccount(8);
    const audit = net.spawnWorker("audit", ["audit", "--challenge", "--job", jobId.toString(), "--round", "0", "--worker", forger, ...net.workerArgs("w8", `${net.dir}/keys/w8.json`)]);
    await audit.waitFor(/"challenge raised"/, 600_000);
    const defender = net.spawnWorker("w4-defends", args(4), { env });
    assert.equal(await audit.exited, 0, audit.lines.join("\n"));
    assert.equal(await defender.exited, 0, defender.lines.join("\n"));
    const result = JSON.parse(audit.lines.find((l) => l.startsWith("{") && l.includes('"match"') && l.includes('"verdict"'))!);
    assert.equal(result.verdict, "Upheld", audit.lines.slice(-10).join("\n"));
    const id = BigInt(result.challengeId);

    // the forger opened its trace and revealed midpoints; bisection ended on the compression H → H + 1
    const ev = async (eventName: "BisectionDone" | "MidpointRevealed" | "WitnessPosted" | "RefereeVoted") => c.getContractEvents({ address: game, abi: disputeGameAbi, eventName, args: { id } as never, fromBlock: 0n });
    assert.ok((await ev("MidpointRevealed")).length >= 2, "the forger revealed midpoints");
    const done = (await ev("BisectionDone"))[0].args as { agreedIndex: bigint; disputedIndex: number };
    assert.equal(Number(done.agreedIndex), H);
    assert.equal(done.disputedIndex, H + 1);
    // the referees judge once a witness is out (the auditor's or the forger's, whichever lands first:
    // a panel that has one need not wait for the other)
    const witnesses = (await ev("WitnessPosted")).map((l) => getAddress((l.args as { by: Address }).by));
    assert.ok(witnesses.length >= 1, "a witness was published");
    for (const w of witnesses) assert.ok([getAddress(forger), getAddress(auditor.address)].includes(w), `only the parties publish witnesses: ${w}`);
    const votes = (await ev("RefereeVoted")).map((l) => (l.args as { vote: string }).vote);
    assert.equal(votes.length, 3);
    for (const v of votes) assert.equal(BigInt(v), 2n, "every referee recomputed the compression and voted the step wrong");
    // each referee recompressed the witnessed last state: the verdict rests on the recomputation
    for (const r of referees) assert.ok(r.lines.some((l) => l.includes("referee: step judged") && l.includes('"correct":false') && l.includes("recompressed from the witness")), r.lines.slice(-5).join("\n"));

    const fraud = await c.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "WorkerPenalized", args: { jobId, worker: forger }, fromBlock: 0n });
    assert.ok(fraud.some((l) => Number(l.args.reason) === 3), "penalised for Fraud");
    const slot = await net.reader.slot(jobId, forger);
    assert.equal(slot.bond, 0n, "the forger's whole bond is slashed");
    assert.equal(await c.readContract({ address: game, abi: disputeGameAbi, functionName: "balanceOf", args: [auditor.address] }), BigInt(spec.market.challengeBond), "the auditor's bond back");
    assert.ok((await net.reader.balanceOf(auditor.address)) > 0n, "and a bounty");
  });

  /**
   * A lying challenger against the honest worker 2 (round 1 of job 1): it answers the revealed
   * midpoints with `answers` (then disagrees), the worker's restarted node defends; returns the
   * dispute's verdict and where bisection ended.
   */
  async function lyingChallenge(answers: boolean[], account: number) {
    const game = net.addresses.game!;
    const c = net.reader.client;
    const honest = hardhatAccount(2);
    const jobId = 1n;
    const commit = (await net.reader.commitments(jobId, 1)).find((x) => x.worker === honest.address)!;
    const challenger = net.senderFor(hardhatAccount(account));
    await net.mint(hardhatAccount(account).address, "1000");
    const bondBefore = (await net.reader.slot(jobId, honest.address)).bond;
    const gameBalanceBefore = await c.readContract({ address: game, abi: disputeGameAbi, functionName: "balanceOf", args: [honest.address] });
    const challengeBond = (await net.reader.jobParams(jobId)).challengeBond;
    await challenger.send({ address: net.addresses.token, abi: testTokenAbi, functionName: "approve", args: [game, challengeBond] });
    const rc = await challenger.send({ address: game, abi: disputeGameAbi, functionName: "challengeStep", args: [jobId, 1, honest.address, commit.updateHash, commit.traceRoot] });
    const id = parseEventLogs({ abi: disputeGameAbi, logs: rc.logs, eventName: "StepChallenged" })[0].args.id;
    const defender = net.spawnWorker(`w2-defends-${account}`, ["run", "--job", jobId.toString(), ...net.workerArgs("w2", `${net.dir}/keys/w2.json`)], { env: { WORKER_MIN_REFEREES: "3" } });
    let k = 0;
    for (;;) {
      const d = await c.readContract({ address: game, abi: disputeGameAbi, functionName: "disputeOf", args: [id] });
      if (d.phase === PHASE.Refereeing || d.phase === PHASE.Closed) break;
      if (d.phase === PHASE.AwaitResponse) await challenger.send({ address: game, abi: disputeGameAbi, functionName: "respondMidpoint", args: [id, answers[k++] ?? false] });
      else await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(await defender.exited, 0, defender.lines.join("\n"));
    const resolved = await c.getContractEvents({ address: game, abi: disputeGameAbi, eventName: "DisputeResolved", args: { id }, fromBlock: 0n });
    const done = await c.getContractEvents({ address: game, abi: disputeGameAbi, eventName: "BisectionDone", args: { id }, fromBlock: 0n });
    assert.equal((await net.reader.slot(jobId, honest.address)).bond, bondBefore, "the honest worker's bond is intact");
    const gained = (await c.readContract({ address: game, abi: disputeGameAbi, functionName: "balanceOf", args: [honest.address] })) - gameBalanceBefore;
    return { id, verdict: Number(resolved[0].args.verdict), disputed: done[0].args.disputedIndex, gained, challengeBond, defender };
  }

  it("a challenger that disputes every leaf of an honest worker loses: the referees confirm its start state", async () => {
    const r = await lyingChallenge([], 9);
    assert.equal(r.verdict, 1, "Rejected: the worker was right");
    assert.equal(r.disputed, 0, "nothing agreed: the referees judged leaf 0");
    assert.equal(r.gained, r.challengeBond, "the worker wins the challenger's bond");
  });

  it("a lie about an inner step loses too: the honest worker publishes its witness and the referees rerun that step", async () => {
    const r = await lyingChallenge([true], 10);
    assert.equal(r.verdict, 1, "Rejected: the worker was right");
    assert.equal(r.disputed, 4, "bisection ended on inner step 4 (leaf 3 agreed)");
    assert.equal(r.gained, r.challengeBond, "the worker wins the challenger's bond");
    assert.ok(r.defender.lines.some((l) => l.includes('"dispute: postWitness"')), "the worker published the witness of leaf 3");
    for (const ref of referees) assert.ok(ref.lines.some((l) => l.includes("referee: step judged") && l.includes('"correct":true') && l.includes("inner step 4 recomputed")), ref.lines.slice(-5).join("\n"));
  });
});
