/** Ready-made job specs: the demo job of `./run start` and a tiny one for tests. */
import type { Address, Hex } from "viem";
import type { ModelConfig } from "../diloco/types.ts";
import { DEFAULT_MODEL, TINY_MODEL } from "../diloco/model/config.ts";
import { DEFAULT_INNER_OPT } from "../diloco/trainer/options.ts";
import { DILOCOX_COMPRESSION } from "../diloco/compress/config.ts";
import { DEFAULT_OUTER } from "../diloco/outer/index.ts";
import { CORPUS_PACKAGE } from "../diloco/data/index.ts";
import { JOB_SPEC_FORMAT, JOB_SPEC_VERSION, parseJobSpec, type JobSpec, type OverlapStart, type TrainerSpec } from "./job-spec.ts";

export interface PresetOptions {
  rounds?: number;
  workers?: number;
  innerSteps?: number;
  batchSize?: number;
  model?: "default" | "tiny";
  overlap?: boolean;
  /** Start rule under overlap (absent = the spec default, "eager-own"). */
  overlapStart?: OverlapStart;
  /** Outer optimiser momentum (default DEFAULT_OUTER's). */
  outerMomentum?: number;
  name?: string;
  /** Phase windows in seconds (commit, vote). */
  commitWindow?: number;
  voteWindow?: number;
  /** Any architecture (overrides `model`), e.g. from `modelPreset` of worker/diloco/model/presets.ts. */
  modelConfig?: ModelConfig;
  /** Train on a content-addressed dataset instead of the built-in corpus. */
  dataset?: { hash: Hex; shardsPerRound: number; description?: string };
  trainer?: TrainerSpec;
  /** Keep inner AdamW state across rounds (DiLoCo). */
  keepInnerState?: boolean;
}

export function makeSpec(opts: PresetOptions): JobSpec {
  const rounds = opts.rounds ?? 3;
  const innerSteps = opts.innerSteps ?? 20;
  const workers = opts.workers ?? 3;
  const model = opts.modelConfig ?? (opts.model === "tiny" ? TINY_MODEL : DEFAULT_MODEL);
  return parseJobSpec({
    format: JOB_SPEC_FORMAT,
    version: JOB_SPEC_VERSION,
    name: opts.name ?? `char-transformer-${opts.model ?? "default"}`,
    description: opts.dataset?.description ?? "Character-level decoder-only transformer on US State of the Union addresses",
    model: { ...model },
    data: opts.dataset ? { dataset: opts.dataset.hash, shardsPerRound: opts.dataset.shardsPerRound } : { corpus: CORPUS_PACKAGE, chunkSize: 4096, evalEvery: 10 },
    ...(opts.trainer ? { trainer: opts.trainer } : {}),
    training: {
      innerSteps,
      batchSize: opts.batchSize ?? (opts.model === "tiny" ? 8 : 32),
      seed: "20261122",
      initSeed: 1,
      overlap: opts.overlap ?? false,
      ...(opts.overlapStart !== undefined ? { overlapStart: opts.overlapStart } : {}),
      ...(opts.keepInnerState !== undefined ? { keepInnerState: opts.keepInnerState } : {}),
      innerOptimizer: { ...DEFAULT_INNER_OPT, warmupSteps: Math.min(DEFAULT_INNER_OPT.warmupSteps, Math.max(1, Math.floor((rounds * innerSteps) / 10))), totalSteps: rounds * innerSteps },
      outer: { ...DEFAULT_OUTER, ...(opts.outerMomentum !== undefined ? { momentum: opts.outerMomentum } : {}) },
      compression: { ...DILOCOX_COMPRESSION },
    },
    market: {
      rounds,
      maxWorkers: workers,
      minWorkers: Math.max(1, Math.ceil((workers * 2) / 3)),
      rewardPerRound: (10n * 10n ** 18n).toString(),
      workerBond: (50n * 10n ** 18n).toString(),
      challengeBond: (20n * 10n ** 18n).toString(),
      quorumBps: 6666,
      penaltyBps: 2000,
      joinWindow: 3600,
      commitWindow: opts.commitWindow ?? 600,
      voteWindow: opts.voteWindow ?? 300,
      challengeWindow: 86_400, // the protocol minimum (public-chain default); rewards are released after it
    },
  });
}
