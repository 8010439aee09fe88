/** BlobStore over the blob service's HTTP API; every read is verified against its id. */
import type { Hex } from "viem";
import { blobId } from "./hash.ts";
import { uploadAuthorization, type UploadSigner } from "./upload-auth.ts";
import { BlobIntegrityError, BlobNotFoundError, BlobTooLargeError, parseBlobId, type BlobStore } from "./types.ts";

export class HttpBlobStore implements BlobStore {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** Signs uploads (stores that authenticate uploads need it; reads never do). */
  readonly signer: UploadSigner | undefined;

  constructor(baseUrl: string, opts: { timeoutMs?: number; signer?: UploadSigner } = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new Error(`blob store URL is not a URL: ${baseUrl}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`blob store URL must be http(s): ${baseUrl}`);
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.signer = opts.signer;
  }

  private url(id: Hex): string {
    return `${this.baseUrl}/blobs/${parseBlobId(id)}`;
  }

  async put(bytes: Uint8Array): Promise<Hex> {
    const id = blobId(bytes);
    const res = await fetch(this.url(id), {
      method: "PUT",
      body: bytes as Uint8Array<ArrayBuffer>,
      headers: { "content-type": "application/octet-stream", ...(this.signer ? { authorization: await uploadAuthorization(this.signer, id) } : {}) },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (res.status === 413) throw new BlobTooLargeError(bytes.byteLength, Number.NaN);
    if (res.status === 401 || res.status === 403) {
      const reason = ((await res.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${res.status}`;
      throw new Error(`blob store ${this.baseUrl} refused the upload of ${id}: ${reason}`);
    }
    if (res.status !== 200 && res.status !== 201) throw new Error(`blob store refused ${id}: HTTP ${res.status} ${await res.text()}`);
    return id;
  }

  async get(id: Hex): Promise<Uint8Array> {
    const clean = parseBlobId(id);
    const res = await fetch(this.url(clean), { signal: AbortSignal.timeout(this.timeoutMs) });
    if (res.status === 404) throw new BlobNotFoundError(clean);
    if (res.status !== 200) throw new Error(`blob store GET ${clean}: HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const actual = blobId(bytes);
    if (actual !== clean) throw new BlobIntegrityError(clean, actual);
    return bytes;
  }

  async has(id: Hex): Promise<boolean> {
    const res = await fetch(this.url(id), { method: "HEAD", signal: AbortSignal.timeout(this.timeoutMs) });
    if (res.status === 404) return false;
    if (res.status === 200) return true;
    throw new Error(`blob store HEAD ${id}: HTTP ${res.status}`);
  }
}
