/**
 * The protocol limits on job terms (TrainingMarket.limits(), set by governance, issue 13) and the
 * check `createJob` applies (`TermsOutOfBounds(code)`), in TypeScript: posters see a violated bound
 * named before any gas is spent, and a worker's join policy can refuse terms outside them.
 */
import type { Address, PublicClient } from "viem";
import { trainingMarketAbi } from "./abis.ts";

export interface MarketLimits {
  maxPenaltyBps: number;
  minCommitWindow: number;
  minVoteWindow: number;
  minChallengeWindow: number;
  minBondToReward: number;
  maxBondToReward: bigint;
}

export interface LimitedTerms {
  penaltyBps: number;
  commitWindow: number;
  voteWindow: number;
  challengeWindow: number;
  workerBond: bigint;
  rewardPerRound: bigint;
}

export async function readMarketLimits(client: PublicClient, market: Address): Promise<MarketLimits> {
  const l = await client.readContract({ address: market, abi: trainingMarketAbi, functionName: "limits" });
  return { maxPenaltyBps: Number(l.maxPenaltyBps), minCommitWindow: Number(l.minCommitWindow), minVoteWindow: Number(l.minVoteWindow), minChallengeWindow: Number(l.minChallengeWindow), minBondToReward: Number(l.minBondToReward), maxBondToReward: BigInt(l.maxBondToReward) };
}

/** Every bound the terms break, as "what is wrong; what fits" phrases (empty when the terms fit). Same order and rules as TrainingMarket._validate. */
export function limitViolations(t: LimitedTerms, l: MarketLimits): string[] {
  const out: string[] = [];
  if (t.penaltyBps > l.maxPenaltyBps) out.push(`penaltyBps ${t.penaltyBps} is above the market's maximum ${l.maxPenaltyBps}`);
  if (t.commitWindow < l.minCommitWindow) out.push(`commitWindow ${t.commitWindow} s is below the market's minimum ${l.minCommitWindow} s`);
  if (t.voteWindow < l.minVoteWindow) out.push(`voteWindow ${t.voteWindow} s is below the market's minimum ${l.minVoteWindow} s`);
  if (t.challengeWindow < l.minChallengeWindow) out.push(`challengeWindow ${t.challengeWindow} s is below the market's minimum ${l.minChallengeWindow} s`);
  if (t.workerBond < t.rewardPerRound * BigInt(l.minBondToReward)) out.push(`workerBond is below ${l.minBondToReward} × rewardPerRound (the market's minimum bond-to-reward ratio)`);
  if (t.workerBond > t.rewardPerRound * l.maxBondToReward) out.push(`workerBond is above ${l.maxBondToReward} × rewardPerRound (the market's maximum bond-to-reward ratio)`);
  return out;
}
