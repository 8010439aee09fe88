/**
 * A content-addressed blob store: a blob's id is the keccak-256 of its bytes (0x-prefixed hex),
 * and every reader verifies it. Implementations: HTTP client (blobstore/http-client.ts), local
 * directory (blobstore/local-dir.ts); an S3-compatible store can implement the same interface.
 */
import type { Hex } from "viem";

export interface BlobStore {
  /** Stores `bytes` (idempotent) and returns their id. */
  put(bytes: Uint8Array): Promise<Hex>;
  /** Returns the bytes of `id`, verified against it; throws BlobNotFoundError / BlobIntegrityError. */
  get(id: Hex): Promise<Uint8Array>;
  /** Whether `id` is stored. */
  has(id: Hex): Promise<boolean>;
}

export class BlobNotFoundError extends Error {
  readonly id: Hex;
  constructor(id: Hex) {
    super(`blob ${id} not found`);
    this.name = "BlobNotFoundError";
    this.id = id;
  }
}

export class BlobIntegrityError extends Error {
  readonly id: Hex;
  readonly actual: Hex;
  constructor(id: Hex, actual: Hex) {
    super(`blob ${id} failed verification: its bytes hash to ${actual}`);
    this.name = "BlobIntegrityError";
    this.id = id;
    this.actual = actual;
  }
}

export class BlobTooLargeError extends Error {
  constructor(size: number, limit: number) {
    super(`blob of ${size} bytes exceeds the limit of ${limit} bytes`);
    this.name = "BlobTooLargeError";
  }
}

const ID_RE = /^0x[0-9a-f]{64}$/;

/** Validates and normalises a blob id (lower-case 0x + 64 hex). */
export function parseBlobId(id: string): Hex {
  const lower = id.toLowerCase();
  if (!ID_RE.test(lower)) throw new Error(`invalid blob id ${JSON.stringify(id)}: expected 0x followed by 64 hex digits (keccak-256)`);
  return lower as Hex;
}
