import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { parseEther } from "viem";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork, type WorkerProcess } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { createJobFromSpec, jobStatus } from "../../cli/poster/actions.ts";
import { trainingMarketAbi } from "../../shared/abis.ts";

describe("a worker killed mid-round (SIGKILL) and restarted finishes the job with the others", { timeout: 600_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork();
  });
  after(async () => net?.stop());

  for (const killAt of [/"msg":"trained".*"round":1,/, /"msg":"committed".*"round":1,/]) {
    it(`kill after ${killAt.source.includes("trained") ? "training (before the commit)" : "the commit (before the vote)"}`, async () => {
      const poster = hardhatAccount(1);
      await net.mint(poster.address, "10000");
      const base = killAt.source.includes("trained") ? 2 : 5;
      const ids = [base, base + 1, base + 2];
      for (const i of ids) {
        await net.mint(hardhatAccount(i).address, "1000");
        const key = await net.keystore(hardhatKey(i), `w${i}`);
        const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...net.workerArgs(`w${i}`, key)]);
        assert.equal(await reg.exited, 0, reg.lines.join("\n"));
      }
      const spec = makeSpec({ model: "tiny", rounds: 3, innerSteps: 10, workers: 3, commitWindow: 300, voteWindow: 300 });
      const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
      const args = (i: number) => ["run", "--job", jobId.toString(), ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)];
      const procs: WorkerProcess[] = ids.map((i) => net.spawnWorker(`w${i}`, args(i)));
      const victim = procs[0];
      await victim.waitFor(killAt, 180_000);
      victim.child.kill("SIGKILL");
      assert.notEqual(await victim.exited, 0, "the victim was killed");
      const restarted = net.spawnWorker(`w${ids[0]}-restarted`, args(ids[0]));
      const codes = await Promise.all([restarted.exited, procs[1].exited, procs[2].exited]);
      assert.deepEqual(codes, [0, 0, 0], [restarted, procs[1], procs[2]].map((p) => p.lines.slice(-8).join("\n")).join("\n---\n"));
      const status = await jobStatus(net.reader, jobId);
      assert.equal(status.status, "Completed");
      assert.ok(status.losses.every((r) => r.status === "Finalized"));
      for (const i of ids) {
        // rewards accrue per job (paid rounds) and are credited at bond release after the challenge window
        const slot = await net.reader.slot(jobId, hardhatAccount(i).address);
        assert.equal(BigInt(slot.paidRounds) * BigInt((await net.reader.jobParams(jobId)).rewardPerRound), 3n * parseEther("10"), `worker ${i} was paid for every round`);
        const pens = await net.reader.client.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "WorkerPenalized", args: { jobId, worker: hardhatAccount(i).address }, fromBlock: 0n });
        assert.equal(pens.length, 0, `worker ${i} was never penalised`);
      }
      // the restarted worker resumed from its persisted state rather than starting the job over
      assert.ok(restarted.lines.some((l) => l.includes('"round":1') || l.includes('"round":2')));
      assert.ok(!restarted.lines.some((l) => l.includes('"msg":"joined job"')), "it did not need to join again");
    });
  }
});
