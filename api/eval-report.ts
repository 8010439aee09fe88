/**
 * The `reportEvalLoss` mutation: the job's poster reports the held-out evaluation loss of a
 * finalized round's model. The report is signed (EIP-191 personal_sign over
 * `evalLossMessage`, shared/eval-report.ts) and checked against the job's poster in the database;
 * the chain id and market address come from the indexer's sync checkpoint, the model hash from the
 * round's row, so a signature only ever vouches for one model of one job on one deployment.
 *
 * A round's eval loss is written once (a conditional update, so concurrent reports cannot both
 * win): sending the same value again returns the round unchanged, another value is refused. That
 * also makes replaying an old signature harmless.
 */
import { getAddress, recoverMessageAddress, type Address, type Hex } from "viem";
import type { Db } from "../indexer/db/index.ts";
import type { Round } from "../indexer/generated/sqlite/client.ts";
import { evalLossMessage } from "../shared/eval-report.ts";
import { userError } from "./sql.ts";

export const EVAL_LOSS_SOURCE_POSTER = "poster";

export interface EvalLossInput {
  jobId: bigint;
  round: number;
  evalLoss: number;
  signature: Hex;
}

/** The chain id and market address the database was indexed from. */
export async function indexedDeployment(db: Db): Promise<{ chainId: number; market: Address }> {
  const cp = await db.prisma.syncCheckpoint.findFirst();
  if (!cp) throw userError("the indexer has not written its first block yet: try again shortly", "NOT_SYNCED");
  const market = cp.contracts.split(",")[1];
  return { chainId: cp.chainId, market: getAddress(market) };
}

/**
 * Validates, verifies and stores a report. Returns the round row and whether it changed (false for
 * an identical repeat). Errors carry `extensions.code`: BAD_USER_INPUT, NOT_SYNCED, JOB_NOT_FOUND,
 * ROUND_NOT_FOUND, ROUND_NOT_FINALIZED, INVALID_SIGNATURE, NOT_POSTER, EVAL_LOSS_ALREADY_REPORTED.
 */
export async function reportEvalLoss(db: Db, input: EvalLossInput): Promise<{ round: Round; changed: boolean }> {
  const { jobId, round, evalLoss, signature } = input;
  if (!Number.isInteger(round) || round < 0) throw userError(`round must be a non-negative integer, got ${round}`, "BAD_USER_INPUT", { field: "round" });
  if (typeof evalLoss !== "number" || !Number.isFinite(evalLoss) || evalLoss < 0) {
    throw userError(`evalLoss must be a finite number ≥ 0, got ${evalLoss}`, "BAD_USER_INPUT", { field: "evalLoss" });
  }
  const { chainId, market } = await indexedDeployment(db);
  const job = await db.prisma.job.findUnique({ where: { id: jobId } });
  if (!job) throw userError(`no job ${jobId}`, "JOB_NOT_FOUND");
  const id = `${jobId}-${round}`;
  const row = await db.prisma.round.findUnique({ where: { id } });
  if (!row) throw userError(`job ${jobId} has no round ${round}`, "ROUND_NOT_FOUND");
  if (row.status !== "Finalized" || !row.resultModelHash) throw userError(`round ${round} of job ${jobId} is ${row.status}, not Finalized: only a finalized round's model can be evaluated`, "ROUND_NOT_FINALIZED", { status: row.status });

  const message = evalLossMessage({ chainId, market, jobId, round, modelHash: row.resultModelHash as Hex, evalLoss });
  let signer: Address;
  try {
    signer = await recoverMessageAddress({ message, signature });
  } catch (err) {
    throw userError(`the signature is not a valid 65-byte secp256k1 signature: ${(err as Error).message.split("\n")[0]}`, "INVALID_SIGNATURE");
  }
  if (getAddress(signer) !== getAddress(job.poster)) {
    throw userError(`the report is signed by ${signer}, not by job ${jobId}'s poster ${getAddress(job.poster)} (or it signs other data than chain ${chainId}, market ${market}, model ${row.resultModelHash}, evalLoss ${evalLoss})`, "NOT_POSTER", { signer });
  }

  const { count } = await db.prisma.round.updateMany({ where: { id, evalLoss: null }, data: { evalLoss, evalLossSource: EVAL_LOSS_SOURCE_POSTER } });
  const stored = (await db.prisma.round.findUnique({ where: { id } }))!;
  if (count === 1) return { round: stored, changed: true };
  if (stored.evalLoss === evalLoss) return { round: stored, changed: false };
  throw userError(`round ${round} of job ${jobId} already has eval loss ${stored.evalLoss} (reported by ${stored.evalLossSource ?? "unknown"}); it is set once`, "EVAL_LOSS_ALREADY_REPORTED", { evalLoss: stored.evalLoss });
}
