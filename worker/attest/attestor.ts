/**
 * The attestation seam. An Attestor owns the key whose EIP-712 signatures vouch for a provider's
 * round work, and a report binding that key to an execution environment. In production the key is
 * born inside a TEE and the report is the hardware quote (its hash is recorded on chain when
 * registering); SoftwareAttestor implements the same interface with a keystore-held key and a
 * self-describing software report, so a TEE attestor can replace it without touching callers.
 */
import { keccak256, toHex, type Address, type Hex, type TypedDataDomain } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import {
  signKeyProof,
  signRoundUpdate,
  type RoundUpdateMessage,
} from "../../shared/eip712.ts";

export interface AttestationReport {
  kind: "software" | "tee";
  signer: Address;
  /** Free-form environment description (platform, runtime, code hash …). */
  environment: Record<string, string>;
  createdAt: string;
}

export interface Attestor {
  readonly signer: Address;
  /** The report and its keccak-256 (what the registry stores). */
  report(): { report: AttestationReport; hash: Hex };
  signRoundUpdate(domain: TypedDataDomain, message: RoundUpdateMessage): Promise<Hex>;
  /** Proof of possession of the key for `provider` (registry EIP-712 `AttestationKeyProof`). */
  signKeyProof(domain: TypedDataDomain, message: { provider: Address; reportHash: Hex; nonce: bigint }): Promise<Hex>;
}

/** Canonical JSON (sorted keys) so the report hash is reproducible. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function reportHash(report: AttestationReport): Hex {
  return keccak256(toHex(canonicalJson(report)));
}

export class SoftwareAttestor implements Attestor {
  readonly signer: Address;
  private readonly account: PrivateKeyAccount;
  private readonly _report: AttestationReport;

  constructor(account: PrivateKeyAccount, report?: AttestationReport) {
    this.account = account;
    this.signer = account.address;
    this._report = report ?? {
      kind: "software",
      signer: account.address,
      environment: { runtime: `node ${process.versions.node}`, platform: `${process.platform}-${process.arch}` },
      createdAt: new Date().toISOString(),
    };
    if (this._report.signer !== account.address) throw new Error("attestation report names another signer than the key");
  }

  report() {
    return { report: this._report, hash: reportHash(this._report) };
  }

  signRoundUpdate(domain: TypedDataDomain, message: RoundUpdateMessage): Promise<Hex> {
    return signRoundUpdate(this.account, domain, message);
  }

  /** Proof of possession of this key for `provider` (ProviderRegistry.register / rotateAttestationKey). */
  signKeyProof(domain: TypedDataDomain, message: { provider: Address; reportHash: Hex; nonce: bigint }): Promise<Hex> {
    return signKeyProof(this.account, domain, message);
  }
}
