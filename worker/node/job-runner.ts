/**
 * Runs one job's round protocol for one provider (DESIGN.md §3), as a loop over chain state:
 *
 *   train (from the global model fetched by hash) → compress → upload → sign → commitUpdate
 *   → wait for the vote phase → fetch and verify every commitment → aggregate → outer step
 *   → upload the new global state → sign → submitResult → wait for the round to close
 *   (calling expireRound when it is stuck past its deadline) → next round → withdraw at the end.
 *
 * Crash safety: every step is persisted before the next (jobs/<id>/state.json plus binary files).
 * The prepared update of a round is saved before it is uploaded and committed; the error-feedback
 * residual it produced is adopted only once the chain shows the commitment, so a worker killed
 * anywhere restarts, reads the chain, and continues with exactly the state an auditor would replay.
 *
 * One-step-delay overlap (`training.overlap`, worker/node/overlap-start.ts): right after its commitment
 * of round r is on chain, the worker trains round r + 1 in the background (from round r's start model
 * and its state after round r) while it still aggregates and votes round r; when round r + 1 opens it
 * commits that already-trained update. The carried state (carry-<r>-start.bin / carry-<r>-local.bin)
 * counts only once round r's commitment is adopted, like the residual.
 */
import { blobId } from "../diloco/hash.ts";
import { loadTrace, saveTrace, traceRoot as roundTraceRootOf } from "./round-trace.ts";
import path from "node:path";
import type { Address, Hex, TypedDataDomain } from "viem";
import type { BlobStore } from "../../blobstore/types.ts";
import { trainingMarketAbi } from "../../shared/abis.ts";
import { encodeLoss } from "../../shared/eip712.ts";
import type { Attestor } from "../attest/attestor.ts";
import { ContractRevertError, type TxSender } from "../chain/tx-sender.ts";
import { encodeState, decodeState } from "../diloco/format/state.ts";
import type { GlobalState } from "../diloco/outer/index.ts";
import { readBytes, readJson, writeBytes, writeJson } from "../state/json-state.ts";
import { aggregateRound, type RoundAggregate } from "./aggregate-round.ts";
import { fetchGlobalState, loadJobContext, trainRound, type JobContext } from "./job-context.ts";
import { isJoining, type Commitment, type MarketReader } from "./market-reader.ts";
import { rpcCounter } from "./clients.ts";
import { decodeInnerState, encodeInnerState } from "../state/inner-state.ts";
import type { InnerState } from "../diloco/types.ts";
import type { BackendChoice } from "./trainer-backend.ts";
import { GameClient } from "./game-client.ts";
import { checkClosedRound } from "./round-check.ts";
import { overlapOf } from "./overlap-start.ts";
import type { OverlapCarry } from "../diloco/trace/snapshot.ts";

export type Logger = (msg: string, fields?: Record<string, unknown>) => void;

/** Test seams for adversarial behaviour (garbage uploads, copycats, wrong votes, silence). */
export interface RunnerHooks {
  /** Returns the bytes to upload/commit instead of the honest update, or "skip" to stay silent. */
  update?(info: { round: number; honest: Uint8Array; commitments: () => Promise<Commitment[]> }): Promise<Uint8Array | "skip">;
  /** Returns the vote to submit instead of the honest one, or "skip". */
  vote?(info: { round: number; honest: RoundAggregate }): Promise<{ modelHash: Hex; includedMask: number } | "skip">;
  /** false: no automatic round checks (challenges of wrong finalized rounds, settlement requests). */
  checkRounds?: boolean;
}

export interface JobRunnerDeps {
  reader: MarketReader;
  sender: TxSender;
  attestor: Attestor;
  blobs: BlobStore;
  me: Address;
  domain: TypedDataDomain;
  dataDir: string;
  log: Logger;
  pollMs?: number;
  hooks?: RunnerHooks;
  /** Called after every round this worker completed (for progress displays). */
  onRound?: (info: { jobId: bigint; round: number; trainLoss: number; modelHash?: Hex }) => void;
  /** Stop signal: the loop exits at the next safe point. */
  signal?: AbortSignal;
  /** Trainer backend of this worker (default jax-js). */
  backend?: BackendChoice;
}

