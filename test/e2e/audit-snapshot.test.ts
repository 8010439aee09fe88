/**
 * Audits from a snapshot (issue 11): every update names the worker's replayable state at the start of
 * its round (residual, AdamW moments), published to the blob store; an audit of round 5 replays only
 * rounds 4 and 5 (round 5 from its snapshot, round 4 to check that snapshot), not rounds 0..5.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { createJobFromSpec, jobStatus } from "../../cli/poster/actions.ts";
import { decodeUpdate } from "../../worker/diloco/format/update.ts";
import { decodeSnapshot } from "../../worker/diloco/trace/snapshot.ts";
import { buildLayout } from "../../worker/diloco/model/layout.ts";

describe("an audit of round 5 starts from the snapshot the update names", { timeout: 900_000 }, () => {
  let net: TestNetwork;
  before(async () => {
    net = await startTestNetwork();
  });
  after(async () => net?.stop());

  it("replays two rounds whatever the round, and reproduces the commitment", async () => {
    const poster = hardhatAccount(1);
    await net.mint(poster.address, "10000");
    for (const i of [2, 3]) {
      await net.mint(hardhatAccount(i).address, "1000");
      const key = await net.keystore(hardhatKey(i), `w${i}`);
      const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...net.workerArgs(`w${i}`, key)]);
      assert.equal(await reg.exited, 0, reg.lines.join("\n"));
    }
    const spec = makeSpec({ model: "tiny", rounds: 6, innerSteps: 2, workers: 2, commitWindow: 3600, voteWindow: 3600, keepInnerState: true });
    assert.ok(spec.training.compression.errorFeedback && spec.training.keepInnerState, "the preset carries state across rounds");
    const { jobId } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    const workers = [2, 3].map((i) => net.spawnWorker(`w${i}`, ["run", "--job", jobId.toString(), ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)]));
    const codes = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(codes, [0, 0], workers.map((w) => w.lines.slice(-8).join("\n")).join("\n---\n"));
    assert.equal((await jobStatus(net.reader, jobId)).status, "Completed");

    // the round-5 update of worker 2 names its snapshot: the state it carried into round 5
    const who = hardhatAccount(2).address;
    const commit = (await net.reader.commitments(jobId, 5)).find((c) => c.worker === who)!;
    const update = decodeUpdate(await net.blobs.get(commit.updateHash), { expectedLayout: buildLayout(spec.model) });
    assert.ok(update.stateRef, "the update names a snapshot");
    const snap = decodeSnapshot(await net.blobs.get(update.stateRef));
    assert.equal(snap.round, 5);
    assert.equal(snap.innerState?.t, 5 * 2, "AdamW moments after five rounds of two steps");
    assert.ok(snap.residual, "an error-feedback residual");

    const auditorKey = await net.keystore(hardhatKey(9), "auditor");
    for (const [round, replayed] of [[5, [4, 5]], [0, [0]]] as const) {
      const audit = net.spawnWorker(`audit-${round}`, ["audit", "--job", jobId.toString(), "--round", String(round), "--worker", who, ...net.workerArgs("auditor", auditorKey)]);
      assert.equal(await audit.exited, 0, audit.lines.join("\n"));
      const result = JSON.parse(audit.lines.find((l) => l.startsWith("{") && l.includes('"match"'))!);
      assert.equal(result.match, true, audit.lines.join("\n"));
      assert.equal(result.from, "snapshot");
      assert.deepEqual(result.replayedRounds, replayed);
      if (round === 5) assert.equal(result.committedHash, commit.updateHash);
    }
  });
});
