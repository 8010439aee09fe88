/**
 * Job windows measured against the target chain's block time. The contract and the spec accept any
 * window of at least MIN_WINDOW (10 s) seconds, which is one block on a 12 s chain: a transaction
 * sent at the start of such a window can land after it closes, and honest workers would be
 * penalised for the chain's timing. So a job's commit and vote windows must each span at least
 * MIN_WINDOW_BLOCKS blocks of the chain it runs on (and its join and challenge windows as many).
 * `market job create` and `market spec init` refuse shorter windows before any gas is spent, and
 * the worker declines jobs whose windows are too short for the chain it is on.
 */
import type { JobSpec } from "./job-spec.ts";

/** Blocks each phase window must span at least. */
export const MIN_WINDOW_BLOCKS = 10;

/** Same floor as the contract's MIN_WINDOW (seconds). */
export const MIN_WINDOW_SECONDS = 10;

/** The shortest window (seconds) a job may use on a chain with this block time. */
export function minWindowFor(blockTimeSeconds: number): number {
  return Math.max(MIN_WINDOW_SECONDS, Math.ceil(MIN_WINDOW_BLOCKS * blockTimeSeconds));
}

/** The first window of `market` too short for the chain, as a one-line message with the fix; undefined when all fit. */
export function windowProblem(market: Pick<JobSpec["market"], "joinWindow" | "commitWindow" | "voteWindow" | "challengeWindow">, blockTimeSeconds: number): string | undefined {
  const min = minWindowFor(blockTimeSeconds);
  for (const key of ["commitWindow", "voteWindow", "joinWindow", "challengeWindow"] as const) {
    if (market[key] < min) {
      return `market.${key} is ${market[key]} s, shorter than ${MIN_WINDOW_BLOCKS} blocks of this chain (${blockTimeSeconds.toFixed(1)} s per block → at least ${min} s); raise it so that transactions land before the deadline`;
    }
  }
  return undefined;
}
