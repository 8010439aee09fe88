import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { getAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { blobId, HttpBlobStore, startBlobServer, type RunningBlobServer } from "../../blobstore/index.ts";
import { uploadAuthorization, uploadMessage, verifyUploadAuthorization } from "../../blobstore/upload-auth.ts";

describe("blob store upload authentication (signed uploads, open reads)", () => {
  let srv: RunningBlobServer;
  let dir: string;
  const allowed = privateKeyToAccount(generatePrivateKey());
  const stranger = privateKeyToAccount(generatePrivateKey());
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "blobs-auth-"));
    srv = await startBlobServer({ dir, uploadPolicy: async (signer) => (getAddress(signer) === allowed.address ? undefined : `${signer} may not upload`) });
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("accepts an upload signed by an allowed account; anyone reads it", async () => {
    const bytes = randomBytes(2048);
    const id = await new HttpBlobStore(srv.url, { signer: allowed }).put(bytes);
    assert.deepEqual(Buffer.from(await new HttpBlobStore(srv.url).get(id)), bytes);
  });

  it("refuses unsigned uploads (401) and uploads by accounts the policy rejects (403), storing nothing", async () => {
    const bytes = randomBytes(1024);
    const id = blobId(bytes);
    const unsigned = await fetch(`${srv.url}/blobs/${id}`, { method: "PUT", body: bytes });
    assert.equal(unsigned.status, 401);
    assert.match(((await unsigned.json()) as { error: string }).error, /authorization/);
    await assert.rejects(new HttpBlobStore(srv.url, { signer: stranger }).put(bytes), /may not upload/);
    assert.equal(await new HttpBlobStore(srv.url).has(id), false);
  });

  it("rejects a signature for another blob, an expired one and one valid for too long", async () => {
    const id = blobId(randomBytes(8));
    const other = blobId(randomBytes(8));
    const now = Math.floor(Date.now() / 1000);
    const forOther = await uploadAuthorization(allowed, other, now);
    await assert.rejects(verifyUploadAuthorization(forOther, id, now), /not by/);
    const old = await uploadAuthorization(allowed, id, now - 1000);
    await assert.rejects(verifyUploadAuthorization(old, id, now), /expired/);
    const sig = await allowed.signMessage({ message: uploadMessage(id, now + 100_000) });
    await assert.rejects(verifyUploadAuthorization(`BlobUpload ${allowed.address}:${now + 100_000}:${sig}`, id, now), /more than/);
    assert.equal(await verifyUploadAuthorization(await uploadAuthorization(allowed, id, now), id, now), allowed.address);
    await assert.rejects(verifyUploadAuthorization("Bearer x", id, now), /malformed/);
  });
});
