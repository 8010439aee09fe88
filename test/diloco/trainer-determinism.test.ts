/**
 * Replayability: the same TrainRequest gives the same bytes (params and losses) twice in one process
 * and in a fresh process. This file doubles as the child script: with DILOCO_DETERMINISM_CHILD=1 it
 * trains once and prints the hashes instead of defining tests.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createTrainer, TINY_MODEL, DEFAULT_INNER_OPT, type JaxTrainer } from "../../worker/diloco/trainer/index.ts";
import { loadCorpus, makeShards } from "../../worker/diloco/data/index.ts";
import type { TrainRequest } from "../../worker/diloco/types.ts";

const OPT = { ...DEFAULT_INNER_OPT, warmupSteps: 2, totalSteps: 20 };

function sha256(bytes: ArrayBufferView): string {
  return createHash("sha256").update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).digest("hex");
}

async function request(trainer: JaxTrainer, seed: bigint): Promise<TrainRequest> {
  const shard = makeShards(loadCorpus(), { workers: 4 }).shards[3];
  return { params: await trainer.initParams(7), steps: 6, batchSize: 8, shard, seed, round: 2, workerIndex: 3, stepOffset: 12 };
}

async function runOnce(trainer: JaxTrainer, seed: bigint): Promise<{ params: string; losses: string; evalLoss: number }> {
  const r = await trainer.train(await request(trainer, seed));
  const evalTokens = makeShards(loadCorpus(), { workers: 4 }).eval;
  const evalLoss = await trainer.evaluate(r.params, evalTokens, { batches: 2, batchSize: 8 });
  return { params: sha256(r.params), losses: sha256(Float64Array.from(r.losses)), evalLoss };
}

if (process.env.DILOCO_DETERMINISM_CHILD === "1") {
  const trainer = await createTrainer(TINY_MODEL, OPT);
  process.stdout.write(JSON.stringify(await runOnce(trainer, 2n ** 200n + 5n)) + "\n");
  trainer.dispose();
} else {
  test("same request → identical params and losses, in this process and in a fresh one", async () => {
    const trainer = await createTrainer(TINY_MODEL, OPT);
    try {
      const seed = 2n ** 200n + 5n; // job seeds may be uint256
      const req = await request(trainer, seed);
      const before = sha256(req.params);
      const a = await runOnce(trainer, seed);
      const b = await runOnce(trainer, seed);
      assert.deepEqual(b, a, "second run in the same process differs");
      assert.equal(sha256(req.params), before, "request params were modified");
      const other = await runOnce(trainer, seed + 1n);
      assert.notEqual(other.params, a.params, "a different seed should give different batches and params");

      const env: NodeJS.ProcessEnv = { ...process.env, DILOCO_DETERMINISM_CHILD: "1" };
      delete env.NODE_TEST_CONTEXT; // the child is a plain script, not a test-runner subprocess
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
        env,
        encoding: "utf8",
      });
      assert.equal(child.status, 0, `child failed: ${child.stderr}`);
      const fromChild = JSON.parse(child.stdout.trim().split("\n").pop() as string);
      assert.deepEqual(fromChild, a, "a fresh process computed different bytes");
    } finally {
      trainer.dispose();
    }
  });
}