interface PersistedJob {
  jobId: bigint;
  /** The residual file reflects every round < this one that this worker committed. */
  residualThrough: number;
  pending?: { round: number; updateHash: Hex; trainLoss: number; adopted: boolean };
  lastVotedRound?: number;
  lastVote?: { round: number; modelHash: Hex; includedMask: number };
  /** The deterministic aggregate this worker computed for its last vote (round checks compare it). */
  lastAggregate?: { round: number; modelHash: Hex; includedMask: number };
  /** Start model hashes of the last rounds this worker saw (overlap: round r trains from round r − 1's). */
  models?: Record<string, Hex>;
}

/** The model a round's start derives from, and (overlap) the state carried from the round before. */
interface RoundBasis {
  hash: Hex;
  global: GlobalState;
  carry: OverlapCarry | null;
}

/**
 * Splits a round's wall-clock into phases (train, compress, upload, chainTx, waitCommits, aggregate,
 * waitClose, …) for the "round timing" log line that bench/e2e reads. `lap(name)` charges the time
 * since the previous lap to `name`; `add(name, s)` charges measured seconds and removes them from
 * the next lap, so the phases always sum to the wall-clock.
 */
export class PhaseTimer {
  private t0 = 0;
  private last = 0;
  private carried = 0;
  readonly phases: Record<string, number> = {};
  started = false;
  private rpc0 = 0;
  begin(): void {
    this.rpc0 = rpcCounter.calls;
    this.t0 = this.last = performance.now();
    this.started = true;
  }
  add(name: string, seconds: number): void {
    this.phases[name] = (this.phases[name] ?? 0) + seconds;
    this.carried += seconds;
  }
  lap(name: string): void {
    if (!this.started) return;
    const now = performance.now();
    const s = Math.max(0, (now - this.last) / 1000 - this.carried);
    this.phases[name] = (this.phases[name] ?? 0) + s;
    this.carried = 0;
    this.last = now;
  }
  summary(): Record<string, number> {
    const total = (performance.now() - this.t0) / 1000;
    return { totalSeconds: Number(total.toFixed(3)), rpcCalls: rpcCounter.calls - this.rpc0, ...Object.fromEntries(Object.entries(this.phases).map(([k, v]) => [`${k}Seconds`, Number(v.toFixed(3))])) };
  }
}

/**
 * Gas limit for a vote that may finalize the round: the finalizing vote pays every rewarded worker
 * and penalises the others (≈ 121k + 27k per rewarded + 37k per penalised worker, BENCHMARKS.md),
 * so the limit assumes the worst case for the job's worker count, with 20 % headroom.
 */
export function finalizingVoteGas(workers: number): bigint {
  return ((130_000n + 40_000n * BigInt(workers)) * 12n) / 10n;
}

export type JobOutcome = "Completed" | "Cancelled" | "Failed" | "Removed" | "Stopped";
const STATUS = ["None", "Open", "Running", "Completed", "Cancelled", "Failed"] as const;

export class JobRunner {
  private readonly d: JobRunnerDeps;
  private readonly jobId: bigint;
  private readonly dir: string;
  private ctx: JobContext | undefined;
  private state!: PersistedJob;

  constructor(deps: JobRunnerDeps, jobId: bigint) {
    this.d = deps;
    this.jobId = jobId;
    this.dir = path.join(deps.dataDir, "jobs", jobId.toString());
  }

  /** Seconds between blocks (recent average), read once per job. */
  private blockTime = 1;

  /** Poll no faster than a quarter block: polling faster reads the same block again. */
  private get poll(): number {
    return Math.max(this.d.pollMs ?? 500, Math.min(5_000, (this.blockTime * 1000) / 4));
  }

  /** Seconds before a deadline below which a transaction may land too late (two blocks). */
  private get margin(): bigint {
    return BigInt(Math.ceil(2 * this.blockTime));
  }

  /** Writes of state.json, one at a time (an overlapped round trains, and saves, in the background). */
  private saving: Promise<void> = Promise.resolve();

  private save(): Promise<void> {
    const next = this.saving.then(() => writeJson(path.join(this.dir, "state.json"), this.state));
    this.saving = next.catch(() => undefined);
    return next;
  }

  /** Overlap: the next round's update, being trained in the background since this round's commit. */
  private ahead: { round: number; done: Promise<void> } | undefined;
  /** Mean train loss of each round this worker prepared (for progress displays). */
  private readonly losses = new Map<number, number>();

  private async sleep(): Promise<void> {
    await new Promise((r) => setTimeout(r, this.poll));
  }

