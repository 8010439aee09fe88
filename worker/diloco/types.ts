/**
 * Boundary types of the DiLoCoX engine. Everything outside `worker/diloco/` sees parameters
 * only as one flat little-endian `Float32Array` plus a `ParamLayout` describing its tensors.
 *
 * Determinism contract: given the same (ModelConfig, InnerOptimizerConfig, initial params,
 * data shard, seed, round, workerIndex, steps), `Trainer.train` returns bit-identical
 * params and losses, in this process or another one. This is what makes replay audits possible.
 */
import type { StateDigests } from "./trace/index.ts";

/** One named tensor inside the flat parameter vector (row-major). */
export interface TensorSpec {
  name: string;
  shape: number[];
  /** "matrix" tensors (2-D weights) get low-rank compression; "vector" ones (biases, norms, 1-D) are only quantised. */
  kind: "matrix" | "vector";
  /** Element offset of the tensor inside the flat vector. */
  offset: number;
  /** Number of elements (product of shape). */
  size: number;
}

export interface ParamLayout {
  tensors: TensorSpec[];
  /** Total number of float32 elements. */
  size: number;
}

/** Decoder-only transformer language model hyper-parameters. */
export interface ModelConfig {
  vocabSize: number;
  contextLength: number;
  dModel: number;
  nHeads: number;
  nLayers: number;
  dMlp: number;
  /**
   * Architecture family (absent = "gpt2"):
   *   "gpt2": pre-LN LayerNorm blocks, learned positions, GELU-tanh MLP, biases, untied head with bias;
   *   "llama": pre-norm RMSNorm blocks, rotary positions (θ = 10000, rotate-half), SwiGLU MLP, no biases.
   */
  family?: "gpt2" | "llama";
  /** "llama" only: the output head is the transposed token embedding (absent = false). */
  tieEmbeddings?: boolean;
}

/** Inner optimiser: AdamW with linear warm-up, cosine decay (over the whole job) and global-norm clipping. */
export interface InnerOptimizerConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  warmupSteps: number;
  /** Total inner steps over the whole job (rounds × H): the cosine schedule spans this. */
  totalSteps: number;
  /** Final learning rate as a fraction of `lr`. */
  minLrRatio: number;
  /** Global gradient-norm clip; 0 disables. */
  clipNorm: number;
}

/** A worker's token stream (its shard) as byte/char ids. */
export interface DataShard {
  tokens: Uint8Array | Uint16Array | Uint32Array;
}

export interface TrainRequest {
  /** Starting parameters (not modified by the trainer). */
  params: Float32Array;
  /** H: number of inner steps to run. */
  steps: number;
  batchSize: number;
  shard: DataShard;
  /** Job seed; batch order is derived from (seed, round, workerIndex, step). */
  seed: bigint | number;
  round: number;
  workerIndex: number;
  /** Global step index of the first step (round × H), for the learning-rate schedule. */
  stepOffset: number;
  /**
   * Inner AdamW state to continue from (DiLoCo keeps it across rounds); absent = fresh moments at t = 0.
   * Part of the worker's replayable state: an auditor replays it forward like the error-feedback residual.
   */
  innerState?: InnerState;
  /** Progress callback after each inner step (steps done so far, that step's loss); optional for trainers. */
  onStep?: (done: number, loss: number) => void;
  /**
   * Local index of the first step within the round (default 0): batch k of the round is sampled for
   * step firstStep + k and the learning rate is taken at stepOffset + firstStep + k. A referee
   * recomputes one disputed step s of a round with `firstStep: s, steps: 1` from the witnessed state.
   */
  firstStep?: number;
  /** Report the SHA-256 digests of the full training state after every step (`TrainResult.stateDigests`, round traces). */
  traceDigests?: boolean;
}

/** AdamW moments (flat, in layout order) and the number of steps they have seen (bias correction). */
export interface InnerState {
  m: Float32Array;
  v: Float32Array;
  /** Adam steps already taken; the next step uses t + 1. */
  t: number;
}

export interface TrainResult {
  params: Float32Array;
  /** Loss of each inner step, in order. */
  losses: number[];
  tokensProcessed: number;
  /** Wall-clock seconds spent in training (for utilisation accounting). */
  seconds: number;
  /** AdamW state after the last step (continue from it with `TrainRequest.innerState`); both real
   *  trainers return it, a test double without optimiser state may omit it. */
  innerState?: InnerState;
  /** With `TrainRequest.traceDigests`: digests of (params, m, v) after each step, in order (worker/diloco/trace). */
  stateDigests?: StateDigests[];
}

/**
 * The seam between round logic and the ML library. An in-process implementation and, later,
 * a PyTorch-process implementation (GPU providers) both satisfy it.
 */
export interface Trainer {
  readonly config: ModelConfig;
  readonly layout: ParamLayout;
  /** Deterministic initial parameters for a seed. */
  initParams(seed: number): Promise<Float32Array>;
  /** Runs H inner AdamW steps from `req.innerState` (fresh moments when absent); returns the new state. */
  train(req: TrainRequest): Promise<TrainResult>;
  /** Mean cross-entropy (nats/token) over the evaluation tokens, deterministic. */
  evaluate(params: Float32Array, tokens: Uint8Array | Uint16Array | Uint32Array, opts?: { batches?: number; batchSize?: number }): Promise<number>;
  dispose(): Promise<void> | void;
}
