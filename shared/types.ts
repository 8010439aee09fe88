/** TypeScript mirrors of the contracts' enums and structs (see contracts/interfaces/ITrainingMarket.sol). */
import type { Address, Hex } from "viem";

export const JobStatus = ["None", "Open", "Running", "Completed", "Cancelled", "Failed"] as const;
export type JobStatusName = (typeof JobStatus)[number];

export const RoundStatus = ["None", "Active", "Finalized", "Expired", "Aborted"] as const;
export type RoundStatusName = (typeof RoundStatus)[number];

export const PenaltyReason = ["Absent", "Dissent", "Excluded", "Fraud", "NoVote", "WrongResult", "LowBond"] as const;
export type PenaltyReasonName = (typeof PenaltyReason)[number];

export const CreditKind = [
  "Reward",
  "Fee",
  "Refund",
  "SlashProceeds",
  "ChallengeBondReturn",
  "ChallengeBounty",
  "ChallengeBondForfeit",
] as const;
export type CreditKindName = (typeof CreditKind)[number];

/** IDisputeGame's enums (contracts/interfaces/IDisputeGame.sol). */
export const DisputeKind = ["Step", "Round"] as const;
export const DisputePhase = ["None", "AwaitStart", "AwaitReveal", "AwaitResponse", "Refereeing", "Closed"] as const;
export type DisputePhaseName = (typeof DisputePhase)[number];
export const DisputeVerdict = ["Upheld", "Rejected", "Dropped"] as const;

/** createJob's argument (ITrainingMarket.JobParams). */
export interface JobParams {
  specHash: Hex;
  initialModelHash: Hex;
  rewardPerRound: bigint;
  workerBond: bigint;
  challengeBond: bigint;
  rounds: number;
  maxWorkers: number;
  minWorkers: number;
  quorumBps: number;
  penaltyBps: number;
  joinWindow: number;
  commitWindow: number;
  voteWindow: number;
  challengeWindow: number;
}

/** The contract's worker cap (TrainingMarket.MAX_WORKERS): masks are 32-bit. */
export const MAX_WORKERS = 32;

/** Bit of the worker that joined `index`-th. */
export function workerBit(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_WORKERS) throw new Error(`worker index out of range: ${index}`);
  return (1 << index) >>> 0;
}

/** Indices set in a 32-bit mask. */
export function maskIndices(mask: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < MAX_WORKERS; i++) if ((mask >>> i) & 1) out.push(i);
  return out;
}
