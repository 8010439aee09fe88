/**
 * A referee's verdict on the single transition a step dispute was bisected down to: leaf `lo`
 * (agreed by both sides) → leaf `hi` (disputed). The referee recomputes that one transition:
 *
 *   hi = 0          (nothing agreed) leaf 0 must be the round's correct start state: the global model
 *                   the round started from, with the residual and AdamW state the worker's previous
 *                   committed round hands over; the referee replays that round from the snapshot its
 *                   update names (or, without one, every committed round from round 0);
 *   1 ≤ hi ≤ H      one inner step, from the witness of leaf lo (the full training state, published to
 *                   the blob store by either side and used only if it hashes to the agreed leaf);
 *   hi = H + 1      the compression of the trained state into the committed update (from the witness
 *                   of leaf H, the round's global model and the witnessed residual).
 *
 * With no usable witness for lo the worker has not substantiated its step: the vote is "wrong" (an
 * honest worker always publishes one; worker/node/step-dispute.ts).
 */
import { getAddress, type Address, type Hex } from "viem";
import { disputeGameAbi } from "../../shared/abis.ts";
import type { BlobStore } from "../../blobstore/types.ts";
import { scanEvents } from "../chain/log-scan.ts";
import { compressWorkerUpdate } from "../diloco/round/index.ts";
import { decodeUpdate } from "../diloco/format/update.ts";
import { decodeSnapshot } from "../diloco/trace/snapshot.ts";
import { contextHash, decodeWitness, digestF32, stateLeaf, zeroDigest, type TraceWitness } from "../diloco/trace/index.ts";
import type { InnerState } from "../diloco/types.ts";
import { fetchGlobalState, loadJobContext, trainRound, type JobContext } from "./job-context.ts";
import type { MarketReader } from "./market-reader.ts";
import { witnessLeaf } from "./round-trace.ts";
import { basisRound, overlapOf, roundBasis, startPoint } from "./overlap-start.ts";
import type { OverlapCarry } from "../diloco/trace/snapshot.ts";
import type { BackendChoice } from "./trainer-backend.ts";
import type { Logger } from "./job-runner.ts";

/**
 * The single disputed transition of a step dispute, as the panel sees it: `lo` is the last leaf index
 * both sides agreed on (-1: none, then `hi` = 0 and the question is whether leaf 0 is the round's
 * correct start state), `hi` = lo + 1 the disputed leaf; `loLeaf` / `hiLeaf` their values (`loLeaf`
 * is zero when lo = -1); `traceRoot` the root the worker committed with its update.
 */
export interface StepDispute {
  id: bigint;
  jobId: bigint;
  round: number;
  worker: Address;
  lo: number;
  hi: number;
  loLeaf: Hex;
  hiLeaf: Hex;
  traceRoot?: Hex;
}

/** No usable witness yet, and the parties still have time to publish one: judge again later. */
export class WitnessPending extends Error {
  constructor(id: bigint, lo: number) {
    super(`dispute ${id}: waiting for a witness of leaf ${lo} (the worker or the challenger publishes it)`);
    this.name = "WitnessPending";
  }
}

export interface JudgeDeps {
  reader: MarketReader;
  blobs: BlobStore;
  game: Address;
  log: Logger;
  backend?: BackendChoice;
  dataDir?: string;
}

