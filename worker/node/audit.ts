/**
 * Replay audit (DESIGN.md §3): recomputes a worker's committed update bit for bit from public data
 * (the spec, the global model each round started from, the worker's shard index) and compares its
 * hash with the commitment. Error feedback makes round r depend on the worker's earlier rounds, so
 * the replay runs every round the worker committed, from round 0 up to r; the first mismatch is the
 * finding. Optionally raises an on-chain challenge (posting the job's challenge bond).
 */
import { disputeGameAbi } from "../../shared/abis.ts";
import { getAddress, zeroAddress, type Address, type Hex } from "viem";
import { testTokenAbi, trainingMarketAbi } from "../../shared/abis.ts";
import { fetchGlobalState, loadJobContext, trainRound } from "./job-context.ts";
import type { Provider } from "./provider.ts";
import type { MarketReader } from "./market-reader.ts";
import type { BlobStore } from "../../blobstore/types.ts";

export interface AuditResult {
  jobId: bigint;
  round: number;
  worker: Address;
  committedHash: Hex;
  replayedHash: Hex;
  match: boolean;
  /** First round whose replay differs from the commitment (≤ round), if any. */
  firstMismatchRound?: number;
  challengeId?: bigint;
}

/** Replays `worker`'s rounds 0..round and compares hashes (no transaction). */
export async function replayWorker(reader: MarketReader, blobs: BlobStore, jobId: bigint, round: number, workerIn: Address): Promise<Omit<AuditResult, "challengeId">> {
  const worker = getAddress(workerIn);
  const slot = await reader.slot(jobId, worker);
  if (!slot.joined) throw new Error(`${worker} is not a worker of job ${jobId}`);
  const job = await reader.jobState(jobId);
  if (round > job.currentRound) throw new Error(`round ${round} has not started (job ${jobId} is at round ${job.currentRound})`);
  const ctx = await loadJobContext({ jobId, params: await reader.jobParams(jobId), workerCount: job.workerCount, blobs });
  const starts = await reader.roundStartHashes(jobId);
  let residual: Float32Array | null = null;
  let committedHash: Hex | undefined;
  let replayedHash: Hex | undefined;
  let firstMismatchRound: number | undefined;
  for (let r = 0; r <= round; r++) {
    const commit = (await reader.commitments(jobId, r)).find((c) => c.worker === worker);
    if (!commit) {
      if (r === round) throw new Error(`${worker} committed nothing in round ${round} of job ${jobId}`);
      continue;
    }
    const startHash = starts.get(r);
    if (!startHash) throw new Error(`no RoundStarted event for round ${r} of job ${jobId}`);
    const global = await fetchGlobalState(ctx, blobs, startHash);
    const out = await trainRound(ctx, { global, residual, round: r, workerIndex: slot.index });
    residual = out.nextState.residual;
    if (out.hash !== commit.updateHash.toLowerCase() && firstMismatchRound === undefined) firstMismatchRound = r;
    if (r === round) {
      committedHash = commit.updateHash;
      replayedHash = out.hash;
    }
  }
  await ctx.trainer.dispose();
  return { jobId, round, worker, committedHash: committedHash!, replayedHash: replayedHash!, match: firstMismatchRound === undefined, firstMismatchRound };
}

/** Audits and, when asked and the replay differs, challenges the worker's commitment of `round`. */
export async function auditRound(p: Provider, opts: { jobId: bigint; round: number; worker: Address; challenge: boolean }): Promise<AuditResult> {
  const result: AuditResult = await replayWorker(p.reader, p.blobs, opts.jobId, opts.round, opts.worker);
  p.log(result.match ? "audit: commitment reproduced" : "audit: MISMATCH", { jobId: opts.jobId, round: opts.round, worker: result.worker, committed: result.committedHash, replayed: result.replayedHash, firstMismatchRound: result.firstMismatchRound });
  if (!result.match && opts.challenge) {
    const challengeRound = result.firstMismatchRound ?? opts.round;
    const params = await p.reader.jobParams(opts.jobId);
    // the configured game, or the one the market names on chain (its only dispute game)
    const named = p.config.addresses.game ?? (await p.reader.client.readContract({ address: p.config.addresses.market, abi: trainingMarketAbi, functionName: "disputeGame" }));
    const game = named && named !== zeroAddress ? named : undefined;
    if (!game) throw new Error("this deployment has no DisputeGame address (set GAME_ADDRESS or redeploy with Ignition)");
    const commitment = await p.reader.commitment(opts.jobId, challengeRound, result.worker);
    if (!commitment) throw new Error(`no commitment of ${result.worker} in round ${challengeRound}`);
    await p.sender.send({ address: p.config.addresses.token, abi: testTokenAbi, functionName: "approve", args: [game, params.challengeBond] });
    await p.sender.send({ address: game, abi: disputeGameAbi, functionName: "challengeStep", args: [opts.jobId, challengeRound, result.worker, commitment.updateHash, commitment.traceRoot] });
    const id = await p.reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "disputeCount" });
    result.challengeId = id;
    p.log("challenge raised", { challengeId: id, jobId: opts.jobId, round: challengeRound, worker: result.worker });
  }
  return result;
}
