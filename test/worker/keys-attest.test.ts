import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { keccak256, toHex } from "viem";
import { createKeystore, loadKeystore, encryptKey, decryptKey } from "../../worker/keys/keystore.ts";
import { SoftwareAttestor, canonicalJson, reportHash } from "../../worker/attest/attestor.ts";
import { marketDomain, recoverRoundUpdateSigner } from "../../shared/eip712.ts";
import { readJson, writeJson, writeBytes, readBytes } from "../../worker/state/json-state.ts";

const FAST = { scryptN: 1024 };

describe("keystore (encrypted JSON, Web3 Secret Storage v3)", () => {
  it("creates, stores with owner-only permissions and reloads the same key", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ks-"));
    const file = path.join(dir, "attestor.json");
    const account = await createKeystore(file, "pw", FAST);
    assert.equal((statSync(file).mode & 0o777).toString(8), "600");
    const json = JSON.parse((await import("node:fs")).readFileSync(file, "utf8"));
    assert.equal(json.version, 3);
    assert.equal((json.crypto ?? json.Crypto).kdf, "scrypt");
    const loaded = await loadKeystore(file, "pw");
    assert.equal(loaded.address, account.address);
  });

  it("rejects a wrong password, an empty password, a missing file and garbage with clear errors", async () => {
    const json = await encryptKey("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", "right", FAST);
    await assert.rejects(decryptKey(json, "wrong"), /keystore password is wrong/);
    await assert.rejects(encryptKey("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", ""), /must not be empty/);
    await assert.rejects(loadKeystore("/nonexistent/ks.json", "x"), /keystore file not found/);
    await assert.rejects(decryptKey("{not json", "x"), /not a valid encrypted JSON keystore/);
  });
});

describe("software attestor", () => {
  it("signs RoundUpdate with its key and reports a reproducible hash", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "att-"));
    const account = await createKeystore(path.join(dir, "k.json"), "pw", FAST);
    const att = new SoftwareAttestor(account);
    const { report, hash } = att.report();
    assert.equal(report.signer, account.address);
    assert.equal(hash, reportHash(JSON.parse(JSON.stringify(report))));
    assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
    const domain = marketDomain(31337, "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0");
    const u = { jobId: 1n, round: 0, updateHash: keccak256(toHex("u")), traceRoot: keccak256(toHex("t")), trainLoss: 2_000_000n, worker: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as const };
    assert.equal(await recoverRoundUpdateSigner(domain, u, await att.signRoundUpdate(domain, u)), account.address);
    assert.throws(() => new SoftwareAttestor(account, { ...report, signer: "0x0000000000000000000000000000000000000001" }), /another signer/);
  });
});

describe("crash-safe state files", () => {
  it("round-trips JSON with bigints and bytes atomically, and names a corrupt file", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "state-"));
    const f = path.join(dir, "s.json");
    assert.equal(await readJson(f), undefined);
    await writeJson(f, { round: 3, jobId: 12345678901234567890n, nested: { x: [1, 2] } });
    assert.deepEqual(await readJson(f), { round: 3, jobId: 12345678901234567890n, nested: { x: [1, 2] } });
    await writeBytes(path.join(dir, "b.bin"), new Uint8Array([1, 2, 3]));
    assert.deepEqual(await readBytes(path.join(dir, "b.bin")), new Uint8Array([1, 2, 3]));
    writeFileSync(f, "{oops");
    await assert.rejects(readJson(f), /state file .* is not valid JSON/);
  });
});
