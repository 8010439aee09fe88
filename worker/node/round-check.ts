/**
 * Automatic round checks of a worker node (issue 13, docs/contracts.md "Every finalized round can be
 * challenged" and "A blocking minority is settled, not forgiven"), run once a round this worker
 * committed to has closed:
 *
 *  - FINALIZED with an outcome (modelHash, includedMask) other than the deterministic aggregate this
 *    node computed for its vote: the node challenges the round (`challengeRound`, posting the job's
 *    challenge bond); a referee panel recomputes the aggregate and, when it differs, slashes every
 *    voter of the wrong outcome and compensates the honest minority.
 *  - EXPIRED with a reserve (`reservedFor > 0`): the node asks for the round's settlement (the same
 *    call; the bond is returned whatever the outcome).
 *
 * An honest node must never challenge a correct round (it would lose its bond), so it challenges only
 * when its own aggregate is well-defined: computed for this very round, reproduced now from the
 * chain's commitments and the blob store, with no update excluded for a transient reason (a blob
 * store that could not be reached). Nothing here throws: a check that cannot run is logged and
 * skipped, and the round protocol goes on.
 */
import type { Address, Hex } from "viem";
import { trainingMarketAbi } from "../../shared/abis.ts";
import { ContractRevertError } from "../chain/tx-sender.ts";
import { DisputePhase, type GameClient } from "./game-client.ts";
import type { MarketReader } from "./market-reader.ts";

type Logger = (msg: string, fields?: Record<string, unknown>) => void;

/** ITrainingMarket.RoundStatus. */
const FINALIZED = 2;
const EXPIRED = 3;

export interface Outcome {
  modelHash: Hex;
  includedMask: number;
}

export interface RoundCheckInput {
  reader: MarketReader;
  /** The job's dispute game (undefined: the deployment has none; nothing is checked). */
  game: GameClient | undefined;
  jobId: bigint;
  round: number;
  me: Address;
  /** This worker's index in the job (its bit in the round masks). */
  index: number;
  /** The deterministic aggregate this node computed for its vote, persisted with the round it is of. */
  computed: (Outcome & { round: number }) | undefined;
  /** Recomputes the round's aggregate now (fetching every committed update again). */
  recompute: () => Promise<Outcome & { excluded: { worker: Address; reason: string }[] }>;
  /** Whether the model the round finalized can be fetched and decoded (the next round trains from it). */
  modelUsable?: (modelHash: Hex) => Promise<boolean>;
  log: Logger;
  /** Seconds between blocks: other honest nodes of the round act first by rank, this many × 3 apart. */
  blockTime: number;
  signal?: AbortSignal;
  /** Test seam: milliseconds to wait per rank (default 3 blocks). */
  rankDelayMs?: number;
}

export type RoundCheckResult =
  | { action: "none"; reason: string }
  | { action: "skipped"; reason: string }
  | { action: "challenged"; disputeId: bigint; reason: string; verdict?: string }
  | { action: "settlement"; disputeId: bigint; reason: string };

const sameOutcome = (a: Outcome, b: Outcome) => a.modelHash.toLowerCase() === b.modelHash.toLowerCase() && a.includedMask >>> 0 === b.includedMask >>> 0;

/** Bits of `mask` below `index`: this node's rank among the workers of `mask`. */
function rankIn(mask: number, index: number): number {
  let n = 0;
  for (let i = 0; i < index; i++) if ((mask >>> i) & 1) n++;
  return n;
}

/** Reasons of an exclusion that say nothing about the update itself (the store was unreachable). */
export function transientExclusion(reason: string): boolean {
  if (!reason.startsWith("blob unavailable")) return false;
  return !/not found|failed verification/.test(reason);
}

/** Checks a closed round; challenges or asks for a settlement when the rules above say so. */
export async function checkClosedRound(inp: RoundCheckInput): Promise<RoundCheckResult> {
  try {
    return await check(inp);
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0];
    inp.log("round check failed; the round is not challenged", { jobId: inp.jobId, round: inp.round, error: reason });
    return { action: "skipped", reason };
  }
}

