import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { parseEther } from "viem";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork, type WorkerProcess } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { createJobFromSpec, downloadModel, jobStatus } from "../../cli/poster/actions.ts";
import { trainingMarketAbi } from "../../shared/abis.ts";
import { decodeGlobalState } from "../../worker/diloco/outer/index.ts";
import { blobId } from "../../worker/diloco/hash.ts";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

describe("three honest worker processes complete a three-round job", { timeout: 600_000 }, () => {
  let net: TestNetwork;
  const workers: WorkerProcess[] = [];
  before(async () => {
    net = await startTestNetwork();
  });
  after(async () => net?.stop());

  it("trains, agrees every round, pays each worker exactly, refunds the poster", async () => {
    const poster = hardhatAccount(1);
    await net.mint(poster.address, "10000");
    const providers = [2, 3, 4];
    for (const i of providers) {
      await net.mint(hardhatAccount(i).address, "1000");
      const key = await net.keystore(hardhatKey(i), `w${i}`);
      const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...net.workerArgs(`w${i}`, key)]);
      assert.equal(await reg.exited, 0, reg.lines.join("\n"));
    }
    const spec = makeSpec({ model: "tiny", rounds: 3, innerSteps: 8, workers: 3, commitWindow: 300, voteWindow: 300 });
    const { jobId, escrow } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);
    for (const i of providers) {
      const key = `${net.dir}/keys/w${i}.json`;
      workers.push(net.spawnWorker(`w${i}`, ["run", "--job", jobId.toString(), ...net.workerArgs(`w${i}`, key)]));
    }
    const codes = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(codes, [0, 0, 0], workers.map((w) => w.lines.slice(-10).join("\n")).join("\n---\n"));

    const status = await jobStatus(net.reader, jobId);
    assert.equal(status.status, "Completed");
    assert.equal(status.losses.length, 3);
    for (const r of status.losses) assert.equal(r.status, "Finalized");
    const means = status.losses.map((r) => r.meanTrainLoss!);
    assert.ok(means[2] < means[0], `train loss should fall: ${means.join(" → ")}`);

    // every worker voted the same model hash every round (or was paid as an included committer)
    for (let round = 0; round < 3; round++) {
      const voteLines = workers.map((w) => w.lines.find((l) => l.includes('"msg":"voted"') && l.includes(`"round":${round},`)));
      const hashes = new Set(voteLines.filter(Boolean).map((l) => JSON.parse(l!).modelHash));
      assert.equal(hashes.size, 1, `round ${round}: votes disagree: ${[...hashes].join(", ")}`);
    }

    // rewards accrue per job and stay locked with the bond until the challenge window has passed
    // (issue 13): nothing is credited when the job completes, and an early release reverts
    const reward = parseEther("10");
    const market = { address: net.addresses.market, abi: trainingMarketAbi } as const;
    for (const i of providers) assert.equal(await net.reader.balanceOf(hardhatAccount(i).address), 0n);
    await assert.rejects(net.senderFor(poster).send({ ...market, functionName: "releaseBond", args: [jobId, hardhatAccount(2).address] }), (e: { errorName?: string; message?: string }) => /BondLockedUntil/.test(`${e.errorName} ${e.message}`));
    // past the window (chain time), anyone may release; each worker then withdraws exactly rounds × reward
    await net.warp(Number(spec.market.challengeWindow) + 1);
    for (const i of providers) await net.senderFor(poster).send({ ...market, functionName: "releaseBond", args: [jobId, hardhatAccount(i).address] });
    for (const i of providers) {
      assert.equal(await net.reader.balanceOf(hardhatAccount(i).address), 3n * reward);
      const w = net.spawnWorker(`withdraw${i}`, ["withdraw", ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)]);
      assert.equal(await w.exited, 0, w.lines.join("\n"));
      const out = w.lines.find((l) => l.includes('"withdrawn"'));
      assert.ok(out, `worker ${i} did not withdraw: ${w.lines.join("\n")}`);
      assert.equal(parseEther(JSON.parse(out!).withdrawn), 3n * reward);
      assert.equal(await net.reader.balanceOf(hardhatAccount(i).address), 0n);
    }
    // the poster got the leftover back: nothing, since every slot was paid (escrow = 9 × (reward + fee))
    const posterCredit = await net.reader.balanceOf(poster.address);
    assert.equal(posterCredit, escrow - 9n * (reward + (reward * 200n) / 10_000n));

    // the final model on chain is the blob the poster downloads
    const out = path.join(mkdtempSync(path.join(tmpdir(), "model-")), "final.bin");
    const dl = await downloadModel(net.reader, net.blobs, jobId, out);
    const bytes = new Uint8Array(readFileSync(out));
    assert.equal(blobId(bytes), dl.modelHash);
    assert.equal(decodeGlobalState(bytes).step, 3);
  });
});
