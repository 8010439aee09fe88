/**
 * Upload authentication for the blob service (DESIGN.md §6: uploads signed by a registered provider
 * or a job's poster; reads open). A client signs, with its account key (EIP-191 personal message),
 *
 *   diloco-market blob upload
 *   blob: <id>
 *   expires: <unix seconds>
 *
 * and sends `authorization: BlobUpload <address>:<expires>:<signature>` with the PUT. The message
 * names the blob, so a captured header uploads nothing else, and expires within MAX_VALIDITY_S.
 * The service recovers the signer and asks its policy whether that account may upload.
 */
import { getAddress, isAddress, isHex, recoverMessageAddress, type Address, type Hex, type LocalAccount } from "viem";

export const AUTH_SCHEME = "BlobUpload";
/** Longest accepted validity of a signature (seconds). */
export const MAX_VALIDITY_S = 600;

export function uploadMessage(id: Hex, expires: number): string {
  return `diloco-market blob upload\nblob: ${id.toLowerCase()}\nexpires: ${expires}`;
}

/** Something that can sign upload messages (a viem local account). */
export type UploadSigner = Pick<LocalAccount, "address" | "signMessage">;

export async function uploadAuthorization(signer: UploadSigner, id: Hex, nowS = Math.floor(Date.now() / 1000)): Promise<string> {
  const expires = nowS + 300;
  const signature = await signer.signMessage({ message: uploadMessage(id, expires) });
  return `${AUTH_SCHEME} ${signer.address}:${expires}:${signature}`;
}

export class UploadAuthError extends Error {
  readonly status: 401 | 403;
  constructor(status: 401 | 403, message: string) {
    super(message);
    this.status = status;
  }
}

/** Verifies an authorization header for blob `id`; returns the signer. Throws UploadAuthError (401). */
export async function verifyUploadAuthorization(header: string | undefined, id: Hex, nowS = Math.floor(Date.now() / 1000)): Promise<Address> {
  if (!header) throw new UploadAuthError(401, `uploads need an "authorization: ${AUTH_SCHEME} <address>:<expires>:<signature>" header signed by a registered provider or a job's poster`);
  const m = /^BlobUpload (0x[0-9a-fA-F]{40}):(\d{1,12}):(0x[0-9a-fA-F]+)$/.exec(header.trim());
  if (!m || !isAddress(m[1]) || !isHex(m[3])) throw new UploadAuthError(401, `malformed authorization header: expected "${AUTH_SCHEME} <address>:<expires>:<signature>"`);
  const expires = Number(m[2]);
  if (expires < nowS) throw new UploadAuthError(401, `upload signature expired at ${expires} (now ${nowS}); sign again`);
  if (expires > nowS + MAX_VALIDITY_S) throw new UploadAuthError(401, `upload signature valid for more than ${MAX_VALIDITY_S} s; sign with a nearer expiry`);
  let signer: Address;
  try {
    signer = await recoverMessageAddress({ message: uploadMessage(id, expires), signature: m[3] as Hex });
  } catch {
    throw new UploadAuthError(401, "upload signature does not recover to an address");
  }
  if (getAddress(signer) !== getAddress(m[1])) throw new UploadAuthError(401, `upload signature is by ${signer}, not by ${m[1]} (wrong blob id or key)`);
  return getAddress(signer);
}

/** Decides whether an authenticated account may upload; returns a reason when it may not. */
export type UploadPolicy = (signer: Address, id: Hex) => Promise<string | undefined>;