  /** Runs until the job ends (or this worker is removed); returns how it ended. */
  async run(): Promise<JobOutcome> {
    try {
      return await this.loop();
    } finally {
      // a round trained ahead (overlap) finishes first: its files are written atomically either way
      await this.ahead?.done;
      // a PyTorch trainer is a child process: stop it with the job
      await this.ctx?.trainer.dispose();
      this.ctx = undefined;
    }
  }

  private async loop(): Promise<JobOutcome> {
    const { reader, log } = this.d;
    this.state = (await readJson<PersistedJob>(path.join(this.dir, "state.json"))) ?? { jobId: this.jobId, residualThrough: 0 };
    this.blockTime = await reader.clock.blockTime();
    for (;;) {
      if (this.d.signal?.aborted) return "Stopped";
      const job = await reader.jobState(this.jobId);
      const status = STATUS[job.status];
      if (status === "Open") {
        await this.sleep();
        continue;
      }
      if (status !== "Running") {
        log("job ended", { jobId: this.jobId, status });
        await this.adoptIfCommitted(job.currentRound);
        return status as JobOutcome;
      }
      const slot = await reader.slot(this.jobId, this.d.me);
      if (!slot.active) {
        if (isJoining(slot)) {
          // joined the running job (elastic membership): active once the next round starts
          if (this.waitingSince !== job.currentRound) log("joined a running job: waiting for the next round", { jobId: this.jobId, round: job.currentRound });
          this.waitingSince = job.currentRound;
          await this.sleep();
          continue;
        }
        log("removed from job", { jobId: this.jobId });
        return "Removed";
      }
      this.ctx ??= await loadJobContext({ jobId: this.jobId, params: await reader.jobParams(this.jobId), workerCount: await reader.startWorkerCount(this.jobId), blobs: this.d.blobs, backend: this.d.backend, dataDir: this.d.dataDir });
      await this.playRound(job.currentRound, slot.index, job.modelHash);
    }
  }

  /** Adopts the residual of a pending update once its commitment is on chain; drops it otherwise. */
  private async adoptIfCommitted(currentRound: number): Promise<void> {
    const p = this.state.pending;
    if (!p || p.adopted) return;
    const rd = await this.d.reader.round(this.jobId, p.round);
    const slot = await this.d.reader.slot(this.jobId, this.d.me);
    const committed = (rd.committedMask >>> slot.index) & 1;
    if (committed) {
      const next = await readBytes(path.join(this.dir, `residual-${p.round}.bin`));
      if (next) await writeBytes(path.join(this.dir, "residual.bin"), next);
      const inner = await readBytes(path.join(this.dir, `inner-${p.round}.bin`));
      if (inner) await writeBytes(path.join(this.dir, "inner.bin"), inner);
      this.state.pending = { ...p, adopted: true };
      this.state.residualThrough = p.round + 1;
      await this.save();
    } else if (p.round < currentRound) {
      this.d.log("discarding an update that never reached the chain", { jobId: this.jobId, round: p.round });
      this.state.pending = undefined;
      await this.save();
    }
  }

  private async loadResidual(ctx: JobContext): Promise<Float32Array | null> {
    if (!ctx.spec.training.compression.errorFeedback) return null;
    const bytes = await readBytes(path.join(this.dir, "residual.bin"));
    if (!bytes) return null;
    return decodeState(bytes, { expectedLayout: ctx.trainer.layout, expectedKind: "residual" }).values;
  }

  private async loadInnerState(ctx: JobContext): Promise<InnerState | null> {
    if (!ctx.spec.training.keepInnerState) return null;
    const bytes = await readBytes(path.join(this.dir, "inner.bin"));
    return bytes ? decodeInnerState(bytes, ctx.trainer.layout.size) : null;
  }

  private async loadCarry(ctx: JobContext, round: number): Promise<OverlapCarry | null> {
    const s = await readBytes(path.join(this.dir, `carry-${round}-start.bin`));
    const l = await readBytes(path.join(this.dir, `carry-${round}-local.bin`));
    if (!s || !l) return null;
    const dec = (b: Uint8Array) => decodeState(b, { expectedLayout: ctx.trainer.layout, expectedKind: "params" }).values;
    return { lastStart: dec(s), lastLocal: dec(l) };
  }

