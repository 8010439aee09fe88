/**
 * The referee service (`worker referee`, issue 13): a registered provider that locked the game's
 * referee stake sits on the panels the DisputeGame draws for it and votes what it recomputed.
 *
 *  - Round disputes (a finalized round challenged, or an expired round to settle): the referee
 *    recomputes the round's deterministic outcome exactly as the workers do (aggregateRound over the
 *    round's commitments, from the global model the round started from) and votes it (`voteRound`).
 *  - Step disputes (bisection ended on one transition): `judgeStep` (worker/node/step-judge.ts)
 *    recomputes it from the witness either side published and votes whether leaf `hi` follows from
 *    leaf `lo` (`voteStep`).
 *  - Any panel it sits on whose members all voted, or whose deadline passed, it resolves (anyone may).
 *
 * Panels are found from PanelDrawn events naming this referee (scanned in block ranges from the
 * market's deployment block). What it voted is persisted (<data-dir>/referee/state.json) before the
 * next step, so a restart does not vote twice; a vote the chain already holds (AlreadyVoted) is
 * recorded as done.
 */
import path from "node:path";
import type { Address, Hex } from "viem";
import { ContractRevertError } from "../chain/tx-sender.ts";
import { readJson, writeJson } from "../state/json-state.ts";
import { aggregateRound } from "./aggregate-round.ts";
import { DisputeKind, DisputePhase, GameClient, type Dispute } from "./game-client.ts";
import { fetchGlobalState, loadJobContext, type JobContext } from "./job-context.ts";
import { REORG_DEPTH } from "./market-reader.ts";
import type { Provider } from "./provider.ts";
import { transientExclusion } from "./round-check.ts";
import { judgeStep, type StepDispute } from "./step-judge.ts";

/** true: leaf hi is what the step from leaf lo yields (the worker was right); false: it is not; "abstain": no vote. */
export type JudgeStep = (dispute: StepDispute) => Promise<boolean | "abstain">;

export interface RefereeOptions {
  judgeStep?: JudgeStep;
  signal?: AbortSignal;
  /** Stop after one pass over the panels (tests, cron jobs). */
  once?: boolean;
}

interface RefereeState {
  /** PanelDrawn events are scanned through this block. */
  scannedThrough?: bigint;
  /** Disputes whose panel named this referee and that were not seen closed: id → panel number. */
  open: Record<string, number>;
  /** Votes cast: "<id>:<panel>" → what (an outcome "modelHash/mask", "correct", "wrong", "abstain", "missed"). */
  votes: Record<string, string>;
  /** Disputes seen closed. */
  closed: string[];
}

export class RefereeService {
  private readonly p: Provider;
  private readonly game: GameClient;
  private readonly judgeStep: JudgeStep;
  private readonly file: string;
  private state: RefereeState = { open: {}, votes: {}, closed: [] };
  private readonly contexts = new Map<string, Promise<JobContext>>();
  private readonly said = new Map<string, string>();

  constructor(p: Provider, game: GameClient, opts: { judgeStep?: JudgeStep } = {}) {
    this.p = p;
    this.game = game;
    // step disputes: one inner step (or the compression, or leaf 0) recomputed from the published witness
    this.judgeStep = opts.judgeStep ?? ((d) => judgeStep({ reader: p.reader, blobs: p.blobs, game: game.address, log: p.log, backend: p.config.backend, dataDir: p.config.dataDir }, d));
    this.file = path.join(p.config.dataDir, "referee", "state.json");
  }

  static async open(p: Provider, opts: { judgeStep?: JudgeStep } = {}): Promise<RefereeService> {
    const game = await GameClient.open({ client: p.reader.client, sender: p.sender, addresses: p.config.addresses, me: p.address, fromBlock: p.reader.fromBlock });
    if (!game) throw new Error("this deployment has no DisputeGame (set GAME_ADDRESS, or redeploy with Ignition): there is nothing to referee");
    return new RefereeService(p, game, opts);
  }

