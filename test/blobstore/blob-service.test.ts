import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import net from "node:net";
import { randomBytes } from "node:crypto";
import {
  blobId,
  BlobIntegrityError,
  BlobNotFoundError,
  HttpBlobStore,
  LocalDirBlobStore,
  parseBlobId,
  startBlobServer,
  type RunningBlobServer,
} from "../../blobstore/index.ts";

const MAX = 64 * 1024;

describe("blob service over real HTTP", () => {
  let srv: RunningBlobServer;
  let client: HttpBlobStore;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "blobs-"));
    srv = await startBlobServer({ dir, maxBytes: MAX });
    client = new HttpBlobStore(srv.url);
  });
  after(() => srv.close());

  it("stores a blob under its keccak-256 and reads it back verified", async () => {
    const bytes = randomBytes(10_000);
    const id = await client.put(bytes);
    assert.equal(id, blobId(bytes));
    assert.deepEqual(Buffer.from(await client.get(id)), bytes);
    assert.equal(await client.has(id), true);
  });

  it("PUT with a body that does not hash to the id is refused with 400 and stores nothing", async () => {
    const bytes = randomBytes(100);
    const wrong = blobId(randomBytes(100));
    const res = await fetch(`${srv.url}/blobs/${wrong}`, { method: "PUT", body: bytes });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /hashes to 0x[0-9a-f]{64}, not to the id/);
    assert.equal(await client.has(wrong), false);
  });

  it("is idempotent for identical bytes (201 then 200)", async () => {
    const bytes = randomBytes(500);
    const id = blobId(bytes);
    const first = await fetch(`${srv.url}/blobs/${id}`, { method: "PUT", body: bytes });
    const second = await fetch(`${srv.url}/blobs/${id}`, { method: "PUT", body: bytes });
    assert.equal(first.status, 201);
    assert.equal(second.status, 200);
  });

  it("refuses bodies over the size limit with 413", async () => {
    const bytes = randomBytes(MAX + 1);
    const res = await fetch(`${srv.url}/blobs/${blobId(bytes)}`, { method: "PUT", body: bytes });
    assert.equal(res.status, 413);
    assert.equal(await client.has(blobId(bytes)), false);
  });

  it("a truncated upload (connection dropped mid-body) leaves no blob and no temp file behind", async () => {
    const bytes = randomBytes(20_000);
    const id = blobId(bytes);
    const { port } = new URL(srv.url);
    await new Promise<void>((resolve) => {
      const sock = net.connect(Number(port), "127.0.0.1", () => {
        sock.write(`PUT /blobs/${id} HTTP/1.1\r\nHost: x\r\nContent-Length: ${bytes.length}\r\n\r\n`);
        sock.write(bytes.subarray(0, 5_000), () => sock.destroy());
      });
      sock.on("close", () => resolve());
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await client.has(id), false);
    const tmp = path.join(dir, "tmp");
    assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], []);
  });

  it("concurrent PUTs of the same blob all succeed and store one correct copy", async () => {
    const bytes = randomBytes(30_000);
    const id = blobId(bytes);
    const results = await Promise.all(Array.from({ length: 8 }, () => fetch(`${srv.url}/blobs/${id}`, { method: "PUT", body: bytes })));
    for (const r of results) assert.ok(r.status === 201 || r.status === 200, `status ${r.status}`);
    assert.deepEqual(Buffer.from(await client.get(id)), bytes);
  });

  it("missing ids answer 404 (GET and HEAD) and the client throws BlobNotFoundError", async () => {
    const id = blobId(randomBytes(8));
    assert.equal((await fetch(`${srv.url}/blobs/${id}`)).status, 404);
    assert.equal((await fetch(`${srv.url}/blobs/${id}`, { method: "HEAD" })).status, 404);
    await assert.rejects(client.get(id), BlobNotFoundError);
    assert.equal(await client.has(id), false);
  });

  it("malformed ids answer 400 naming the problem", async () => {
    const res = await fetch(`${srv.url}/blobs/not-a-hash`);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /invalid blob id/);
    assert.throws(() => parseBlobId("0x1234"), /expected 0x followed by 64 hex digits/);
  });

  it("serves ETag, 304 on If-None-Match, and byte ranges (206, suffix, 416)", async () => {
    const bytes = randomBytes(1_000);
    const id = await client.put(bytes);
    const full = await fetch(`${srv.url}/blobs/${id}`);
    assert.equal(full.headers.get("etag"), `"${id}"`);
    assert.equal(full.headers.get("content-length"), "1000");
    await full.arrayBuffer();
    const cached = await fetch(`${srv.url}/blobs/${id}`, { headers: { "if-none-match": `"${id}"` } });
    assert.equal(cached.status, 304);
    const part = await fetch(`${srv.url}/blobs/${id}`, { headers: { range: "bytes=100-199" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), "bytes 100-199/1000");
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(100, 200));
    const suffix = await fetch(`${srv.url}/blobs/${id}`, { headers: { range: "bytes=-10" } });
    assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), bytes.subarray(990));
    const bad = await fetch(`${srv.url}/blobs/${id}`, { headers: { range: "bytes=5000-" } });
    assert.equal(bad.status, 416);
    const head = await fetch(`${srv.url}/blobs/${id}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "1000");
  });

  it("readers re-verify: a blob corrupted on disk is rejected by the client with BlobIntegrityError", async () => {
    const bytes = randomBytes(256);
    const id = await client.put(bytes);
    writeFileSync(srv.store.pathOf(id), randomBytes(256));
    await assert.rejects(client.get(id), BlobIntegrityError);
    await assert.rejects(new LocalDirBlobStore(dir).get(id), BlobIntegrityError);
  });

  it("other methods answer 405 and unknown paths 404", async () => {
    const id = blobId(randomBytes(4));
    assert.equal((await fetch(`${srv.url}/blobs/${id}`, { method: "DELETE" })).status, 405);
    assert.equal((await fetch(`${srv.url}/nope`)).status, 404);
  });
});

describe("local directory blob store", () => {
  it("puts atomically, is idempotent, verifies on read and enforces the size limit", async () => {
    const store = new LocalDirBlobStore(mkdtempSync(path.join(tmpdir(), "blobs-")), { maxBytes: 100 });
    const bytes = randomBytes(50);
    const id = await store.put(bytes);
    assert.equal(await store.put(bytes), id);
    assert.deepEqual(Buffer.from(await store.get(id)), bytes);
    await assert.rejects(store.put(randomBytes(101)), /exceeds the limit of 100 bytes/);
    await assert.rejects(store.get(blobId(randomBytes(3))), BlobNotFoundError);
  });
});