  /** Remembers the start model of a round (the basis of the next round's start under overlap). */
  private async noteModel(round: number, modelHash: Hex): Promise<void> {
    const models = this.state.models ?? {};
    if (models[round] === modelHash) return;
    models[round] = modelHash;
    for (const k of Object.keys(models)) if (Number(k) < round - 2) delete models[k];
    this.state.models = models;
    await this.save();
  }

  /**
   * Where round `round` starts: its own start model, or under overlap, when this worker's commitment of
   * round − 1 is on chain (and adopted), round − 1's start model with the state that round left.
   */
  private async basisFor(ctx: JobContext, round: number, modelHash: Hex, global: GlobalState): Promise<RoundBasis> {
    if (!overlapOf(ctx) || round === 0 || this.state.residualThrough !== round) return { hash: modelHash, global, carry: null };
    const carry = await this.loadCarry(ctx, round - 1);
    if (!carry) throw new Error(`the state carried from round ${round - 1} is missing (${path.join(this.dir, `carry-${round - 1}-*.bin`)}): the worker cannot start round ${round} as the job's overlap schedule requires`);
    const hash = this.state.models?.[round - 1] ?? (await this.d.reader.roundStartHashes(this.jobId)).get(round - 1);
    if (!hash) throw new Error(`no RoundStarted event for round ${round - 1} of job ${this.jobId}`);
    return { hash, global: await fetchGlobalState(ctx, this.d.blobs, hash), carry };
  }

  /**
   * Overlap: once this worker's commitment of `round` is adopted, trains round + 1 in the background
   * (from `round`'s start model and the state it left) while the vote of `round` goes on. A failure is
   * logged; the round is then trained when it opens.
   */
  private trainAhead(ctx: JobContext, round: number, index: number, modelHash: Hex): void {
    const next = round + 1;
    if (!overlapOf(ctx) || next >= ctx.params.rounds || this.state.residualThrough !== next || this.d.signal?.aborted) return;
    if (this.ahead?.round === next || this.state.pending?.round === next) return;
    this.d.log("training ahead", { jobId: this.jobId, round: next, while: round });
    const done = (async () => {
      const carry = await this.loadCarry(ctx, round);
      if (!carry) throw new Error(`the state carried from round ${round} is missing`);
      await this.prepareUpdate(ctx, next, index, async () => ({ hash: modelHash, global: await fetchGlobalState(ctx, this.d.blobs, modelHash), carry }));
    })().catch((err: unknown) => this.d.log("training ahead failed; the round is trained when it opens", { jobId: this.jobId, round: next, error: (err as Error).message.split("\n")[0] }));
    this.ahead = { round: next, done };
  }

