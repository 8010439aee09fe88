/**
 * Both sides of a step dispute (DisputeGame bisection, docs/contracts.md "Round trace and bisection"):
 *
 *   defendStepDisputes  the challenged worker: opens its trace (startBisection), reveals each midpoint
 *                       with its Merkle proof, and when a panel judges, publishes the witness (the
 *                       full training state behind the agreed leaf) so that the referees recompute the
 *                       one disputed step; calls `resolve` when the other side missed its move.
 *   pursueStepChallenge the challenger: agrees with a revealed midpoint exactly when it equals the leaf
 *                       of its own replay of the round, publishes its own witness of the agreed leaf
 *                       too (so a worker that withholds one cannot stall the panel), and resolves.
 *
 * Either side that misses a move loses the dispute, so both run until the dispute is closed.
 */
import path from "node:path";
import type { Address, Hex } from "viem";
import { disputeGameAbi } from "../../shared/abis.ts";
import { DisputePhase, resolveGameAddress } from "./game-client.ts";
import { TraceTree } from "../../shared/trace.ts";
import { ContractRevertError } from "../chain/tx-sender.ts";
import { scanEvents } from "../chain/log-scan.ts";
import { encodeWitness } from "../diloco/trace/index.ts";
import { fetchGlobalState, loadJobContext, type JobContext } from "./job-context.ts";
import type { Provider } from "./provider.ts";
import { loadRoundStart, loadTrace, witnessAt, witnessLeaf, type RoundStart } from "./round-trace.ts";

/** The DisputeGame of the provider's market (configured, or the one the market names). */
export function gameAddress(p: Provider): Promise<Address | undefined> {
  return resolveGameAddress(p.reader.client, p.config.addresses);
}

async function readDispute(p: Provider, game: Address, id: bigint) {
  return p.reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "disputeOf", args: [id] });
}

/** Sends a game transaction; a revert that means "someone else already moved" is logged, not thrown. */
async function move(p: Provider, game: Address, functionName: string, args: readonly unknown[], what: Record<string, unknown>): Promise<boolean> {
  try {
    await p.sender.send({ address: game, abi: disputeGameAbi, functionName: functionName as never, args: args as never });
    p.log(`dispute: ${functionName}`, what);
    return true;
  } catch (err) {
    if (!(err instanceof ContractRevertError) || !["WrongPhase", "NotDue", "TooLate", "AlreadyVoted"].includes(err.errorName)) throw err;
    p.log(`dispute: ${functionName} not needed`, { ...what, reason: err.errorName });
    return false;
  }
}

/** Calls `resolve` when the dispute's current move or vote is overdue (or every referee voted). */
async function resolveIfDue(p: Provider, game: Address, id: bigint, d: Awaited<ReturnType<typeof readDispute>>): Promise<void> {
  const now = await p.reader.now();
  let due = now > d.deadline;
  if (!due && d.phase === DisputePhase.Refereeing) {
    const panel = await p.reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "panelOf", args: [id] });
    due = panel.length > 0 && d.votes === panel.length;
  }
  if (due) await move(p, game, "resolve", [id], { id });
}

/** Publishes the witness of the agreed leaf for the current panel (once per panel). */
async function postWitness(p: Provider, game: Address, id: bigint, ctx: JobContext, start: RoundStart, agreed: number, expectedLeaf: Hex): Promise<void> {
  const w = await witnessAt(ctx, start, agreed);
  const leaf = witnessLeaf(w);
  if (leaf !== expectedLeaf.toLowerCase()) throw new Error(`the rebuilt state of step ${agreed} (leaf ${leaf}) is not the agreed leaf ${expectedLeaf}: cannot publish a witness`);
  const blob = await p.blobs.put(encodeWitness(w));
  await move(p, game, "postWitness", [id, blob], { id, agreedIndex: agreed, witness: blob });
}

interface DefenseState {
  through: bigint;
  open: Set<bigint>;
  posted: Set<string>;
  /** Disputes already reported as unanswerable (logged once). */
  warned: Set<bigint>;
}

/**
 * One pass over the step disputes against this worker: answers every move that is due from it.
 * Returns the number of disputes still open. `state` carries the scan position between passes.
 */
