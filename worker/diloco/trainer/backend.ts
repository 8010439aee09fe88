/**
 * Process-wide start of jax-js's WebAssembly backend, with the floating-point mode that decides
 * which bits training produces.
 *
 * jax-js 0.1.25 uses the relaxed-SIMD instruction `f32x4.relaxed_madd` in matmul kernels whenever the
 * engine offers it. Its rounding is hardware-dependent by specification: V8 emits a fused multiply-add
 * on CPUs with FMA and a separate multiply and add elsewhere (e.g. VMs that hide FMA), so two honest
 * machines could disagree on the bits of a round and a replay audit would fail. "strict" mode (the
 * default) hides the feature from jax-js, which then emits plain `f32x4.mul` + `f32x4.add`: bit-identical
 * on every machine, measured ~15 % slower matmuls. "relaxed" keeps the fused form (only machines of
 * the same FMA capability agree).
 */
import { init, defaultDevice } from "@jax-js/jax";

export type FloatMode = "strict" | "relaxed";

/** The probe module jax-js validates to detect relaxed SIMD (a function using f32x4.relaxed_madd). */
const RELAXED_MADD_PROBE = "0061736d0100000001080160037b7b7b017b030201000a0d010b00200020012002fd85020b";

let started: { mode: FloatMode; ready: Promise<void> } | null = null;

function hideRelaxedSimd(): void {
  const original = WebAssembly.validate.bind(WebAssembly);
  const probe = Uint8Array.from(Buffer.from(RELAXED_MADD_PROBE, "hex"));
  const isProbe = (bytes: BufferSource): boolean => {
    const u = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
    return u.length === probe.length && u.every((b, i) => b === probe[i]);
  };
  WebAssembly.validate = ((bytes: BufferSource, options?: unknown) =>
    isProbe(bytes) ? false : (original as (b: BufferSource, o?: unknown) => boolean)(bytes, options)) as typeof WebAssembly.validate;
}

/**
 * Starts the backend once per process. The first call fixes the float mode; a later call asking for
 * another mode throws (kernels already compiled cannot change).
 */
export function initBackend(mode: FloatMode = "strict"): Promise<void> {
  if (started) {
    if (started.mode !== mode) throw new Error(`jax-js backend already started in "${started.mode}" float mode; cannot switch to "${mode}" in this process`);
    return started.ready;
  }
  const [major] = process.versions.node.split(".").map(Number);
  if (major < 22) throw new Error(`the jax-js trainer needs Node ≥ 22 (running ${process.versions.node})`);
  if (mode === "strict") hideRelaxedSimd();
  const ready = init("wasm").then((devices) => {
    if (!devices.includes("wasm")) throw new Error(`jax-js could not start its wasm backend (got ${devices.join(", ") || "none"})`);
    defaultDevice("wasm");
  });
  started = { mode, ready };
  return ready;
}

/** The float mode the backend was started in, or null if it has not been started. */
export function backendFloatMode(): FloatMode | null {
  return started?.mode ?? null;
}
