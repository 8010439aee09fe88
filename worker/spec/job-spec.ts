/**
 * The job spec: everything a worker and an auditor need to reproduce a job's training bit for bit.
 * The poster uploads its canonical JSON (sorted keys, UTF-8) to the blob store; its keccak-256 is
 * the on-chain `specHash`. The `market` part must equal the job's on-chain parameters (checked by
 * `assertSpecMatchesChain`), so a worker never trains under terms other than those it is paid for.
 */
import { getAddress, isAddress, keccak256, toBytes, type Address, type Hex } from "viem";
import type { InnerOptimizerConfig, ModelConfig } from "../diloco/types.ts";
import type { CompressionConfig } from "../diloco/compress/config.ts";
import type { OuterConfig } from "../diloco/outer/index.ts";
import type { JobParams } from "../../shared/types.ts";
import { MAX_WORKERS } from "../../shared/types.ts";
import { MAX_PARAMS, MAX_VOCAB } from "../diloco/model/config.ts";
import { paramCount } from "../diloco/model/layout.ts";

export const JOB_SPEC_FORMAT = "diloco-market/job-spec";
export const JOB_SPEC_VERSION = 1;

export interface JobSpec {
  format: typeof JOB_SPEC_FORMAT;
  version: typeof JOB_SPEC_VERSION;
  name: string;
  description?: string;
  model: ModelConfig;
  /** Either a content-addressed dataset (manifest hash) or the built-in demo corpus (legacy form). */
  data: DatasetData | CorpusData;
  /** Which trainer backend and determinism class the job pins (absent = jax-js strict). */
  trainer?: TrainerSpec;
  training: {
    /** H: inner steps per round. */
    innerSteps: number;
    batchSize: number;
    /** Job seed (decimal string of a uint64): batch order and random projections derive from it. */
    seed: string;
    /** Seed of the initial parameters. */
    initSeed: number;
    /** DiLoCoX one-step-delay overlap. */
    overlap: boolean;
    /**
     * Start rule of an overlapped round (only with `overlap: true`; absent = "eager-own", the rule the
     * benchmark found best, BENCHMARKS.md "DiLoCoX engine"): see worker/diloco/round/index.ts.
     */
    overlapStart?: OverlapStart;
    /** Keep each worker's inner AdamW state across rounds (DiLoCo); absent = false (fresh every round). */
    keepInnerState?: boolean;
    innerOptimizer: InnerOptimizerConfig;
    outer: OuterConfig;
    compression: CompressionConfig;
  };
  market: {
    rounds: number;
    maxWorkers: number;
    minWorkers: number;
    /** Token amounts as decimal strings of base units. */
    rewardPerRound: string;
    workerBond: string;
    challengeBond: string;
    quorumBps: number;
    penaltyBps: number;
    joinWindow: number;
    commitWindow: number;
    voteWindow: number;
    challengeWindow: number;
  };
}

/** Start rules the worker node runs under overlap ("eager-mix" needs the aggregate of two rounds back, which the node does not replay). */
export const OVERLAP_STARTS = ["eager-own", "eager", "local"] as const;
export type OverlapStart = (typeof OVERLAP_STARTS)[number];

/** The start rule of an overlapped job (the default made explicit), or "off" for the synchronous schedule. */
export function overlapModeOf(spec: JobSpec): OverlapStart | "off" {
  return spec.training.overlap ? (spec.training.overlapStart ?? "eager-own") : "off";
}

export interface CorpusData {
  /** npm package providing the corpus (the engine's loader knows which). */
  corpus: string;
  /** Tokens per interleaved shard chunk. */
  chunkSize: number;
  /** Every n-th document is held out for evaluation. */
  evalEvery: number;
}

export interface DatasetData {
  /** keccak-256 of the dataset manifest blob (worker/diloco/data/dataset.ts). */
  dataset: Hex;
  /** Training shards each worker trains on per round (assignment keyed by seed, round, worker index). */
  shardsPerRound: number;
}

export function isDatasetData(d: JobSpec["data"]): d is DatasetData {
  return "dataset" in d;
}

