/**
 * The blob store's HTTP service (embedded default of DESIGN.md §6).
 *
 *   PUT  /blobs/<id>   stores the body iff keccak-256(body) == id (400 otherwise); 201 created,
 *                      200 if already stored (idempotent); 413 over the size limit; 411 without a length;
 *                      with an upload policy: 401 without a valid signed authorization, 403 when the
 *                      signer may not upload (blobstore/upload-auth.ts)
 *   GET  /blobs/<id>   streams the blob with ETag and single-range support (206/416); 404 if absent
 *   HEAD /blobs/<id>   existence and size
 *   GET  /health       liveness
 *
 * Uploads stream to a temp file while being hashed, are fsynced, then renamed into place: a crash
 * or a truncated upload never leaves a partial blob under its id.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { open } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import type { Hex } from "viem";
import { createBlobHasher } from "./hash.ts";
import { LocalDirBlobStore } from "./local-dir.ts";
import { parseBlobId } from "./types.ts";
import { UploadAuthError, verifyUploadAuthorization, type UploadPolicy } from "./upload-auth.ts";

async function authorizeUpload(policy: UploadPolicy, id: Hex, req: IncomingMessage): Promise<void> {
  let signer;
  try {
    signer = await verifyUploadAuthorization(req.headers.authorization, id);
  } catch (err) {
    if (err instanceof UploadAuthError) throw new HttpError(err.status, err.message);
    throw err;
  }
  const refusal = await policy(signer, id);
  if (refusal) throw new HttpError(403, refusal);
}

export interface BlobServerOptions {
  dir: string;
  /** Largest accepted blob in bytes (default 256 MiB). */
  maxBytes?: number;
  host?: string;
  port?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** When set, uploads must be signed and the signer allowed by this policy; reads stay open. */
  uploadPolicy?: UploadPolicy;
}

export interface RunningBlobServer {
  url: string;
  server: Server;
  store: LocalDirBlobStore;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { "content-type": "application/json", connection: "close" });
  res.end(JSON.stringify({ error: message }));
}

function parseRange(header: string, size: number): { start: number; end: number } | "unsatisfiable" | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined; // unsupported form (e.g. multiple ranges): serve the whole blob
  const [, a, b] = m;
  let start: number;
  let end: number;
  if (a === "" && b === "") return undefined;
  if (a === "") {
    const suffix = Number(b);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end };
}

async function handlePut(store: LocalDirBlobStore, id: Hex, req: IncomingMessage, res: ServerResponse, maxBytes: number) {
  const lengthHeader = req.headers["content-length"];
  if (lengthHeader === undefined) throw new HttpError(411, "PUT needs a Content-Length header");
  const declared = Number(lengthHeader);
  if (!Number.isSafeInteger(declared) || declared < 0) throw new HttpError(400, `bad Content-Length ${lengthHeader}`);
  if (declared > maxBytes) throw new HttpError(413, `blob of ${declared} bytes exceeds the limit of ${maxBytes} bytes`);

  const tmp = await store.tempPath();
  const fh = await open(tmp, "w");
  const hasher = createBlobHasher();
  let received = 0;
  let committed = false;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      received += chunk.byteLength;
      if (received > declared) throw new HttpError(400, `body is longer than its Content-Length ${declared}`);
      hasher.update(chunk);
      await fh.write(chunk);
    }
    if (received !== declared) throw new HttpError(400, `truncated upload: got ${received} of ${declared} bytes`);
    const actual = hasher.digest();
    if (actual !== id) throw new HttpError(400, `body hashes to ${actual}, not to the id ${id}`);
    await fh.sync();
    await fh.close();
    const existed = await store.has(id);
    await store.commitTemp(tmp, id);
    committed = true;
    res.writeHead(existed ? 200 : 201, { "content-type": "application/json", etag: `"${id}"` });
    res.end(JSON.stringify({ id, size: received }));
  } finally {
    if (!committed) {
      await fh.close().catch(() => {});
      await store.removeTemp(tmp);
    }
  }
}

async function handleGet(store: LocalDirBlobStore, id: Hex, req: IncomingMessage, res: ServerResponse, head: boolean) {
  const size = await store.size(id);
  if (size === undefined) throw new HttpError(404, `blob ${id} not found`);
  const etag = `"${id}"`;
  const base = { etag, "accept-ranges": "bytes", "content-type": "application/octet-stream", "cache-control": "public, max-age=31536000, immutable" };
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, base);
    res.end();
    return;
  }
  const rangeHeader = req.headers.range;
  const range = rangeHeader ? parseRange(rangeHeader, size) : undefined;
  if (range === "unsatisfiable") {
    res.writeHead(416, { ...base, "content-range": `bytes */${size}` });
    res.end();
    return;
  }
  if (range) {
    res.writeHead(206, { ...base, "content-length": range.end - range.start + 1, "content-range": `bytes ${range.start}-${range.end}/${size}` });
  } else {
    res.writeHead(200, { ...base, "content-length": size });
  }
  if (head) {
    res.end();
    return;
  }
  const stream = store.stream(id, range ?? undefined);
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}

/** Starts the blob service; resolves once it listens. */
export async function startBlobServer(opts: BlobServerOptions): Promise<RunningBlobServer> {
  const maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
  const store = new LocalDirBlobStore(opts.dir, { maxBytes });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const done = (err?: unknown) => {
      if (!err) return;
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) opts.log?.("blob server error", { error: String(err) });
      sendError(res, status, err instanceof Error ? err.message : String(err));
      if (status === 413 || status === 400) req.resume();
    };
    if (url.pathname === "/health") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true}');
      return;
    }
    const m = /^\/blobs\/([^/]+)$/.exec(url.pathname);
    if (!m) return done(new HttpError(404, `no route ${req.method} ${url.pathname}`));
    let id: Hex;
    try {
      id = parseBlobId(m[1]);
    } catch (err) {
      return done(new HttpError(400, (err as Error).message));
    }
    if (req.method === "PUT") {
      const policy = opts.uploadPolicy;
      (policy ? authorizeUpload(policy, id, req) : Promise.resolve()).then(() => handlePut(store, id, req, res, maxBytes)).then(() => done(), (err) => {
        done(err);
        if (err instanceof HttpError && (err.status === 401 || err.status === 403)) req.resume();
      });
    }
    else if (req.method === "GET" || req.method === "HEAD") handleGet(store, id, req, res, req.method === "HEAD").then(() => done(), done);
    else {
      res.setHeader("allow", "GET, HEAD, PUT");
      done(new HttpError(405, `method ${req.method} not allowed`));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${opts.host ?? "127.0.0.1"}:${addr.port}`,
    server,
    store,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
