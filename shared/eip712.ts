/**
 * EIP-712 domain and types of the TrainingMarket's attested messages, with signing and
 * verification helpers. Must match TrainingMarket.sol (ROUND_UPDATE_TYPEHASH, EIP712("TrainingMarket",
 * "1")); test/shared/shared-module.test.ts checks them against the contract. Only commitments are
 * attested: a result vote is a plain transaction (its content is recomputable by anyone and a wrong
 * one is overturned by a round challenge).
 */
import {
  hashTypedData,
  recoverTypedDataAddress,
  type Address,
  type Hex,
  type LocalAccount,
  type TypedDataDomain,
} from "viem";

export const EIP712_NAME = "TrainingMarket";
export const EIP712_VERSION = "1";

/** Fixed-point scale of `trainLoss` on chain: loss (nats/token) × 1e6 as uint64. */
export const LOSS_SCALE = 1_000_000;

export const roundUpdateTypes = {
  RoundUpdate: [
    { name: "jobId", type: "uint256" },
    { name: "round", type: "uint32" },
    { name: "updateHash", type: "bytes32" },
    { name: "traceRoot", type: "bytes32" },
    { name: "trainLoss", type: "uint64" },
    { name: "worker", type: "address" },
  ],
} as const;

export interface RoundUpdateMessage {
  jobId: bigint;
  round: number;
  updateHash: Hex;
  /** Merkle root of the round trace (shared/trace.ts). */
  traceRoot: Hex;
  trainLoss: bigint;
  worker: Address;
}

/** The market's EIP-712 domain on a chain. */
export function marketDomain(chainId: number | bigint, market: Address): TypedDataDomain {
  return { name: EIP712_NAME, version: EIP712_VERSION, chainId: Number(chainId), verifyingContract: market };
}

/** Converts a float loss to the on-chain fixed-point value, rejecting NaN, negatives and overflow. */
export function encodeLoss(loss: number): bigint {
  if (!Number.isFinite(loss) || loss < 0) throw new Error(`train loss must be a finite non-negative number, got ${loss}`);
  const scaled = BigInt(Math.round(loss * LOSS_SCALE));
  if (scaled >= 1n << 64n) throw new Error(`train loss ${loss} overflows uint64 at scale ${LOSS_SCALE}`);
  return scaled;
}

/** Converts the on-chain fixed-point loss back to a float. */
export function decodeLoss(value: bigint): number {
  return Number(value) / LOSS_SCALE;
}

export function roundUpdateDigest(domain: TypedDataDomain, message: RoundUpdateMessage): Hex {
  return hashTypedData({ domain, types: roundUpdateTypes, primaryType: "RoundUpdate", message });
}

/** Signs a RoundUpdate with an attestation key. */
export function signRoundUpdate(signer: LocalAccount, domain: TypedDataDomain, message: RoundUpdateMessage): Promise<Hex> {
  return signer.signTypedData({ domain, types: roundUpdateTypes, primaryType: "RoundUpdate", message });
}

/** Recovers the signer of a RoundUpdate signature. */
export function recoverRoundUpdateSigner(domain: TypedDataDomain, message: RoundUpdateMessage, signature: Hex): Promise<Address> {
  return recoverTypedDataAddress({ domain, types: roundUpdateTypes, primaryType: "RoundUpdate", message, signature });
}

// ---- ProviderRegistry: attestation key proof of possession ----------------------------------

export const REGISTRY_EIP712_NAME = "ProviderRegistry";

export const keyProofTypes = {
  AttestationKeyProof: [
    { name: "provider", type: "address" },
    { name: "signer", type: "address" },
    { name: "reportHash", type: "bytes32" },
    { name: "nonce", type: "uint256" },
  ],
} as const;

/** The registry's EIP-712 domain on a chain. */
export function registryDomain(chainId: number | bigint, registry: Address): TypedDataDomain {
  return { name: REGISTRY_EIP712_NAME, version: "1", chainId: Number(chainId), verifyingContract: registry };
}

/**
 * Proof that `key` is held by the registering provider: the key signs (provider, its own address,
 * the attestation report hash, the provider's current `keyNonce`) under the registry's domain
 * (chain id + registry address), so the proof cannot be replayed elsewhere or reused.
 */
export function signKeyProof(
  key: LocalAccount,
  domain: TypedDataDomain,
  message: { provider: Address; reportHash: Hex; nonce: bigint },
): Promise<Hex> {
  return key.signTypedData({
    domain,
    types: keyProofTypes,
    primaryType: "AttestationKeyProof",
    message: { provider: message.provider, signer: key.address, reportHash: message.reportHash, nonce: message.nonce },
  });
}
