import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { scenarioHashes } from "./fixtures/determinism-scenario.ts";

test("same inputs give the same update and state hashes twice in one process", async () => {
  const a = await scenarioHashes();
  const b = await scenarioHashes();
  assert.deepEqual(a, b);
  assert.equal(new Set(a.updates).size, a.updates.length, "rounds with error feedback produce distinct updates");
  for (const h of [...a.updates, ...a.rounds, a.final]) assert.match(h, /^0x[0-9a-f]{64}$/);
});

test("a separate Node process computes bit-identical hashes", async () => {
  const child = fileURLToPath(new URL("./fixtures/determinism-child.ts", import.meta.url));
  const out = spawnSync(process.execPath, [child, "--emit"], { encoding: "utf8", timeout: 60_000 });
  assert.equal(out.status, 0, out.stderr);
  const theirs = JSON.parse(out.stdout.trim());
  assert.deepEqual(theirs, await scenarioHashes());
});