/**
 * The trainer a job pins. `determinism` is the class whose members reproduce each other's bits:
 * jax-js: "strict" (every CPU) or "relaxed"; pytorch: the class string a PyTorch worker reports, e.g.
 * "pytorch-1.13.0a0/cpu-avx2/openblas-0.3.21-cooperlake/t1". Workers outside the class decline the job;
 * audits replay within it and check across classes with `tolerance`.
 */
export interface TrainerSpec {
  backend: "jax-js" | "pytorch";
  determinism: string;
  /** Cross-class audit bounds: relative L2 distance of the update and absolute mean-loss difference. */
  tolerance?: { updateRelL2: number; loss: number };
}

/** The trainer of a spec, with the default made explicit. */
export function trainerOf(spec: JobSpec): TrainerSpec {
  return spec.trainer ?? { backend: "jax-js", determinism: "strict" };
}

/** A spec problem, with the JSON path of the offending field. */
export class JobSpecError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`job spec: ${path} ${message}`);
    this.name = "JobSpecError";
    this.path = path;
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new JobSpecError(path, `must be an object, got ${JSON.stringify(v)}`);
  return v as Obj;
}
function int(o: Obj, key: string, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new JobSpecError(`${path}.${key}`, `must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}
function num(o: Obj, key: string, path: string, min: number, max: number, exclusiveMin = false): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (exclusiveMin && v === min)) {
    throw new JobSpecError(`${path}.${key}`, `must be a number in ${exclusiveMin ? "(" : "["}${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}
function bool(o: Obj, key: string, path: string): boolean {
  const v = o[key];
  if (typeof v !== "boolean") throw new JobSpecError(`${path}.${key}`, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}
function str(o: Obj, key: string, path: string, maxLen = 200): string {
  const v = o[key];
  if (typeof v !== "string" || v.length === 0 || v.length > maxLen) throw new JobSpecError(`${path}.${key}`, `must be a non-empty string of at most ${maxLen} characters`);
  return v;
}
function amount(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== "string" || !/^[0-9]{1,39}$/.test(v) || BigInt(v) === 0n || BigInt(v) >= 1n << 128n) {
    throw new JobSpecError(`${path}.${key}`, `must be a positive decimal string of base units below 2^128, got ${JSON.stringify(v)}`);
  }
  return v;
}
function noExtraKeys(o: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new JobSpecError(`${path}.${k}`, "is not a known field");
}

const WINDOW_MIN = 10;
const WINDOW_MAX = 30 * 24 * 3600;

/** Validates an untrusted value as a JobSpec, naming the first offending field. */
export function parseJobSpec(value: unknown): JobSpec {
  const root = obj(value, "$");
  noExtraKeys(root, ["format", "version", "name", "description", "model", "data", "trainer", "training", "market"], "$");
  if (root.format !== JOB_SPEC_FORMAT) throw new JobSpecError("$.format", `must be "${JOB_SPEC_FORMAT}", got ${JSON.stringify(root.format)}`);
  if (root.version !== JOB_SPEC_VERSION) throw new JobSpecError("$.version", `must be ${JOB_SPEC_VERSION} (this software's spec version), got ${JSON.stringify(root.version)}`);
  const name = str(root, "name", "$");
  if (root.description !== undefined && typeof root.description !== "string") throw new JobSpecError("$.description", "must be a string");

  const m = obj(root.model, "$.model");
  noExtraKeys(m, ["vocabSize", "contextLength", "dModel", "nHeads", "nLayers", "dMlp", "family", "tieEmbeddings"], "$.model");
  const model: ModelConfig = {
    vocabSize: int(m, "vocabSize", "$.model", 2, MAX_VOCAB),
    contextLength: int(m, "contextLength", "$.model", 2, 4096),
    dModel: int(m, "dModel", "$.model", 1, 8192),
    nHeads: int(m, "nHeads", "$.model", 1, 256),
    nLayers: int(m, "nLayers", "$.model", 1, 256),
    dMlp: int(m, "dMlp", "$.model", 1, 65536),
  };
  if (model.dModel % model.nHeads !== 0) throw new JobSpecError("$.model.nHeads", `must divide dModel (${model.dModel})`);
  if (m.family !== undefined) {
    if (m.family !== "gpt2" && m.family !== "llama") throw new JobSpecError("$.model.family", `must be "gpt2" or "llama", got ${JSON.stringify(m.family)}`);
    model.family = m.family;
  }
  if (m.tieEmbeddings !== undefined) {
    model.tieEmbeddings = bool(m, "tieEmbeddings", "$.model");
    if (model.family !== "llama") throw new JobSpecError("$.model.tieEmbeddings", "is only offered for the llama family");
  }
  if (model.family === "llama" && (model.dModel / model.nHeads) % 2 !== 0) throw new JobSpecError("$.model.nHeads", `rotary positions need an even head size dModel/nHeads, got ${model.dModel / model.nHeads}`);
  const nParams = paramCount(model);
  if (nParams > MAX_PARAMS) throw new JobSpecError("$.model", `has ${nParams} parameters, above the protocol cap of ${MAX_PARAMS}`);

  const d = obj(root.data, "$.data");
  let data: JobSpec["data"];
  if ("dataset" in d) {
    noExtraKeys(d, ["dataset", "shardsPerRound"], "$.data");
    if (typeof d.dataset !== "string" || !/^0x[0-9a-f]{64}$/.test(d.dataset)) throw new JobSpecError("$.data.dataset", `must be a dataset manifest hash (0x + 64 lowercase hex digits; \`market dataset upload\` prints it), got ${JSON.stringify(d.dataset)}`);
    data = { dataset: d.dataset as Hex, shardsPerRound: int(d, "shardsPerRound", "$.data", 1, 4096) };
  } else {
    noExtraKeys(d, ["corpus", "chunkSize", "evalEvery"], "$.data");
    data = { corpus: str(d, "corpus", "$.data"), chunkSize: int(d, "chunkSize", "$.data", 1, 1 << 24), evalEvery: int(d, "evalEvery", "$.data", 2, 1000) };
  }

  let trainer: TrainerSpec | undefined;
  if (root.trainer !== undefined) {
    const tr = obj(root.trainer, "$.trainer");
    noExtraKeys(tr, ["backend", "determinism", "tolerance"], "$.trainer");
    if (tr.backend !== "jax-js" && tr.backend !== "pytorch") throw new JobSpecError("$.trainer.backend", `must be "jax-js" or "pytorch", got ${JSON.stringify(tr.backend)}`);
    const determinism = str(tr, "determinism", "$.trainer");
    if (tr.backend === "jax-js" && determinism !== "strict" && determinism !== "relaxed") throw new JobSpecError("$.trainer.determinism", `must be "strict" or "relaxed" for jax-js, got ${JSON.stringify(determinism)}`);
    if (tr.backend === "pytorch" && !determinism.startsWith("pytorch-")) throw new JobSpecError("$.trainer.determinism", `must be a PyTorch class string ("pytorch-<version>/<device>/…", as \`worker capabilities\` prints), got ${JSON.stringify(determinism)}`);
    trainer = { backend: tr.backend, determinism };
    if (tr.tolerance !== undefined) {
      const tol = obj(tr.tolerance, "$.trainer.tolerance");
      noExtraKeys(tol, ["updateRelL2", "loss"], "$.trainer.tolerance");
      trainer.tolerance = { updateRelL2: num(tol, "updateRelL2", "$.trainer.tolerance", 0, 10), loss: num(tol, "loss", "$.trainer.tolerance", 0, 100) };
    }
  }

  const t = obj(root.training, "$.training");
  noExtraKeys(t, ["innerSteps", "batchSize", "seed", "initSeed", "overlap", "overlapStart", "keepInnerState", "innerOptimizer", "outer", "compression"], "$.training");
  const seed = t.seed;
  if (typeof seed !== "string" || !/^[0-9]{1,20}$/.test(seed) || BigInt(seed) >= 1n << 64n) throw new JobSpecError("$.training.seed", "must be a decimal string of a uint64");
  const io = obj(t.innerOptimizer, "$.training.innerOptimizer");
  const iop = "$.training.innerOptimizer";
  noExtraKeys(io, ["lr", "beta1", "beta2", "eps", "weightDecay", "warmupSteps", "totalSteps", "minLrRatio", "clipNorm"], iop);
  const innerOptimizer: InnerOptimizerConfig = {
    lr: num(io, "lr", iop, 0, 10, true),
    beta1: num(io, "beta1", iop, 0, 0.999999),
    beta2: num(io, "beta2", iop, 0, 0.999999),
    eps: num(io, "eps", iop, 0, 1, true),
    weightDecay: num(io, "weightDecay", iop, 0, 10),
    warmupSteps: int(io, "warmupSteps", iop, 0),
    totalSteps: int(io, "totalSteps", iop, 1),
    minLrRatio: num(io, "minLrRatio", iop, 0, 1),
    clipNorm: num(io, "clipNorm", iop, 0, 1e6),
  };
  const oc = obj(t.outer, "$.training.outer");
  noExtraKeys(oc, ["lr", "momentum", "nesterov"], "$.training.outer");
  const outer: OuterConfig = { lr: num(oc, "lr", "$.training.outer", 0, 10, true), momentum: num(oc, "momentum", "$.training.outer", 0, 0.999999), nesterov: bool(oc, "nesterov", "$.training.outer") };
  const c = obj(t.compression, "$.training.compression");
  const cp = "$.training.compression";
  noExtraKeys(c, ["method", "bits", "vectorBits", "blockSize", "energy", "minRank", "maxRank", "oversample", "powerIters", "errorFeedback"], cp);
  if (c.method !== "none" && c.method !== "quant" && c.method !== "lowrank") throw new JobSpecError(`${cp}.method`, `must be "none", "quant" or "lowrank", got ${JSON.stringify(c.method)}`);
  const compression: CompressionConfig = {
    method: c.method,
    bits: int(c, "bits", cp, 2, 8),
    vectorBits: int(c, "vectorBits", cp, 2, 8),
    blockSize: int(c, "blockSize", cp, 1, 65536),
    energy: num(c, "energy", cp, 0, 1, true),
    minRank: int(c, "minRank", cp, 1, 1024),
    maxRank: int(c, "maxRank", cp, 1, 1024),
    oversample: int(c, "oversample", cp, 0, 1024),
    powerIters: int(c, "powerIters", cp, 0, 16),
    errorFeedback: bool(c, "errorFeedback", cp),
  };
  if (compression.minRank > compression.maxRank) throw new JobSpecError(`${cp}.minRank`, `must not exceed maxRank (${compression.maxRank})`);
  let overlapStart: OverlapStart | undefined;
  if (t.overlapStart !== undefined) {
    if (!OVERLAP_STARTS.includes(t.overlapStart as OverlapStart)) throw new JobSpecError("$.training.overlapStart", `must be one of ${OVERLAP_STARTS.map((s) => JSON.stringify(s)).join(", ")}, got ${JSON.stringify(t.overlapStart)}`);
    if (t.overlap !== true) throw new JobSpecError("$.training.overlapStart", "is only allowed with overlap: true (remove it, or set training.overlap to true)");
    overlapStart = t.overlapStart as OverlapStart;
  }
  const training = {
    innerSteps: int(t, "innerSteps", "$.training", 1, 1_000_000),
    batchSize: int(t, "batchSize", "$.training", 1, 65536),
    seed,
    initSeed: int(t, "initSeed", "$.training", 0, 2 ** 31 - 1),
    overlap: bool(t, "overlap", "$.training"),
    ...(overlapStart !== undefined ? { overlapStart } : {}),
    ...(t.keepInnerState !== undefined ? { keepInnerState: bool(t, "keepInnerState", "$.training") } : {}),
    innerOptimizer,
    outer,
    compression,
  };

  const mk = obj(root.market, "$.market");
  const mp = "$.market";
  noExtraKeys(mk, ["rounds", "maxWorkers", "minWorkers", "rewardPerRound", "workerBond", "challengeBond", "quorumBps", "penaltyBps", "joinWindow", "commitWindow", "voteWindow", "challengeWindow"], mp);
  const market = {
    rounds: int(mk, "rounds", mp, 1, 1_000_000),
    maxWorkers: int(mk, "maxWorkers", mp, 1, MAX_WORKERS),
    minWorkers: int(mk, "minWorkers", mp, 1, MAX_WORKERS),
    rewardPerRound: amount(mk, "rewardPerRound", mp),
    workerBond: amount(mk, "workerBond", mp),
    challengeBond: amount(mk, "challengeBond", mp),
    quorumBps: int(mk, "quorumBps", mp, 5001, 10000),
    penaltyBps: int(mk, "penaltyBps", mp, 0, 10000),
    joinWindow: int(mk, "joinWindow", mp, WINDOW_MIN, WINDOW_MAX),
    commitWindow: int(mk, "commitWindow", mp, WINDOW_MIN, WINDOW_MAX),
    voteWindow: int(mk, "voteWindow", mp, WINDOW_MIN, WINDOW_MAX),
    challengeWindow: int(mk, "challengeWindow", mp, WINDOW_MIN, WINDOW_MAX),
  };
  if (market.minWorkers > market.maxWorkers) throw new JobSpecError(`${mp}.minWorkers`, `must not exceed maxWorkers (${market.maxWorkers})`);
  if (innerOptimizer.totalSteps !== market.rounds * training.innerSteps) {
    throw new JobSpecError(`${iop}.totalSteps`, `must equal market.rounds × training.innerSteps = ${market.rounds * training.innerSteps}, got ${innerOptimizer.totalSteps}`);
  }
  const spec: JobSpec = { format: JOB_SPEC_FORMAT, version: JOB_SPEC_VERSION, name, model, data, training, market };
  if (trainer) spec.trainer = trainer;
  if (typeof root.description === "string") spec.description = root.description;
  return spec;
}

/** Canonical JSON (sorted keys, no whitespace): the bytes that are hashed and stored. */
export function canonicalSpecJson(spec: JobSpec): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v as Obj).sort().map((k) => [k, sort((v as Obj)[k])]));
    return v;
  };
  return JSON.stringify(sort(spec));
}