  /** Locks the referee stake unless already a referee; the account must be a registered provider. */
  async register(): Promise<void> {
    const info = await this.p.reader.provider(this.p.address);
    if (info.registeredAt === 0n) throw new Error(`${this.p.address} is not a registered provider: run \`worker register --stake <tokens>\` with this key first`);
    const before = await this.game.referee();
    const stake = await this.game.registerReferee();
    this.p.log(before.registered ? "already a referee" : "registered as referee", { referee: this.p.address, stake, game: this.game.address });
  }

  private async load(): Promise<void> {
    this.state = { open: {}, votes: {}, closed: [], ...(await readJson<RefereeState>(this.file)) };
  }
  private save(): Promise<void> {
    return writeJson(this.file, this.state);
  }

  /** Registers, then serves panels until the signal aborts. */
  async run(opts: RefereeOptions = {}): Promise<void> {
    await this.register();
    await this.load();
    const blockTime = await this.p.reader.clock.blockTime();
    // panels give a referee minutes (local) to a day (public chains): a poll every block, at least 2 s, is plenty
    const pollMs = Math.max(this.p.config.pollMs, 2000, Math.min(15_000, blockTime * 1000));
    while (!opts.signal?.aborted) {
      await this.pass();
      if (opts.once) return;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** One pass: new panels from the events, then a vote or a resolution on each open one. */
  async pass(): Promise<void> {
    const head = await this.p.reader.client.getBlockNumber({ cacheTime: 0 });
    // the last REORG_DEPTH blocks are scanned again (a panel is only added, never lost)
    const from = this.state.scannedThrough === undefined ? this.game.fromBlock : this.state.scannedThrough + 1n > REORG_DEPTH ? this.state.scannedThrough + 1n - REORG_DEPTH : 0n;
    for (const draw of await this.game.panelsDrawn(from, this.p.address)) {
      const key = draw.id.toString();
      if (this.state.closed.includes(key)) continue;
      if ((this.state.open[key] ?? 0) < draw.panel && this.state.votes[`${key}:${draw.panel}`] === undefined) {
        if (this.state.open[key] === undefined) this.p.log("drawn on a panel", { disputeId: draw.id, panel: draw.panel, deadline: draw.deadline });
        this.state.open[key] = draw.panel;
      }
    }
    this.state.scannedThrough = head;
    await this.save();
    for (const key of Object.keys(this.state.open)) {
      try {
        await this.serve(BigInt(key));
      } catch (err) {
        this.p.log("cannot serve a panel yet", { disputeId: key, error: (err as Error).message.split("\n")[0] });
      }
    }
  }

  private async serve(id: bigint): Promise<void> {
    const key = id.toString();
    let d = await this.game.dispute(id);
    if (d.phase === DisputePhase.Closed) {
      const v = await this.game.verdict(id);
      this.p.log("dispute closed", { disputeId: id, verdict: v?.verdict, paidMask: v?.paidMask, wrongMask: v?.wrongMask });
      delete this.state.open[key];
      this.state.closed.push(key);
      await this.save();
      return;
    }
    if (d.phase !== DisputePhase.Refereeing) return; // a redraw is announced by its own PanelDrawn event
    const panel = await this.game.panel(id);
    if (!panel.some((a) => a.toLowerCase() === this.p.address.toLowerCase())) {
      delete this.state.open[key]; // redrawn without this referee
      await this.save();
      return;
    }
    const voteKey = `${id}:${d.panels}`;
    if (this.state.votes[voteKey] === undefined) {
      try {
        this.state.votes[voteKey] = await this.vote(d);
        await this.save();
      } catch (err) {
        // said once per panel and reason (it is retried every poll until the deadline)
        const msg = (err as Error).message.split("\n")[0];
        if (this.said.get(voteKey) !== msg) this.p.log("cannot vote yet", { disputeId: id, panel: d.panels, error: msg });
        this.said.set(voteKey, msg);
      }
      d = await this.game.dispute(id);
    }
    const now = await this.p.reader.now();
    if (d.phase === DisputePhase.Refereeing && (d.votes >= panel.length || now > d.deadline)) {
      if (await this.game.resolve(id)) this.p.log("resolved a dispute", { disputeId: id });
    }
  }

  /** Judges and votes; returns what to record. Throws (nothing recorded) when it cannot judge yet. */
  private async vote(d: Dispute): Promise<string> {
    let what: string;
    let send: () => Promise<void>;
    if (d.kind === DisputeKind.Round) {
      const o = await this.judgeRound(d);
      if (o === "abstain") return "abstain";
      what = `${o.modelHash}/${o.includedMask}`;
      send = () => this.game.voteRound(d.id, o.modelHash, o.includedMask);
      this.p.log("recomputed a disputed round", { disputeId: d.id, jobId: d.jobId, round: d.round, modelHash: o.modelHash, includedMask: o.includedMask });
    } else {
      const step: StepDispute = { id: d.id, jobId: d.jobId, round: d.round, worker: d.worker, lo: d.lo - 1, hi: d.hi, loLeaf: d.loLeaf, hiLeaf: d.hiLeaf, traceRoot: d.traceRoot };
      const correct = await this.judgeStep(step);
      if (correct === "abstain") {
        this.p.log("abstained on a step dispute", { disputeId: d.id });
        return "abstain";
      }
      what = correct ? "correct" : "wrong";
      send = () => this.game.voteStep(d.id, correct);
    }
    try {
      await send();
      this.p.log("voted", { disputeId: d.id, panel: d.panels, vote: what });
      return what;
    } catch (err) {
      if (!(err instanceof ContractRevertError)) throw err;
      if (err.errorName === "AlreadyVoted") return what;
      if (["TooLate", "WrongPhase", "NotOnPanel"].includes(err.errorName)) {
        this.p.log("vote not accepted", { disputeId: d.id, reason: err.errorName });
        return `missed:${err.errorName}`;
      }
      throw err;
    }
  }

  /**
   * The deterministic outcome of a disputed round: every committed update fetched and checked, the
   * valid ones averaged in canonical order, the outer step applied to the model the round started
   * from (the same aggregateRound every worker runs for its vote).
   */
  async judgeRound(d: { jobId: bigint; round: number }): Promise<{ modelHash: Hex; includedMask: number } | "abstain"> {
    const { reader, blobs } = this.p;
    const ctx = await this.context(d.jobId);
    const start = (await reader.roundStartHashes(d.jobId)).get(d.round);
    if (!start) throw new Error(`no RoundStarted event for round ${d.round} of job ${d.jobId}`);
    const global = await fetchGlobalState(ctx, blobs, start);
    const commitments = await reader.commitments(d.jobId, d.round);
    let agg;
    try {
      agg = await aggregateRound({ ctx, blobs, global, commitments, workers: await reader.workers(d.jobId) });
    } catch (err) {
      if (/no valid update/.test((err as Error).message)) {
        this.p.log("no valid update in the disputed round: abstaining", { jobId: d.jobId, round: d.round });
        return "abstain";
      }
      throw err;
    }
    const flaky = agg.excluded.find((e) => transientExclusion(e.reason));
    if (flaky) throw new Error(`update of ${flaky.worker} could not be fetched (${flaky.reason}); retrying`);
    return { modelHash: agg.modelHash, includedMask: agg.includedMask };
  }

  private context(jobId: bigint): Promise<JobContext> {
    const key = jobId.toString();
    let c = this.contexts.get(key);
    if (!c) {
      const { reader, blobs, config } = this.p;
      c = (async () => {
        const job = await reader.jobState(jobId);
        // aggregation and the outer step are plain float32 arithmetic: any backend gives the layout
        return loadJobContext({ jobId, params: await reader.jobParams(jobId), workerCount: await reader.startWorkerCount(jobId), blobs, backend: config.backend, crossClass: true });
      })();
      c.catch(() => this.contexts.delete(key));
      this.contexts.set(key, c);
    }
    return c;
  }

  async dispose(): Promise<void> {
    for (const c of this.contexts.values()) await c.then((x) => x.trainer.dispose(), () => undefined);
  }

  /** Withdraws the referee's game balance (returned stake after leaving); returns the amount. */
  async withdraw(): Promise<bigint> {
    const amount = await this.game.withdraw();
    this.p.log(amount > 0n ? "withdrew game balance" : "nothing to withdraw from the game", { amount });
    return amount;
  }

  /** Leaves the referee set (allowed when on no open panel); the stake becomes withdrawable. */
  async leave(): Promise<void> {
    await this.game.leaveReferees();
    this.p.log("left the referee set", { referee: this.p.address });
  }
}
