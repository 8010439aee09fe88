/**
 * BlobStore on a local directory: files named by id, written atomically (temp file, fsync, rename),
 * so a crash never leaves a partial blob under its id. Also the storage behind the HTTP service.
 */
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { createReadStream, type ReadStream } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Hex } from "viem";
import { blobId } from "./hash.ts";
import { BlobIntegrityError, BlobNotFoundError, BlobTooLargeError, parseBlobId, type BlobStore } from "./types.ts";

export class LocalDirBlobStore implements BlobStore {
  readonly dir: string;
  readonly maxBytes: number;

  constructor(dir: string, opts: { maxBytes?: number } = {}) {
    this.dir = dir;
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
  }

  /** Path of a stored blob (two-level fan-out by the first id byte). */
  pathOf(id: Hex): string {
    const clean = parseBlobId(id);
    return path.join(this.dir, clean.slice(2, 4), clean.slice(2));
  }

  /** A fresh temp path inside the store (same filesystem, so rename is atomic). */
  async tempPath(): Promise<string> {
    const tmp = path.join(this.dir, "tmp");
    await mkdir(tmp, { recursive: true });
    return path.join(tmp, `${process.pid}-${randomBytes(8).toString("hex")}`);
  }

  /** Moves a fully written, verified temp file into place under `id`. Idempotent. */
  async commitTemp(tempFile: string, id: Hex): Promise<void> {
    const target = this.pathOf(id);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(tempFile, target);
  }

  async put(bytes: Uint8Array): Promise<Hex> {
    if (bytes.byteLength > this.maxBytes) throw new BlobTooLargeError(bytes.byteLength, this.maxBytes);
    const id = blobId(bytes);
    if (await this.has(id)) return id;
    const tmp = await this.tempPath();
    const fh = await open(tmp, "w");
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.commitTemp(tmp, id);
    return id;
  }

  async get(id: Hex): Promise<Uint8Array> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new BlobNotFoundError(parseBlobId(id));
      throw err;
    }
    const actual = blobId(bytes);
    if (actual !== parseBlobId(id)) throw new BlobIntegrityError(parseBlobId(id), actual);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async has(id: Hex): Promise<boolean> {
    return (await this.size(id)) !== undefined;
  }

  /** Size in bytes, or undefined when absent. */
  async size(id: Hex): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(id))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /** A read stream over [start, end] (inclusive) of a stored blob. */
  stream(id: Hex, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.pathOf(id), range);
  }

  async removeTemp(tempFile: string): Promise<void> {
    await rm(tempFile, { force: true });
  }
}