export function encodeJobSpec(spec: JobSpec): Uint8Array {
  return toBytes(canonicalSpecJson(spec));
}

export function jobSpecHash(spec: JobSpec): Hex {
  return keccak256(encodeJobSpec(spec));
}

/** Decodes spec bytes fetched by hash, rejecting non-canonical encodings. */
export function decodeJobSpec(bytes: Uint8Array): JobSpec {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new JobSpecError("$", `is not UTF-8 JSON: ${(err as Error).message}`);
  }
  const spec = parseJobSpec(value);
  const canonical = encodeJobSpec(spec);
  if (canonical.length !== bytes.length || canonical.some((b, i) => b !== bytes[i])) throw new JobSpecError("$", "is not in canonical form (sorted keys, no whitespace)");
  return spec;
}

/** The createJob argument for a spec whose blob hashes are known. */
export function jobParamsFromSpec(spec: JobSpec, specHash: Hex, initialModelHash: Hex): JobParams {
  const m = spec.market;
  return {
    specHash,
    initialModelHash,
    rewardPerRound: BigInt(m.rewardPerRound),
    workerBond: BigInt(m.workerBond),
    challengeBond: BigInt(m.challengeBond),
    rounds: m.rounds,
    maxWorkers: m.maxWorkers,
    minWorkers: m.minWorkers,
    quorumBps: m.quorumBps,
    penaltyBps: m.penaltyBps,
    joinWindow: m.joinWindow,
    commitWindow: m.commitWindow,
    voteWindow: m.voteWindow,
    challengeWindow: m.challengeWindow,
  };
}

/** Throws when the on-chain job parameters differ from what the spec promises. */
export function assertSpecMatchesChain(spec: JobSpec, onChain: JobParams): void {
  const expected = jobParamsFromSpec(spec, onChain.specHash, onChain.initialModelHash);
  for (const key of Object.keys(expected) as (keyof JobParams)[]) {
    const a = expected[key];
    const b = onChain[key];
    const same = typeof a === "string" && typeof b === "string" ? a.toLowerCase() === b.toLowerCase() : a === b;
    if (!same) throw new Error(`job parameter ${key} on chain (${String(b)}) differs from the spec (${String(a)})`);
  }
}