async function check(inp: RoundCheckInput): Promise<RoundCheckResult> {
  const { reader, game, jobId, round, log } = inp;
  const bit = 1 << inp.index;
  const rd = await reader.round(jobId, round);
  if (!(rd.committedMask & bit)) return { action: "none", reason: "this worker did not commit in the round" };
  if (rd.status !== FINALIZED && rd.status !== EXPIRED) return { action: "none", reason: `round status ${rd.status}` };
  if (!game) return { action: "skipped", reason: "the deployment has no dispute game" };
  const params = await reader.jobParams(jobId);
  const now = await reader.now();
  if (rd.closedAt !== 0 && now > BigInt(rd.closedAt) + BigInt(params.challengeWindow)) return { action: "skipped", reason: "challenge window passed" };
  const votersFor: VotersFor = (o) => reader.client.readContract({ address: reader.addresses.market, abi: trainingMarketAbi, functionName: "votersFor", args: [jobId, round, o.modelHash, o.includedMask] });
  if (rd.status === EXPIRED) return checkExpired(inp, game, rd, votersFor);

  const fin = (await reader.jobEvents("RoundFinalized", jobId)).find((l) => Number(l.args.round) === round);
  if (!fin) return { action: "skipped", reason: "no RoundFinalized event found" };
  const final: Outcome = { modelHash: fin.args.modelHash as Hex, includedMask: Number(fin.args.includedMask) };
  const result = await checkFinalized(inp, game, rd, final, votersFor);
  // After a wrong finalization the next round trains from the wrong model; when that model cannot
  // even be fetched, wait for the round's disputes (an overturn fails the job) instead of crashing on it.
  if (result.action !== "none" && inp.modelUsable && !(await inp.modelUsable(final.modelHash))) {
    log("the finalized model is unusable: waiting for the round's disputes", { jobId, round, modelHash: final.modelHash });
    for (const c of await game.roundChallenges(jobId, round)) await waitClosed(inp, game, c.id);
    if ((await reader.jobState(jobId)).status === 2 && !(await inp.modelUsable(final.modelHash))) {
      log("the job goes on from a model that cannot be fetched or decoded: this node waits for the job to end", { jobId, round, modelHash: final.modelHash });
      await waitJobEnd(inp);
    }
  }
  return result;
}

type RoundView = Awaited<ReturnType<MarketReader["round"]>>;
type VotersFor = (o: Outcome) => Promise<number>;

/** A finalized round: "none" only when its outcome is this node's own aggregate. */
async function checkFinalized(inp: RoundCheckInput, game: GameClient, rd: RoundView, final: Outcome, votersFor: VotersFor): Promise<RoundCheckResult> {
  const { jobId, round, log } = inp;
  const mine = inp.computed?.round === round ? inp.computed : undefined;
  if (!mine) return { action: "skipped", reason: "this node computed no aggregate for the round" };
  if (sameOutcome(mine, final)) return { action: "none", reason: "the finalized outcome is this node's aggregate" };
  // Well-defined: reproduced now, and no exclusion that a flaky store could explain.
  const again = await inp.recompute();
  if (!sameOutcome(again, mine)) {
    log("not challenging a round whose aggregate this node cannot reproduce", { jobId, round, voted: mine, recomputed: { modelHash: again.modelHash, includedMask: again.includedMask } });
    return { action: "skipped", reason: "aggregate not reproducible" };
  }
  const flaky = again.excluded.find((e) => transientExclusion(e.reason));
  if (flaky) {
    log("not challenging: an update was excluded because the blob store could not be reached", { jobId, round, worker: flaky.worker, reason: flaky.reason });
    return { action: "skipped", reason: "transient exclusion" };
  }
  const why = `finalized ${final.modelHash} with mask 0b${final.includedMask.toString(2)}; the deterministic aggregate of the committed updates is ${mine.modelHash} with mask 0b${mine.includedMask.toString(2)}`;
  // the workers that did not vote the finalized outcome challenge in turn (lowest index first)
  const honest = rd.committedMask & ~(await votersFor(final));
  const id = await challengeOnce(inp, game, rankIn(honest, inp.index), false, why);
  if (typeof id !== "bigint") return id.action === "none" ? { action: "skipped", reason: id.reason } : id;
  inp.log("challenged a wrong finalized round", { jobId, round, disputeId: id, why });
  return { action: "challenged", disputeId: id, reason: why };
}