  private async playRound(round: number, index: number, modelHash: Hex): Promise<void> {
    const ctx = this.ctx!;
    const { reader, log } = this.d;
    const bit = 1 << index;
    const t = new PhaseTimer();
    await this.noteModel(round, modelHash);
    await this.adoptIfCommitted(round);
    let rd = await reader.round(this.jobId, round);
    let now = await reader.now();
    let global: GlobalState | undefined;

    // ---- commit
    if (!(rd.committedMask & bit) && rd.voteDeadline === 0n && now <= rd.commitDeadline) {
      t.begin();
      global = await fetchGlobalState(ctx, this.d.blobs, modelHash);
      t.lap("fetchModel");
      if (this.ahead?.round === round) {
        await this.ahead.done;
        t.lap("trainAhead");
      }
      const g = global;
      const bytes = await this.prepareUpdate(ctx, round, index, () => this.basisFor(ctx, round, modelHash, g), t);
      if (bytes !== "skip") {
        now = await reader.now();
        if (now + BigInt(Math.ceil(this.blockTime)) > rd.commitDeadline) {
          // the next block is already past the deadline: the transaction could only revert
          log("too late to commit: the next block lands after the commit deadline", { jobId: this.jobId, round, chainTime: now, commitDeadline: rd.commitDeadline, blockTime: this.blockTime });
        } else {
          if (now + this.margin > rd.commitDeadline) log("committing close to the deadline", { jobId: this.jobId, round, secondsLeft: rd.commitDeadline - now, blockTime: this.blockTime });
          await this.commit(round, bytes, t);
        }
      }
      rd = await reader.round(this.jobId, round);
    }
    // ---- overlap: the next round trains from here on, in the background
    this.trainAhead(ctx, round, index, modelHash);

    // ---- wait for the vote phase
    while (rd.voteDeadline === 0n && (now = await reader.now()) <= rd.commitDeadline) {
      if (this.d.signal?.aborted) return;
      await this.sleep();
      if ((await reader.jobState(this.jobId)).currentRound !== round) return;
      rd = await reader.round(this.jobId, round);
    }
    t.lap("waitCommits");

    // ---- vote
    const voteDeadline = rd.voteDeadline !== 0n ? rd.voteDeadline : rd.commitDeadline + BigInt(ctx.params.voteWindow);
    if (rd.committedMask & bit && !(rd.votedMask & bit) && (await reader.now()) <= voteDeadline) {
      global ??= await fetchGlobalState(ctx, this.d.blobs, modelHash);
      const workers = await reader.workers(this.jobId);
      const agg = await aggregateRound({ ctx, blobs: this.d.blobs, global, commitments: await reader.commitments(this.jobId, round), workers });
      for (const e of agg.excluded) log("excluded an update", { jobId: this.jobId, round, worker: e.worker, reason: e.reason });
      this.state.lastAggregate = { round, modelHash: agg.modelHash, includedMask: agg.includedMask };
      t.lap("aggregate");
      await this.d.blobs.put(agg.bytes);
      t.lap("upload");
      let vote: { modelHash: Hex; includedMask: number } | "skip" = { modelHash: agg.modelHash, includedMask: agg.includedMask };
      if (this.d.hooks?.vote) vote = await this.d.hooks.vote({ round, honest: agg });
      if (vote !== "skip" && (await this.voteStillUseful(round, index, ctx.params.quorumBps, voteDeadline))) await this.submitVote(round, vote.modelHash, vote.includedMask);
      t.lap("chainTx");
      this.state.lastVotedRound = round;
      if (vote !== "skip") this.state.lastVote = { round, modelHash: vote.modelHash, includedMask: vote.includedMask };
      await this.save();
      this.d.onRound?.({ jobId: this.jobId, round, trainLoss: this.losses.get(round) ?? Number.NaN, modelHash: agg.modelHash });
    }

    // ---- wait for the round to close; push it forward when stuck past its deadline
    for (;;) {
      if (this.d.signal?.aborted) return;
      const job = await reader.jobState(this.jobId);
      if (job.status !== 2 || job.currentRound !== round) {
        t.lap("waitClose");
        if (t.started) log("round timing", { jobId: this.jobId, round, ...t.summary() });
        if (this.d.hooks?.checkRounds !== false) await this.checkRound(round, index, modelHash);
        return;
      }
      rd = await reader.round(this.jobId, round);
      const deadline = rd.voteDeadline !== 0n ? rd.voteDeadline : rd.commitDeadline + BigInt(ctx.params.voteWindow);
      now = await reader.now();
      const noCommits = rd.committedMask === 0 && now > rd.commitDeadline;
      if (now > deadline || noCommits) {
        // a round with a quorum is finalized by the vote that reaches it; anything else expires
        // (its voters' escrow is then reserved until referees settle the round)
        try {
          await this.d.sender.send({ address: reader.addresses.market, abi: trainingMarketAbi, functionName: "expireRound", args: [this.jobId] });
          log("expired a stuck round", { jobId: this.jobId, round });
        } catch (err) {
          if (!(err instanceof ContractRevertError)) throw err;
        }
      }
      await this.sleep();
    }
  }

  /**
   * Once a round closed: challenges a wrong finalization, or asks for the settlement of an expired
   * round with a reserve (worker/node/round-check.ts; never throws).
   */
  private async checkRound(round: number, index: number, startModelHash: Hex): Promise<void> {
    const ctx = this.ctx!;
    const { reader, blobs } = this.d;
    if (this.game === undefined) {
      // null: the deployment has no game; a read that failed is retried at the next round
      this.game = await GameClient.open({ client: reader.client, sender: this.d.sender, addresses: reader.addresses, me: this.d.me, fromBlock: reader.fromBlock }).then((g) => g ?? null, () => undefined);
    }
    await checkClosedRound({
      reader,
      game: this.game ?? undefined,
      jobId: this.jobId,
      round,
      me: this.d.me,
      index,
      computed: this.state.lastAggregate,
      recompute: async () => aggregateRound({ ctx, blobs, global: await fetchGlobalState(ctx, blobs, startModelHash), commitments: await reader.commitments(this.jobId, round), workers: await reader.workers(this.jobId) }),
      modelUsable: (hash) => fetchGlobalState(ctx, blobs, hash).then(() => true, () => false),
      log: this.d.log,
      blockTime: this.blockTime,
      signal: this.d.signal,
    });
  }
  private game: GameClient | null | undefined;
  /** The round during which this worker, having joined a running job, waits to become active. */
  private waitingSince: number | undefined;