export async function defendStepDisputesOnce(p: Provider, game: Address, state: DefenseState): Promise<number> {
  const head = await p.reader.client.getBlockNumber();
  if (head > state.through) {
    const logs = await scanEvents(p.reader.client, { address: game, abi: disputeGameAbi, eventName: "StepChallenged", args: { worker: p.address }, fromBlock: state.through + 1n, toBlock: head });
    for (const l of logs) {
      state.open.add(l.args.id!);
      p.log("dispute: challenged", { id: l.args.id, jobId: l.args.jobId, round: l.args.round, challenger: l.args.challenger });
    }
    state.through = head;
  }
  for (const id of [...state.open]) {
    const d = await readDispute(p, game, id);
    if (d.phase === DisputePhase.Closed || d.phase === DisputePhase.None) {
      state.open.delete(id);
      continue;
    }
    const dir = path.join(p.config.dataDir, "jobs", d.jobId.toString());
    const trace = await loadTrace(dir, d.round);
    if (!trace) {
      if (!state.warned.has(id)) p.log("dispute: cannot answer, no trace of this round on disk", { id, jobId: d.jobId, round: d.round, dir });
      state.warned.add(id);
      continue;
    }
    const tree = new TraceTree(trace.leaves);
    if (tree.root !== d.traceRoot.toLowerCase()) {
      if (!state.warned.has(id)) p.log("dispute: the challenged trace root is not the one on disk", { id, onChain: d.traceRoot, onDisk: tree.root });
      state.warned.add(id);
      continue;
    }
    if (d.phase === DisputePhase.AwaitStart) {
      const last = trace.leaves.length - 1;
      await move(p, game, "startBisection", [id, last + 1, tree.proof(last)], { id, leaves: last + 1 });
    } else if (d.phase === DisputePhase.AwaitReveal) {
      const [, , mid] = await p.reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "interval", args: [id] });
      await move(p, game, "revealMidpoint", [id, trace.leaves[mid], tree.proof(mid)], { id, index: mid });
    } else if (d.phase === DisputePhase.AwaitResponse) {
      await resolveIfDue(p, game, id, d);
    } else if (d.phase === DisputePhase.Refereeing) {
      const [lo] = await p.reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "interval", args: [id] });
      const key = `${id}:${d.panels}`;
      if (lo >= 0n && !state.posted.has(key)) {
        const params = await p.reader.jobParams(d.jobId);
        const job = await p.reader.jobState(d.jobId);
        const ctx = await loadJobContext({ jobId: d.jobId, params, workerCount: await p.reader.startWorkerCount(d.jobId), blobs: p.blobs, backend: p.config.backend, dataDir: p.config.dataDir });
        try {
          const start = await loadRoundStart(dir, ctx, trace, await fetchGlobalState(ctx, p.blobs, trace.startModelHash));
          await postWitness(p, game, id, ctx, start, Number(lo), trace.leaves[Number(lo)]);
        } finally {
          await ctx.trainer.dispose();
        }
        state.posted.add(key);
      }
      await resolveIfDue(p, game, id, d);
    }
  }
  return state.open.size;
}

export function newDefenseState(fromBlock: bigint): DefenseState {
  return { through: fromBlock - 1n, open: new Set(), posted: new Set(), warned: new Set() };
}

/**
 * The challenger's side of one step dispute, until it is closed: `honest` are the leaves of its own
 * replay of the worker's round, `start` that round's start state (to publish a witness).
 */
export async function pursueStepChallenge(p: Provider, game: Address, id: bigint, honest: readonly Hex[], ctx: JobContext, start: RoundStart, opts: { pollMs?: number; signal?: AbortSignal } = {}): Promise<number> {
  const posted = new Set<number>();
  for (;;) {
    if (opts.signal?.aborted) throw new Error(`stopped while dispute ${id} is open: run the audit again to keep answering (a missed move loses the challenge bond)`);
    const d = await readDispute(p, game, id);
    if (d.phase === DisputePhase.Closed) return d.phase;
    if (d.phase === DisputePhase.AwaitResponse) {
      const [, , mid] = await p.reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "interval", args: [id] });
      const agree = d.midLeaf.toLowerCase() === honest[mid]?.toLowerCase();
      await move(p, game, "respondMidpoint", [id, agree], { id, index: mid, agree });
      continue;
    }
    if (d.phase === DisputePhase.Refereeing) {
      const [lo] = await p.reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "interval", args: [id] });
      if (lo >= 0n && lo < BigInt(honest.length - 1) && !posted.has(d.panels)) {
        await postWitness(p, game, id, ctx, start, Number(lo), honest[Number(lo)]);
        posted.add(d.panels);
      }
    }
    if (d.phase !== DisputePhase.None) await resolveIfDue(p, game, id, d);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
}

/**
 * Runs `defendStepDisputesOnce` in the background of a provider's service (every `everyMs`) until
 * stopped; a failed pass is logged and retried on the next one (the moves are idempotent).
 */
export class StepDefense {
  private readonly state: DefenseState;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  open = 0;

  private readonly p: Provider;
  private readonly game: Address;
  private readonly everyMs: number;

  constructor(p: Provider, game: Address, everyMs: number) {
    this.p = p;
    this.game = game;
    this.everyMs = everyMs;
    this.state = newDefenseState(p.reader.fromBlock);
  }

  start(): void {
    const tick = async () => {
      try {
        this.open = await defendStepDisputesOnce(this.p, this.game, this.state);
      } catch (err) {
        this.p.log("dispute: answering failed, retrying", { error: (err as Error).message.split("\n")[0] });
      }
      if (!this.stopped) this.timer = setTimeout(() => (this.running = tick()), this.everyMs);
    };
    this.running = tick();
  }

  /** Waits until no step dispute against this worker is open (or `signal` fires). */
  async drain(signal?: AbortSignal): Promise<void> {
    await this.running;
    if (this.open > 0) this.p.log("dispute: staying up until the disputes against this worker are closed", { open: this.open });
    while (this.open > 0 && !signal?.aborted) {
      await new Promise((r) => setTimeout(r, this.everyMs));
      await this.running;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
