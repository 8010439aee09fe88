/**
 * Off-chain evaluation-loss reports: the job's poster evaluates a finalized round's global model on
 * the held-out split and sends the loss to the API (`reportEvalLoss` mutation), signed with EIP-191
 * `personal_sign` over the canonical message below. The API recovers the signer and accepts the
 * report only from the job's poster, for a finalized round whose result model is the signed one.
 *
 *   diloco-market eval loss
 *   chain 31337
 *   market 0x5FbDB2315678afecb367f032d93F642f64180aa3
 *   job 1
 *   round 0
 *   model 0x…                 (the round's resultModelHash, lower-case hex)
 *   evalLoss 3.0412
 *
 * Lines are joined by "\n", no trailing newline. The market address is EIP-55 checksummed; the loss
 * is JavaScript's shortest round-trip decimal form of the float (`Number.prototype.toString`), so the
 * value the API receives as a GraphQL Float prints to the same text the poster signed.
 */
import { getAddress, type Address, type Hex } from "viem";

export const EVAL_LOSS_MESSAGE_PREFIX = "diloco-market eval loss";

export interface EvalLossReport {
  chainId: number;
  market: Address;
  jobId: bigint;
  round: number;
  /** The finalized round's result model hash (what was evaluated). */
  modelHash: Hex;
  evalLoss: number;
}

/** Throws a RangeError naming the field when a report cannot be signed or accepted. */
export function checkEvalLossReport(r: EvalLossReport): void {
  if (!Number.isSafeInteger(r.chainId) || r.chainId <= 0) throw new RangeError(`chainId must be a positive integer, got ${r.chainId}`);
  if (typeof r.jobId !== "bigint" || r.jobId < 0n) throw new RangeError(`jobId must be a non-negative bigint, got ${String(r.jobId)}`);
  if (!Number.isInteger(r.round) || r.round < 0) throw new RangeError(`round must be a non-negative integer, got ${r.round}`);
  if (typeof r.evalLoss !== "number" || !Number.isFinite(r.evalLoss) || r.evalLoss < 0) throw new RangeError(`evalLoss must be a finite number ≥ 0, got ${r.evalLoss}`);
  if (!/^0x[0-9a-fA-F]{64}$/.test(r.modelHash)) throw new RangeError(`modelHash must be a 32-byte hex hash, got ${r.modelHash}`);
}

/** The exact text the poster signs (EIP-191 personal_sign) for an eval-loss report. */
export function evalLossMessage(r: EvalLossReport): string {
  checkEvalLossReport(r);
  return [
    EVAL_LOSS_MESSAGE_PREFIX,
    `chain ${r.chainId}`,
    `market ${getAddress(r.market)}`,
    `job ${r.jobId.toString()}`,
    `round ${r.round}`,
    `model ${r.modelHash.toLowerCase()}`,
    `evalLoss ${String(r.evalLoss)}`,
  ].join("\n");
}
