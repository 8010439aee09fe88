/**
 * Content ids for DiLoCoX blobs: keccak-256 over the exact encoded bytes (parameters / global
 * state, compressed updates, residuals). The same function is used by the blob store, the chain
 * commitments and the auditors, so an id always names exactly one byte string.
 */
import { keccak256, type Hex } from "viem";

/** keccak-256 of the exact bytes, as a 0x-prefixed lowercase hex string. */
export function blobId(bytes: Uint8Array): Hex {
  return keccak256(bytes);
}

/** True when `bytes` hash to `expected` (case-insensitive hex comparison). */
export function matchesBlobId(bytes: Uint8Array, expected: string): boolean {
  return blobId(bytes) === expected.toLowerCase();
}