  /**
   * Trains and compresses this worker's update for `round` from `basis` (or reuses the one prepared
   * before a crash, or trained ahead). Without `timer` (training ahead) nothing is charged to a round's timing.
   */
  private async prepareUpdate(ctx: JobContext, round: number, index: number, basisOf: () => Promise<RoundBasis>, timer = new PhaseTimer()): Promise<Uint8Array | "skip"> {
    const p = this.state.pending;
    if (p && p.round === round) {
      const saved = await readBytes(path.join(this.dir, `update-${round}.bin`));
      if (saved) {
        this.losses.set(round, p.trainLoss);
        return saved;
      }
    }
    const basis = await basisOf();
    const startModelHash = basis.hash;
    const t = ctx.spec.training;
    const residual = await this.loadResidual(ctx);
    const innerState = await this.loadInnerState(ctx);
    // step progress for operators (at most ~8 lines a round, plus one every 10 s on slow machines)
    const every = Math.max(1, Math.ceil(t.innerSteps / 8));
    let lastLog = Date.now();
    const onStep = (done: number, loss: number) => {
      if (done % every === 0 || done === t.innerSteps || Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        this.d.log("training", { jobId: this.jobId, round, step: done, steps: t.innerSteps, loss: Number(loss.toFixed(4)) });
      }
    };
    const out = await trainRound(ctx, { global: basis.global, startModelHash, residual, innerState, carry: basis.carry, round, workerIndex: index, onStep });
    // the replayable state this round started from, named by the update: an audit of this round
    // starts here instead of at round 0 (worker/diloco/trace/snapshot.ts)
    await this.d.blobs.put(out.snapshot);
    timer.add("train", out.train.seconds);
    timer.add("compress", out.compressSeconds);
    timer.lap("other");
    const trainLoss = out.train.losses.reduce((a, b) => a + b, 0) / out.train.losses.length;
    this.d.log("trained", { jobId: this.jobId, round, steps: t.innerSteps, trainLoss: Number(trainLoss.toFixed(4)), seconds: Number(out.train.seconds.toFixed(2)), updateBytes: out.bytes.length, ...(basis.carry ? { from: "previous round" } : {}) });
    let bytes: Uint8Array = out.bytes;
    if (this.d.hooks?.update) {
      const alt = await this.d.hooks.update({ round, honest: out.bytes, commitments: () => this.d.reader.commitments(this.jobId, round) });
      if (alt === "skip") return "skip";
      bytes = alt;
    }
    // the round trace (its last leaf is what is committed) and the start state it was trained from,
    // kept to answer a dispute (worker/node/round-trace.ts); written before the update it commits to
    const leaves = [...out.traceLeaves.slice(0, -1), blobId(bytes)];
    const overlap = overlapOf(ctx) !== undefined;
    await saveTrace(this.dir, ctx, { round, workerIndex: index, startModelHash, leaves }, { residual, innerState, ...(overlap ? { params: out.start } : {}) });
    if (out.carryOut) {
      // what round + 1 starts from under overlap (counts once this round's commitment is adopted)
      const enc = (values: Float32Array) => encodeState({ kind: "params", step: round + 1, layout: ctx.trainer.layout, values });
      await writeBytes(path.join(this.dir, `carry-${round}-start.bin`), enc(out.carryOut.lastStart));
      await writeBytes(path.join(this.dir, `carry-${round}-local.bin`), enc(out.carryOut.lastLocal));
    }
    if (out.nextState.residual) {
      await writeBytes(path.join(this.dir, `residual-${round}.bin`), encodeState({ kind: "residual", step: round + 1, layout: ctx.trainer.layout, values: out.nextState.residual }));
    }
    if (t.keepInnerState && out.train.innerState) await writeBytes(path.join(this.dir, `inner-${round}.bin`), encodeInnerState(out.train.innerState));
    await writeBytes(path.join(this.dir, `update-${round}.bin`), bytes);
    this.state.pending = { round, updateHash: blobId(bytes), trainLoss, adopted: false };
    this.losses.set(round, trainLoss);
    await this.save();
    return bytes;
  }

