/** keccak-256 of blob bytes, whole or incrementally (for streams). */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, type Hex } from "viem";

export function blobId(bytes: Uint8Array): Hex {
  return bytesToHex(keccak_256(bytes));
}

/** Incremental hasher for streamed uploads. */
export function createBlobHasher(): { update(chunk: Uint8Array): void; digest(): Hex } {
  const h = keccak_256.create();
  return {
    update: (chunk) => void h.update(chunk),
    digest: () => bytesToHex(h.digest()),
  };
}