/** True when leaf `hi` is what the transition from leaf `lo` yields. */
export async function judgeStep(deps: JudgeDeps, d: StepDispute): Promise<boolean> {
  const { reader } = deps;
  const params = await reader.jobParams(d.jobId);
  const job = await reader.jobState(d.jobId);
  const ctx = await loadJobContext({ jobId: d.jobId, params, workerCount: await reader.startWorkerCount(d.jobId), blobs: deps.blobs, backend: deps.backend, dataDir: deps.dataDir });
  try {
    const H = ctx.spec.training.innerSteps;
    const index = (await reader.slot(d.jobId, d.worker)).index;
    // the model the round's start derives from: the round's own start model (under overlap, the
    // previous round's when the worker committed that round): the trace context binds it
    const startModelHash = (await roundBasis(ctx, reader, d.jobId, d.round, d.worker)).hash;
    const say = (verdict: boolean, why: string) => {
      deps.log("referee: step judged", { id: d.id, jobId: d.jobId, round: d.round, worker: d.worker, lo: d.lo, hi: d.hi, correct: verdict, why });
      return verdict;
    };
    if (d.hi < 0 || d.hi > H + 1 || d.lo !== d.hi - 1) return say(false, `the disputed leaf ${d.hi} is not a transition of an H = ${H} trace`);
    if (d.hi === 0) {
      const start = await replayRoundStart(ctx, reader, deps.blobs, d.jobId, d.round, d.worker, index);
      const leaf = startLeaf(ctx, { round: d.round, workerIndex: index, ...start });
      return say(leaf === d.hiLeaf.toLowerCase(), "leaf 0 against the replayed start state");
    }
    const w = await findWitness(deps, d, { startModelHash, workerIndex: index });
    if (!w) {
      // the parties rebuild the witnessed state by retraining up to H steps: give them the first
      // half of the panel's window before concluding that the worker cannot substantiate its step
      const [dispute, window] = await Promise.all([
        reader.client.readContract({ address: deps.game, abi: disputeGameAbi, functionName: "disputeOf", args: [d.id] }),
        reader.client.readContract({ address: deps.game, abi: disputeGameAbi, functionName: "refereeWindow" }),
      ]);
      if ((await reader.now()) < BigInt(dispute.deadline) - BigInt(window) / 2n) throw new WitnessPending(d.id, d.lo);
      return say(false, `no published witness hashes to the agreed leaf ${d.lo}`);
    }
    if (d.hi <= H) {
      const out = await ctx.trainer.train({
        params: w.params,
        innerState: { m: w.m, v: w.v, t: w.t },
        steps: 1,
        firstStep: d.lo,
        batchSize: ctx.spec.training.batchSize,
        shard: await ctx.shardFor(d.round, index),
        seed: BigInt(ctx.spec.training.seed),
        round: d.round,
        workerIndex: index,
        stepOffset: d.round * H,
        traceDigests: true,
      });
      const c = contextHash({ startModelHash, round: d.round, workerIndex: index, residualDigest: digestF32(w.residual) });
      const leaf = stateLeaf(c, d.hi, w.t + 1, out.stateDigests![0]);
      return say(leaf === d.hiLeaf.toLowerCase(), `inner step ${d.hi} recomputed from the witness`);
    }
    return say(await compressionMatches(ctx, reader, deps.blobs, d, w, index, startModelHash), "the update recompressed from the witness of the last step");
  } finally {
    await ctx.trainer.dispose();
  }
}

/**
 * The last transition (leaf H → H + 1): whether the committed update `d.hiLeaf` is the compression of
 * the witnessed trained state `w` (with its residual) against the round's start point. The start point
 * is the start model's parameters, or under overlap the rule's start point, which only a replay of the
 * worker's previous committed round yields (the update's own snapshot is the worker's claim, not evidence).
 */
export async function compressionMatches(ctx: JobContext, reader: MarketReader, blobs: BlobStore, d: StepDispute, w: TraceWitness, index: number, startModelHash: Hex): Promise<boolean> {
  const start = overlapOf(ctx) ? (await replayRoundStart(ctx, reader, blobs, d.jobId, d.round, d.worker, index)).params : (await fetchGlobalState(ctx, blobs, startModelHash)).params;
  const t = ctx.spec.training;
  // the update names the worker's state snapshot (format flag 4): recompress with the same reference
  let stateRef: Hex | undefined;
  try {
    stateRef = decodeUpdate(await blobs.get(d.hiLeaf), { expectedLayout: ctx.trainer.layout }).stateRef;
  } catch {
    stateRef = undefined; // no decodable update behind the commitment: no recompression can equal it
  }
  const { hash } = compressWorkerUpdate({ start, trained: w.params, residual: w.residual, layout: ctx.trainer.layout, compression: t.compression, seed: BigInt(t.seed), round: d.round, workerIndex: index, ...(stateRef ? { stateRef } : {}) });
  return hash === d.hiLeaf.toLowerCase();
}

