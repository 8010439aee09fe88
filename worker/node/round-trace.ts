/**
 * A worker's round traces on disk and the witnesses a dispute needs (docs/contracts.md, "Round trace
 * and bisection"). For every round it trains, the worker keeps in jobs/<id>/:
 *   trace-<round>.json          the trace leaves (start state, each inner step's state, update hash);
 *   trace-<round>-residual.bin  the error-feedback residual the round started from (if any);
 *   trace-<round>-inner.bin     the AdamW state the round started from (if the spec keeps it);
 *   trace-<round>-start.bin     overlapped jobs: the parameters the round started from (the start point
 *                               derived from the basis model, worker/node/overlap-start.ts).
 * With these and the round's global model (public, by hash), the state behind any leaf is rebuilt by
 * retraining deterministically up to that step: nothing per step is stored.
 */
import path from "node:path";
import type { Hex } from "viem";
import { TraceTree } from "../../shared/trace.ts";
import { decodeState, encodeState } from "../diloco/format/state.ts";
import type { GlobalState } from "../diloco/outer/index.ts";
import { contextHash, digestF32, stateLeaf, type TraceWitness } from "../diloco/trace/index.ts";
import type { InnerState } from "../diloco/types.ts";
import { decodeInnerState, encodeInnerState } from "../state/inner-state.ts";
import { readBytes, readJson, writeBytes, writeJson } from "../state/json-state.ts";
import type { JobContext } from "./job-context.ts";

export interface SavedTrace {
  round: number;
  workerIndex: number;
  /** The model the round's start point derives from (the trace context's start model hash). */
  startModelHash: Hex;
  leaves: Hex[];
}

/** The state a round started from: enough to retrain it to any inner step. */
export interface RoundStart {
  /** The model the start point derives from (the round's own start model, or under overlap possibly the previous round's). */
  startModelHash: Hex;
  /** The parameters training started from (the start model's, or the overlap start point). */
  params: Float32Array;
  residual: Float32Array | null;
  innerState: InnerState | null;
  round: number;
  workerIndex: number;
}

export function traceRoot(leaves: readonly Hex[]): Hex {
  return new TraceTree(leaves).root;
}

export async function saveTrace(dir: string, ctx: JobContext, trace: SavedTrace, start: { residual: Float32Array | null; innerState: InnerState | null; params?: Float32Array }): Promise<void> {
  if (start.params) await writeBytes(path.join(dir, `trace-${trace.round}-start.bin`), encodeState({ kind: "params", step: trace.round, layout: ctx.trainer.layout, values: start.params }));
  if (start.residual) await writeBytes(path.join(dir, `trace-${trace.round}-residual.bin`), encodeState({ kind: "residual", step: trace.round, layout: ctx.trainer.layout, values: start.residual }));
  if (start.innerState) await writeBytes(path.join(dir, `trace-${trace.round}-inner.bin`), encodeInnerState(start.innerState));
  await writeJson(path.join(dir, `trace-${trace.round}.json`), trace);
}

export async function loadTrace(dir: string, round: number): Promise<SavedTrace | undefined> {
  return readJson<SavedTrace>(path.join(dir, `trace-${round}.json`));
}

/** The saved start of a round (residual, AdamW state and, under overlap, start point as they were when it trained). */
export async function loadRoundStart(dir: string, ctx: JobContext, trace: SavedTrace, global: GlobalState): Promise<RoundStart> {
  const r = await readBytes(path.join(dir, `trace-${trace.round}-residual.bin`));
  const i = await readBytes(path.join(dir, `trace-${trace.round}-inner.bin`));
  const p = await readBytes(path.join(dir, `trace-${trace.round}-start.bin`));
  return {
    startModelHash: trace.startModelHash,
    params: p ? decodeState(p, { expectedLayout: ctx.trainer.layout, expectedKind: "params" }).values : global.params,
    residual: r ? decodeState(r, { expectedLayout: ctx.trainer.layout, expectedKind: "residual" }).values : null,
    innerState: i ? decodeInnerState(i, ctx.trainer.layout.size) : null,
    round: trace.round,
    workerIndex: trace.workerIndex,
  };
}

/**
 * The full training state after `step` inner steps of a round (0 = its start), rebuilt by retraining
 * from the round's start exactly as the worker trained it.
 */
export async function witnessAt(ctx: JobContext, start: RoundStart, step: number): Promise<TraceWitness> {
  const t = ctx.spec.training;
  if (!Number.isInteger(step) || step < 0 || step > t.innerSteps) throw new RangeError(`a witness is for steps 0..${t.innerSteps}, got ${step}`);
  const n = ctx.trainer.layout.size;
  const inner = t.keepInnerState ? start.innerState : null;
  const base = { startModelHash: start.startModelHash, round: start.round, workerIndex: start.workerIndex, residual: t.compression.errorFeedback ? start.residual : null };
  if (step === 0) {
    return { ...base, step: 0, t: inner?.t ?? 0, params: start.params, m: inner?.m ?? new Float32Array(n), v: inner?.v ?? new Float32Array(n) };
  }
  const out = await ctx.trainer.train({
    params: start.params,
    steps: step,
    batchSize: t.batchSize,
    shard: await ctx.shardFor(start.round, start.workerIndex),
    seed: BigInt(t.seed),
    round: start.round,
    workerIndex: start.workerIndex,
    stepOffset: start.round * t.innerSteps,
    ...(inner ? { innerState: inner } : {}),
  });
  if (!out.innerState) throw new Error("the trainer returned no AdamW state: it cannot build a trace witness");
  return { ...base, step, t: out.innerState.t, params: out.params, m: out.innerState.m, v: out.innerState.v };
}

/** The trace leaf a witness stands for (what referees compare with the agreed leaf). */
export function witnessLeaf(w: TraceWitness): Hex {
  const ctx = contextHash({ startModelHash: w.startModelHash, round: w.round, workerIndex: w.workerIndex, residualDigest: digestF32(w.residual) });
  return stateLeaf(ctx, w.step, w.t, { params: digestF32(w.params), m: digestF32(w.m), v: digestF32(w.v) });
}