/** An expired round with a reserve: the voters of the correct outcome are paid once referees settle it. */
async function checkExpired(inp: RoundCheckInput, game: GameClient, rd: RoundView, votersFor: VotersFor): Promise<RoundCheckResult> {
  const { reader, jobId, round, log } = inp;
  const bit = 1 << inp.index;
  const reserve = await reader.client.readContract({ address: reader.addresses.market, abi: trainingMarketAbi, functionName: "reservedFor", args: [jobId, round] });
  if (reserve === 0n) return { action: "none", reason: "nothing reserved" };
  if (!(rd.votedMask & bit)) return { action: "none", reason: "this worker did not vote in the round" };
  const mine = inp.computed?.round === round ? inp.computed : undefined;
  const same = mine ? await votersFor(mine) : bit;
  const why = `round expired without quorum; ${reserve} reserved for its voters`;
  const id = await challengeOnce(inp, game, rankIn(same | bit, inp.index), true, why);
  if (typeof id !== "bigint") return id;
  log("asked referees to settle an expired round", { jobId, round, disputeId: id, reserve });
  return { action: "settlement", disputeId: id, reason: why };
}

/**
 * Opens the round's dispute unless one exists. Ranked nodes wait `rank` × 3 blocks first, so that
 * several honest nodes do not all try to post a bond for the same round (the game allows one open
 * round dispute per round: a second request reverts `RoundDisputeOpen`, which is logged and skipped).
 */
async function challengeOnce(inp: RoundCheckInput, game: GameClient, rank: number, settlement: boolean, why: string): Promise<bigint | RoundCheckResult> {
  const { jobId, round, log } = inp;
  const existing = async () => (await game.roundChallenges(jobId, round)).at(0);
  const waitUntil = Date.now() + rank * (inp.rankDelayMs ?? Math.round(inp.blockTime * 3000));
  for (;;) {
    const other = await existing();
    if (other) {
      log(settlement ? "settlement already requested" : "round already challenged", { jobId, round, disputeId: other.id, by: other.challenger });
      return { action: "none", reason: `dispute ${other.id} already opened by ${other.challenger}` };
    }
    if (Date.now() >= waitUntil || inp.signal?.aborted) break;
    await new Promise((r) => setTimeout(r, Math.max(250, Math.min(2000, inp.blockTime * 500))));
  }
  if (inp.signal?.aborted) return { action: "skipped", reason: "stopping" };
  try {
    return await game.challengeRound(jobId, round);
  } catch (err) {
    if (err instanceof ContractRevertError) {
      log("round challenge refused", { jobId, round, reason: err.errorName, why });
      return { action: "skipped", reason: err.errorName };
    }
    throw err;
  }
}

/** Waits until dispute `id` is closed (or the job is no longer running). */
async function waitClosed(inp: RoundCheckInput, game: GameClient, id: bigint): Promise<void> {
  for (;;) {
    if (inp.signal?.aborted) return;
    if ((await game.dispute(id)).phase === DisputePhase.Closed) return;
    if ((await inp.reader.jobState(inp.jobId)).status !== 2) return;
    await new Promise((r) => setTimeout(r, Math.max(250, inp.blockTime * 500)));
  }
}

/** Waits until the job is no longer running. */
async function waitJobEnd(inp: RoundCheckInput): Promise<void> {
  while (!inp.signal?.aborted && (await inp.reader.jobState(inp.jobId)).status === 2) {
    await new Promise((r) => setTimeout(r, Math.max(1000, inp.blockTime * 1000)));
  }
}