/** The first published witness of the dispute that is the agreed state of this job, round and worker. */
async function findWitness(deps: JudgeDeps, d: StepDispute, want: { startModelHash: Hex; workerIndex: number }): Promise<TraceWitness | undefined> {
  const logs = await scanEvents(deps.reader.client, { address: deps.game, abi: disputeGameAbi, eventName: "WitnessPosted", args: { id: d.id }, fromBlock: deps.reader.fromBlock, toBlock: await deps.reader.client.getBlockNumber() });
  for (const l of logs) {
    try {
      const w = decodeWitness(await deps.blobs.get(l.args.witness!));
      const fits = w.round === d.round && w.workerIndex === want.workerIndex && w.step === d.lo && w.startModelHash === want.startModelHash.toLowerCase() && witnessLeaf(w) === d.loLeaf.toLowerCase();
      if (fits) return w;
      deps.log("referee: witness does not match the agreed leaf", { id: d.id, witness: l.args.witness, by: l.args.by });
    } catch (err) {
      deps.log("referee: unusable witness", { id: d.id, witness: l.args.witness, by: l.args.by, error: (err as Error).message.split("\n")[0] });
    }
  }
  return undefined;
}

function startLeaf(ctx: JobContext, s: { startModelHash: Hex; round: number; workerIndex: number; params: Float32Array; residual: Float32Array | null; innerState: InnerState | null }): Hex {
  const c = contextHash({ startModelHash: s.startModelHash, round: s.round, workerIndex: s.workerIndex, residualDigest: digestF32(s.residual) });
  const inner = ctx.spec.training.keepInnerState ? s.innerState : null;
  const zero = inner ? null : zeroDigest(ctx.trainer.layout.size);
  return stateLeaf(c, 0, inner?.t ?? 0, { params: digestF32(s.params), m: zero ?? digestF32(inner!.m), v: zero ?? digestF32(inner!.v) });
}

/**
 * The state worker `worker` must start round `round` from: the start model it derives from (the
 * round's own, or under overlap after a committed round the previous round's), the start parameters,
 * and the residual and AdamW state its previous committed round hands over. When that round's update
 * names its state snapshot (format flag 4), the referee replays only that round from it (the snapshot
 * is vouched for by that round's own commitment and audits, docs/training.md); otherwise it replays the
 * worker's committed rounds from round 0.
 */
export async function replayRoundStart(ctx: JobContext, reader: MarketReader, blobs: BlobStore, jobId: bigint, round: number, workerIn: Address, index: number): Promise<{ startModelHash: Hex; params: Float32Array; residual: Float32Array | null; innerState: InnerState | null }> {
  const worker = getAddress(workerIn);
  const starts = await reader.roundStartHashes(jobId);
  const committed: number[] = [];
  for (let r = 0; r < round; r++) if ((await reader.commitments(jobId, r)).some((c) => c.worker === worker)) committed.push(r);
  let residual: Float32Array | null = null;
  let innerState: InnerState | null = null;
  let carry: OverlapCarry | null = null;
  let from = 0;
  const last = committed[committed.length - 1];
  if (last !== undefined) {
    const c = (await reader.commitments(jobId, last)).find((x) => x.worker === worker)!;
    try {
      const ref = decodeUpdate(await blobs.get(c.updateHash), { expectedLayout: ctx.trainer.layout }).stateRef;
      if (ref) {
        const snap = decodeSnapshot(await blobs.get(ref));
        const follows = committed.includes(last - 1);
        const carryFits = !overlapOf(ctx) || (snap.overlap !== undefined && (snap.overlap.carry !== null) === follows);
        if (snap.round === last && snap.workerIndex === index && snap.size === ctx.trainer.layout.size && carryFits) {
          ({ residual, innerState } = snap);
          carry = snap.overlap?.carry ?? null;
          from = committed.length - 1;
        }
      }
    } catch {
      from = 0; // no usable snapshot: replay from round 0
    }
  }
  const basisOf = (r: number) => starts.get(basisRound(ctx, r, committed.includes(r - 1)))!;
  for (const r of committed.slice(from)) {
    const hash = basisOf(r);
    const global = await fetchGlobalState(ctx, blobs, hash);
    const out = await trainRound(ctx, { global, startModelHash: hash, residual, innerState, carry: committed.includes(r - 1) ? carry : null, round: r, workerIndex: index });
    residual = out.nextState.residual;
    innerState = out.train.innerState ?? null;
    carry = out.carryOut;
  }
  const startModelHash = basisOf(round);
  const global = await fetchGlobalState(ctx, blobs, startModelHash);
  const params = startPoint(ctx, global, last === round - 1 ? carry : null);
  return { startModelHash, params, residual: ctx.spec.training.compression.errorFeedback ? residual : null, innerState };
}
