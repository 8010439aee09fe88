/**
 * `Trainer` backed by PyTorch in a Python subprocess (torch/trainer.py): CUDA on GPU providers, CPU
 * (Debian's python3-torch) elsewhere. It talks over stdin/stdout in frames (u32 LE header length,
 * JSON header, raw buffers; see trainer.py).
 *
 * What stays on this side, so that both backends train the same thing: the initial parameters
 * (model/init.ts), the batch window offsets of every step (data/batches.ts keyed by seed, round,
 * worker, step), and the per-step AdamW scalars (learning-rate schedule and bias corrections,
 * trainer/adamw.ts). Python gets those numbers and only runs the network and the update.
 *
 * Determinism: bits repeat only within a determinism class (torch version, device model, BLAS/cuDNN,
 * thread count, deterministic algorithms); `info.determinismClass` names it (see docs/training.md).
 */
import type { Hex } from "viem";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { InnerOptimizerConfig, ModelConfig, ParamLayout, TrainRequest, TrainResult, Trainer } from "../types.ts";
import { validateModelConfig } from "../model/config.ts";
import { buildLayout, checkParams } from "../model/layout.ts";
import { initParams } from "../model/init.ts";
import { ropeTables } from "../model/llama.ts";
import { evalOffsets, randomOffsets } from "../data/batches.ts";
import { rngFor } from "../rng.ts";
import { validateInnerOpt } from "./options.ts";
import { learningRateAt } from "./schedule.ts";
import { stepScalars } from "./adamw.ts";

const SCRIPT = fileURLToPath(new URL("./torch/trainer.py", import.meta.url));

export interface TorchInfo {
  torch: string;
  device: "cpu" | "cuda";
  deviceName: string;
  memoryBytes: number | null;
  threads: number;
  /** Everything that decides the output bits, e.g. "pytorch-1.13.1/cpu-avx2/openblas-0.3.21-haswell/t1". */
  determinismClass: string;
}

export interface TorchTrainerOptions {
  /** Python with torch and numpy (default: $DILOCO_PYTHON, then Debian's /usr/bin/python3, then python3 on PATH). */
  python?: string;
  device?: "cpu" | "cuda" | "auto";
  /** Intra-op threads (CPU); 1 gives bit-repeatable results. */
  threads?: number;
}

/** The Python interpreter the PyTorch backend uses. */
export function defaultPython(): string {
  if (process.env.DILOCO_PYTHON) return process.env.DILOCO_PYTHON;
  if (existsSync("/usr/bin/python3")) return "/usr/bin/python3";
  return "python3";
}

interface Frame {
  header: Record<string, unknown>;
  bufs: Map<string, Buffer>;
}

type Buf = { name: string; data: ArrayBufferView };

function bytesOf(v: ArrayBufferView): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Framed request/reply channel over a child's stdin/stdout (one request at a time). */
class FramedPipe {
  #chunks: Buffer[] = [];
  #have = 0;
  /** The frame being received, once its header arrived. */
  #next: { header: Record<string, unknown>; hl: number; list: { name: string; bytes: number }[]; total: number } | null = null;
  #waiters: ((f: Frame | Error) => void)[] = [];
  #closed: Error | null = null;
  readonly #child: ChildProcessWithoutNullStreams;
  #stderr = "";
  #queue: Promise<unknown> = Promise.resolve();

  constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    child.stdout.on("data", (d: Buffer) => {
      this.#chunks.push(d);
      this.#have += d.length;
      this.#drain();
    });
    child.stderr.on("data", (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-4000);
    });
    const close = (why: string): void => {
      this.#closed ??= new Error(`PyTorch trainer process ${why}${this.#stderr ? `: ${this.#stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`);
      for (const w of this.#waiters.splice(0)) w(this.#closed);
    };
    child.on("exit", (code, sig) => close(`exited (${sig ?? code})`));
    child.on("error", (err) => close(`could not start (${err.message})`));
    child.stdin.on("error", () => undefined);
  }

  #take(n: number): Buffer {
    const all = Buffer.concat(this.#chunks, this.#have);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length ? [rest] : [];
    this.#have = rest.length;
    return out;
  }

  /** The first `n` buffered bytes (n ≤ #have), joining only the chunks that hold them. */
  #peek(n: number): Buffer {
    if (this.#chunks[0].length >= n) return this.#chunks[0].subarray(0, n);
    let k = 0;
    for (let got = 0; got < n; k++) got += this.#chunks[k].length;
    const head = Buffer.concat(this.#chunks.slice(0, k));
    this.#chunks.splice(0, k, head);
    return head.subarray(0, n);
  }

  /**
   * Delivers every complete frame. A frame's header is parsed once and its bytes are joined once,
   * when the last of them arrived: joining all buffered chunks on every arrival would copy a large
   * reply (hundreds of MB of parameters and optimizer state, in 64 KiB pipe reads) quadratically.
   */
  #drain(): void {
    while (this.#waiters.length > 0) {
      if (!this.#next) {
        if (this.#have < 4) return;
        const hl = this.#peek(4).readUInt32LE(0);
        if (this.#have < 4 + hl) return;
        const header = JSON.parse(this.#peek(4 + hl).subarray(4).toString("utf8")) as Record<string, unknown>;
        const list = (header.buffers as { name: string; bytes: number }[] | undefined) ?? [];
        this.#next = { header, hl, list, total: 4 + hl + list.reduce((a, b) => a + b.bytes, 0) };
      }
      const { header, hl, list, total } = this.#next;
      if (this.#have < total) return;
      this.#next = null;
      const frame = this.#take(total);
      const bufs = new Map<string, Buffer>();
      let o = 4 + hl;
      for (const b of list) {
        bufs.set(b.name, Buffer.from(frame.subarray(o, o + b.bytes)));
        o += b.bytes;
      }
      this.#waiters.shift()!({ header, bufs });
    }
  }

  request(header: Record<string, unknown>, bufs: Buf[] = []): Promise<Frame> {
    const run = async (): Promise<Frame> => {
      if (this.#closed) throw this.#closed;
      const h = Buffer.from(JSON.stringify({ ...header, buffers: bufs.map((b) => ({ name: b.name, bytes: b.data.byteLength })) }), "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32LE(h.length, 0);
      const reply = new Promise<Frame>((resolve, reject) => this.#waiters.push((f) => (f instanceof Error ? reject(f) : resolve(f))));
      this.#child.stdin.write(len);
      this.#child.stdin.write(h);
      for (const b of bufs) this.#child.stdin.write(bytesOf(b.data));
      const f = await reply;
      if (f.header.ok !== true) throw new Error(`PyTorch trainer: ${String(f.header.error)}`);
      return f;
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }
}

function f32(b: Buffer | undefined, what: string): Float32Array {
  if (!b || b.length % 4 !== 0) throw new Error(`PyTorch trainer: reply lacks ${what}`);
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

function tokenDtype(t: Uint8Array | Uint16Array | Uint32Array): "uint8" | "uint16" | "uint32" {
  return t instanceof Uint8Array ? "uint8" : t instanceof Uint16Array ? "uint16" : "uint32";
}

export class TorchTrainer implements Trainer {
  readonly config: ModelConfig;
  readonly opt: InnerOptimizerConfig;
  readonly layout: ParamLayout;
  readonly info: TorchInfo;
  /** Per-step gradient norms (before clipping) and learning rates of the last `train` call. */
  lastStats: { gradNorms: number[]; learningRates: number[]; cpuSeconds?: number; wallSeconds?: number } = { gradNorms: [], learningRates: [] };
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pipe: FramedPipe;
  #disposed = false;

  private constructor(config: ModelConfig, opt: InnerOptimizerConfig, child: ChildProcessWithoutNullStreams, pipe: FramedPipe, info: TorchInfo) {
    this.config = config;
    this.opt = opt;
    this.layout = buildLayout(config);
    this.#child = child;
    this.#pipe = pipe;
    this.info = info;
  }

  /** Starts the Python process and loads the model definition into it. */
  static async start(config: ModelConfig, opt: InnerOptimizerConfig, options: TorchTrainerOptions = {}): Promise<TorchTrainer> {
    const cfg = Object.freeze({ ...validateModelConfig(config) });
    const o = Object.freeze({ ...validateInnerOpt(opt) });
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
    const python = options.python ?? defaultPython();
    const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), CUBLAS_WORKSPACE_CONFIG: ":4096:8", PYTHONUNBUFFERED: "1" };
    const child = spawn(python, [SCRIPT], { stdio: ["pipe", "pipe", "pipe"], env });
    const pipe = new FramedPipe(child);
    const layout = buildLayout(cfg);
    const bufs: Buf[] = [];
    if (cfg.family === "llama") {
      const rope = ropeTables(cfg.contextLength, cfg.dModel / cfg.nHeads);
      bufs.push({ name: "cos", data: rope.cos }, { name: "sin", data: rope.sin });
    }
    let reply: Frame;
    try {
      reply = await pipe.request({ cmd: "init", config: cfg, opt: o, layout: layout.tensors, device: options.device ?? "cpu", threads }, bufs);
    } catch (err) {
      child.kill();
      throw new Error(`cannot start the PyTorch backend with ${python} (needs torch and numpy; Debian: apt-get install python3-torch libopenblas0-pthread): ${(err as Error).message}`);
    }
    const h = reply.header;
    const info: TorchInfo = { torch: String(h.torch), device: h.device as "cpu" | "cuda", deviceName: String(h.deviceName), memoryBytes: (h.memoryBytes as number | null) ?? null, threads: Number(h.threads), determinismClass: String(h.determinismClass) };
    return new TorchTrainer(cfg, o, child, pipe, info);
  }

  #alive(): void {
    if (this.#disposed) throw new Error("trainer was disposed");
  }

  async initParams(seed: number): Promise<Float32Array> {
    return initParams(this.config, seed);
  }

  async train(req: TrainRequest): Promise<TrainResult> {
    this.#alive();
    checkParams(this.layout, req.params, "TrainRequest.params");
    for (const f of ["steps", "batchSize"] as const) if (!Number.isInteger(req[f]) || req[f] < 1) throw new Error(`TrainRequest.${f} must be a positive integer, got ${String(req[f])}`);
    const first = req.firstStep ?? 0;
    if (!Number.isSafeInteger(first) || first < 0) throw new Error(`TrainRequest.firstStep must be a non-negative integer, got ${String(req.firstStep)}`);
    for (const f of ["round", "workerIndex", "stepOffset"] as const) if (!Number.isSafeInteger(req[f]) || req[f] < 0) throw new Error(`TrainRequest.${f} must be a non-negative integer, got ${String(req[f])}`);
    const T = this.config.contextLength;
    const tokens = req.shard.tokens;
    if (tokens.length < T + 1) throw new Error(`TrainRequest.shard has ${tokens.length} tokens, needs at least contextLength + 1 = ${T + 1}`);
    const t0 = performance.now();
    const inner = req.innerState;
    if (inner) {
      checkParams(this.layout, inner.m, "TrainRequest.innerState.m");
      checkParams(this.layout, inner.v, "TrainRequest.innerState.v");
    }
    const tAdam = inner ? inner.t : 0;
    const offsets = new Int32Array(req.steps * req.batchSize);
    const scalars: [number, number, number][] = [];
    const lrs: number[] = [];
    for (let s = 0; s < req.steps; s++) {
      const rng = rngFor("batch", req.seed, req.round, req.workerIndex, first + s);
      offsets.set(randomOffsets(rng, tokens.length, req.batchSize, T), s * req.batchSize);
      const lr = learningRateAt(this.opt, req.stepOffset + first + s);
      const sc = stepScalars(this.opt, lr, tAdam + s + 1);
      scalars.push([Math.fround(sc.lr), Math.fround(sc.stepSize), Math.fround(sc.sqrtBc2)]);
      lrs.push(lr);
    }
    const bufs: Buf[] = [{ name: "params", data: req.params }, { name: "tokens", data: tokens }, { name: "offsets", data: offsets }];
    if (inner) bufs.push({ name: "m", data: inner.m }, { name: "v", data: inner.v });
    const reply = await this.#pipe.request({ cmd: "train", steps: req.steps, batchSize: req.batchSize, T, dtype: tokenDtype(tokens), scalars, digests: req.traceDigests === true }, bufs);
    const losses = reply.header.losses as number[];
    // the subprocess answers once per call: progress is reported when the losses arrive
    if (req.onStep) losses.forEach((l, i) => req.onStep!(i + 1, l));
    this.lastStats = { gradNorms: reply.header.gradNorms as number[], learningRates: lrs, cpuSeconds: reply.header.cpuSeconds as number, wallSeconds: reply.header.wallSeconds as number };
    const params = f32(reply.bufs.get("params"), "params");
    checkParams(this.layout, params, "PyTorch trainer params");
    return {
      params,
      losses,
      tokensProcessed: req.steps * req.batchSize * T,
      seconds: (performance.now() - t0) / 1000,
      innerState: { m: f32(reply.bufs.get("m"), "m"), v: f32(reply.bufs.get("v"), "v"), t: tAdam + req.steps },
      ...(req.traceDigests ? { stateDigests: (reply.header.digests as [string, string, string][]).map(([p, m, v]) => ({ params: `0x${p}` as Hex, m: `0x${m}` as Hex, v: `0x${v}` as Hex })) } : {}),
    };
  }

  async evaluate(params: Float32Array, tokens: Uint8Array | Uint16Array | Uint32Array, opts: { batches?: number; batchSize?: number } = {}): Promise<number> {
    this.#alive();
    checkParams(this.layout, params);
    const batches = opts.batches ?? 8;
    const batchSize = opts.batchSize ?? 32;
    const T = this.config.contextLength;
    const offs = evalOffsets(tokens.length, batches * batchSize, T);
    const full = Math.floor(offs.length / batchSize);
    if (full < 1) throw new Error(`evaluate: ${tokens.length} tokens give fewer than one batch of ${batchSize} windows`);
    const offsets = Int32Array.from(offs.slice(0, full * batchSize));
    const reply = await this.#pipe.request({ cmd: "eval", batchSize, T, dtype: tokenDtype(tokens) }, [{ name: "params", data: params }, { name: "tokens", data: tokens }, { name: "offsets", data: offsets }]);
    return reply.header.loss as number;
  }

  /** Logits [B·T, V] of token ids x (int32, row-major [B, T]). */
  async logits(params: Float32Array, x: Int32Array, B: number, T: number): Promise<Float32Array> {
    this.#alive();
    const reply = await this.#pipe.request({ cmd: "logits", B, T }, [{ name: "params", data: params }, { name: "x", data: x }]);
    return f32(reply.bufs.get("logits"), "logits");
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      await Promise.race([this.#pipe.request({ cmd: "shutdown" }), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      // already gone
    }
    if (this.#child.exitCode === null) this.#child.kill();
  }
}
