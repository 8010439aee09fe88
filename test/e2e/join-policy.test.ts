/**
 * A worker's join policy protects it before it bonds anything (issue 13): it declines, with the reason
 * logged, a job whose penalty exceeds its --max-penalty-bps, and any job of a market whose dispute game
 * has fewer referees outside the job than --min-referees (nobody could judge a Sybil majority's wrong
 * result); once enough referees are registered, it joins.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { createJobFromSpec } from "../../cli/poster/actions.ts";
import { disputeGameAbi, testTokenAbi } from "../../shared/abis.ts";

describe("a worker's join policy checks the job's terms and the dispute setup", { timeout: 600_000 }, () => {
  let net: TestNetwork;
  const poster = hardhatAccount(1);
  before(async () => {
    net = await startTestNetwork();
    await net.mint(poster.address, "100000");
    for (const i of [2, 3, 4, 5]) {
      await net.mint(hardhatAccount(i).address, "1000");
      const key = await net.keystore(hardhatKey(i), `p${i}`);
      const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...net.workerArgs(`p${i}`, key)]);
      assert.equal(await reg.exited, 0, reg.lines.join("\n"));
    }
  });
  after(async () => net?.stop());

  it("declines without referees and above its penalty limit, with the reason; joins once referees exist", async () => {
    const spec = makeSpec({ model: "tiny", rounds: 1, innerSteps: 2, workers: 2, commitWindow: 3600, voteWindow: 3600 });
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    const args = ["run", "--job", jobId.toString(), ...net.workerArgs("p2", `${net.dir}/keys/p2.json`)];

    const noReferees = net.spawnWorker("w-no-referees", args, { env: { WORKER_MIN_REFEREES: "3" } });
    const line = await noReferees.waitFor(/declined job/, 120_000);
    assert.match(line, /the dispute game has 0 referee\(s\) outside this job, fewer than --min-referees 3/);
    noReferees.child.kill("SIGINT");
    await noReferees.exited;

    const strict = net.spawnWorker("w-strict", [...args, "--max-penalty-bps", "1000"], { env: { WORKER_MIN_REFEREES: "0" } });
    assert.match(await strict.waitFor(/declined job/, 120_000), /penalty 2000 bps per offence is above --max-penalty-bps 1000/);
    strict.child.kill("SIGINT");
    await strict.exited;

    // three providers outside the job become referees (stake locked in the dispute game)
    const game = net.addresses.game!;
    const stake = await net.reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "refereeStake" });
    for (const i of [3, 4, 5]) {
      const s = net.senderFor(hardhatAccount(i));
      await s.send({ address: net.addresses.token, abi: testTokenAbi, functionName: "approve", args: [game, stake] });
      await s.send({ address: game, abi: disputeGameAbi, functionName: "registerReferee", args: [] });
    }
    const ok = net.spawnWorker("w-ok", args, { env: { WORKER_MIN_REFEREES: "3" } });
    await ok.waitFor(/joined job/, 120_000);
    assert.ok(!ok.lines.some((l) => l.includes("declined job")), ok.lines.join("\n"));
    ok.child.kill("SIGINT");
    await ok.exited;
  });
});
