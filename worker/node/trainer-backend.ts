/**
 * Which trainer backend this worker runs, what it can hold, and whether it can meet a job's
 * determinism class (DESIGN.md §3 "Replay audit"; docs/training.md "Determinism classes").
 */
import { totalmem } from "node:os";
import { createTrainer } from "../diloco/trainer/index.ts";
import { TorchTrainer } from "../diloco/trainer/torch-trainer.ts";
import { TINY_MODEL } from "../diloco/model/config.ts";
import { DEFAULT_INNER_OPT } from "../diloco/trainer/options.ts";
import { paramCount } from "../diloco/model/layout.ts";
import type { Trainer } from "../diloco/types.ts";
import { trainerOf, type JobSpec } from "../spec/job-spec.ts";

export interface BackendChoice {
  backend: "jax-js" | "pytorch";
  /** PyTorch only. */
  device?: "cpu" | "cuda" | "auto";
  threads?: number;
  python?: string;
}

export interface Capabilities {
  backend: "jax-js" | "pytorch";
  determinismClass: string;
  device: string;
  deviceName: string;
  /** Memory the trainer can use (GPU memory on CUDA, RAM otherwise). */
  memoryBytes: number;
  torch?: string;
}

export const JAX_BACKEND: BackendChoice = { backend: "jax-js" };

const probes = new Map<string, Promise<Capabilities>>();

/** Starts the backend once (a tiny model) and reports what it is. Cached per choice. */
export function probeCapabilities(choice: BackendChoice): Promise<Capabilities> {
  const key = JSON.stringify(choice);
  let p = probes.get(key);
  if (!p) {
    p = (async (): Promise<Capabilities> => {
      if (choice.backend === "jax-js") return { backend: "jax-js", determinismClass: "strict", device: "cpu", deviceName: "wasm", memoryBytes: totalmem() };
      const t = await TorchTrainer.start(TINY_MODEL, { ...DEFAULT_INNER_OPT, totalSteps: 1, warmupSteps: 0 }, { device: choice.device, threads: choice.threads, python: choice.python });
      await t.dispose();
      return { backend: "pytorch", determinismClass: t.info.determinismClass, device: t.info.device, deviceName: t.info.deviceName, memoryBytes: t.info.memoryBytes ?? totalmem(), torch: t.info.torch };
    })();
    probes.set(key, p);
  }
  return p;
}

/**
 * Bytes a float32 training step needs, roughly: params, grads and two moments (16 bytes per parameter)
 * plus activations kept for the backward pass (per token: per layer ~8·d + 2·dMlp values and the
 * attention scores and weights, nHeads·T each; the logits and their softmax, 2·V), doubled for gradients.
 */
export function trainingBytes(spec: JobSpec): number {
  const m = spec.model;
  const n = paramCount(m);
  const tokens = spec.training.batchSize * m.contextLength;
  const activations = tokens * (m.nLayers * (8 * m.dModel + 2 * m.dMlp + 2 * m.nHeads * m.contextLength) + 2 * m.vocabSize) * 4 * 2;
  return 16 * n + activations;
}

/** Why this worker cannot take the job, or undefined when it can. */
export function declineReason(spec: JobSpec, caps: Capabilities): string | undefined {
  const want = trainerOf(spec);
  if (want.backend !== caps.backend || want.determinism !== caps.determinismClass) {
    return `determinism class mismatch: the job pins ${want.backend} "${want.determinism}", this worker runs ${caps.backend} "${caps.determinismClass}"`;
  }
  const need = trainingBytes(spec);
  if (need > caps.memoryBytes * 0.8) return `the model needs about ${(need / 2 ** 30).toFixed(1)} GiB to train, this worker's ${caps.device} has ${(caps.memoryBytes / 2 ** 30).toFixed(1)} GiB`;
  return undefined;
}

/**
 * The trainer for a job on this worker's backend. `crossClass` (auditors only): use the auditor's own
 * backend even when the job pins another class (its results are then checked within tolerance).
 */
export async function createJobTrainer(spec: JobSpec, choice: BackendChoice, crossClass = false): Promise<Trainer> {
  if (crossClass) {
    if (choice.backend === "jax-js") return createTrainer(spec.model, spec.training.innerOptimizer);
    return TorchTrainer.start(spec.model, spec.training.innerOptimizer, { device: choice.device, threads: choice.threads, python: choice.python });
  }
  const want = trainerOf(spec);
  if (want.backend === "jax-js") return createTrainer(spec.model, spec.training.innerOptimizer, { floatMode: want.determinism === "relaxed" ? "relaxed" : "strict" });
  if (choice.backend !== "pytorch") throw new Error(`job pins the pytorch backend; this process runs ${choice.backend} (start the worker with --trainer pytorch)`);
  return TorchTrainer.start(spec.model, spec.training.innerOptimizer, { device: choice.device, threads: choice.threads, python: choice.python });
}

/** Provider metadata (registered on chain as a data: URI): what this worker can run. */
export function capabilitiesMetadata(caps: Capabilities, maxParams: number, label = ""): string {
  const body = { kind: "diloco-market/provider", version: 1, label, backend: caps.backend, determinismClass: caps.determinismClass, device: caps.device, deviceName: caps.deviceName, memoryBytes: caps.memoryBytes, maxParams };
  return `data:application/json,${encodeURIComponent(JSON.stringify(body))}`;
}