  private async commit(round: number, bytes: Uint8Array, t: PhaseTimer): Promise<void> {
    const p = this.state.pending!;
    if (p.round !== round) throw new Error(`the prepared update is for round ${p.round}, not round ${round}`);
    t.lap("other");
    await this.d.blobs.put(bytes);
    t.lap("upload");
    const trainLoss = encodeLoss(p.trainLoss);
    const trace = await loadTrace(this.dir, round);
    if (!trace || trace.leaves[trace.leaves.length - 1] !== p.updateHash) throw new Error(`the trace of round ${round} is missing or does not end in the prepared update (${path.join(this.dir, `trace-${round}.json`)})`);
    const traceRoot = roundTraceRootOf(trace.leaves);
    const sig = await this.d.attestor.signRoundUpdate(this.d.domain, { jobId: this.jobId, round, updateHash: p.updateHash, traceRoot, trainLoss, worker: this.d.me });
    try {
      await this.d.sender.send({ address: this.d.reader.addresses.market, abi: trainingMarketAbi, functionName: "commitUpdate", args: [this.jobId, round, p.updateHash, traceRoot, trainLoss, sig] });
      this.d.log("committed", { jobId: this.jobId, round, updateHash: p.updateHash });
      t.lap("chainTx");
    } catch (err) {
      if (!(err instanceof ContractRevertError) || !["AlreadyCommitted", "CommitPhaseClosed", "WrongRound", "JobNotRunning", "DuplicateUpdate"].includes(err.errorName)) throw err;
      this.d.log("commit not accepted", { jobId: this.jobId, round, reason: err.errorName });
    }
    await this.adoptIfCommitted(round);
  }

  /**
   * Votes beyond the quorum revert (the round finalized on the quorum's last vote, possibly in the
   * same block) and waste gas; included committers are paid whether or not they voted. So the
   * committed workers with the lowest indices, as many as the quorum needs, vote at once; the others
   * wait about two blocks and vote only if the round is still open (a quorum voter was absent or
   * dissented), while a safety margin before the vote deadline remains.
   */
  private async voteStillUseful(round: number, index: number, quorumBps: number, voteDeadline: bigint): Promise<boolean> {
    const { reader } = this.d;
    const job = await reader.jobState(this.jobId);
    if (job.status !== 2 || job.currentRound !== round) return false;
    const rd = await reader.round(this.jobId, round);
    const voters = rd.committedMask & job.activeMask;
    const indices = Array.from({ length: 32 }, (_, i) => i).filter((i) => (voters >>> i) & 1);
    const needed = Math.ceil((quorumBps * indices.length) / 10_000);
    const rank = indices.indexOf(index);
    if (rank < 0 || rank < needed) return true;
    const waitUntil = Date.now() + Math.round(this.blockTime * 2000) + 1000 * rank;
    while (Date.now() < waitUntil) {
      if (this.d.signal?.aborted) return false;
      const now = await reader.now();
      if (now + this.margin >= voteDeadline) break; // no more waiting: vote while it can land
      await this.sleep();
      const j = await reader.jobState(this.jobId);
      if (j.status !== 2 || j.currentRound !== round) {
        this.d.log("vote not needed", { jobId: this.jobId, round, reason: "quorum reached without this vote" });
        return false;
      }
    }
    return true;
  }

  private async submitVote(round: number, modelHash: Hex, includedMask: number): Promise<void> {
    try {
      await this.d.sender.send({ address: this.d.reader.addresses.market, abi: trainingMarketAbi, functionName: "submitResult", args: [this.jobId, round, modelHash, includedMask], minGas: finalizingVoteGas((await this.d.reader.jobState(this.jobId)).workerCount) });
      this.d.log("voted", { jobId: this.jobId, round, modelHash, includedMask });
    } catch (err) {
      // The round may have finalized on others' votes first: that is the normal fast path.
      if (!(err instanceof ContractRevertError) || !["AlreadyVoted", "WrongRound", "JobNotRunning", "VoteWindowClosed", "NotActiveWorker"].includes(err.errorName)) throw err;
      this.d.log("vote not needed", { jobId: this.jobId, round, reason: err.errorName });
    }
  }
}
