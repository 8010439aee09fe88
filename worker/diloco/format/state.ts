/**
 * Format (a): parameters / global state / error-feedback residual ("DLXS", version 1).
 * See worker/diloco/README.md, "Round math and formats", for the byte layout.
 */
import type { ParamLayout } from "../types.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { FormatError } from "./errors.ts";
import { assertSameLayout, readLayout, validateLayout, writeLayout, type LayoutLimits } from "./layout.ts";

export const STATE_MAGIC = new Uint8Array([0x44, 0x4c, 0x58, 0x53]); // "DLXS"
export const STATE_VERSION = 1;

/** global = params + outer momentum (what the chain's model hash names); params = bare weights; residual = a worker's error-feedback buffer. */
export type StateKind = "global" | "params" | "residual";
const KIND_CODES: Record<StateKind, number> = { global: 1, params: 2, residual: 3 };

export interface StateBlob {
  kind: StateKind;
  /** global: number of outer steps applied so far; params: same convention or 0; residual: the round it enters. */
  step: number;
  layout: ParamLayout;
  /** params (global, params) or the residual (residual). */
  values: Float32Array;
  /** Outer Nesterov momentum buffer; present exactly when kind = "global". */
  momentum?: Float32Array;
}

export interface DecodeLimits extends LayoutLimits {
  maxBytes: number;
}

export const DEFAULT_LIMITS: DecodeLimits = {
  maxBytes: 512 * 1024 * 1024,
  maxTensors: 4096,
  maxElements: 64 * 1024 * 1024,
};

export interface DecodeStateOptions {
  /** When given, the blob's layout must equal it (names, kinds, shapes, order). */
  expectedLayout?: ParamLayout;
  /** When given, the blob's kind must be this one. */
  expectedKind?: StateKind;
  limits?: Partial<DecodeLimits>;
}

function checkFinite(values: Float32Array, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new FormatError("NON_FINITE", `${what}[${i}] is ${values[i]}`);
  }
}

export function encodeState(state: StateBlob): Uint8Array {
  validateLayout(state.layout);
  const n = state.layout.size;
  if (state.values.length !== n) throw new FormatError("LAYOUT_MISMATCH", `values have ${state.values.length} elements, layout has ${n}`);
  if ((state.kind === "global") !== (state.momentum !== undefined)) {
    throw new FormatError("BAD_FIELD", `momentum must be present exactly for kind "global" (kind is "${state.kind}")`);
  }
  if (state.momentum && state.momentum.length !== n) {
    throw new FormatError("LAYOUT_MISMATCH", `momentum has ${state.momentum.length} elements, layout has ${n}`);
  }
  if (!Number.isInteger(state.step) || state.step < 0 || state.step > 0xffffffff) throw new FormatError("BAD_FIELD", `step ${state.step} not a u32`);
  checkFinite(state.values, "values");
  if (state.momentum) checkFinite(state.momentum, "momentum");
  const w = new ByteWriter(64 + n * 4 * (state.momentum ? 2 : 1) + state.layout.tensors.length * 48);
  w.bytes(STATE_MAGIC);
  w.u16(STATE_VERSION);
  w.u8(KIND_CODES[state.kind]);
  w.u8(0);
  w.u32(state.step);
  writeLayout(w, state.layout);
  w.f32s(state.values);
  if (state.momentum) w.f32s(state.momentum);
  return w.finish();
}

export function decodeState(bytes: Uint8Array, opts: DecodeStateOptions = {}): StateBlob {
  const limits: DecodeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  if (bytes.length > limits.maxBytes) throw new FormatError("OVERSIZE", `state blob is ${bytes.length} bytes, limit is ${limits.maxBytes}`);
  const r = new ByteReader(bytes);
  const magic = r.bytesView(4, "magic");
  if (magic.some((b, i) => b !== STATE_MAGIC[i])) {
    throw new FormatError("BAD_MAGIC", `expected "DLXS" (44 4c 58 53), got ${[...magic].map((b) => b.toString(16).padStart(2, "0")).join(" ")}`);
  }
  const version = r.u16("version");
  if (version !== STATE_VERSION) throw new FormatError("UNKNOWN_VERSION", `state version ${version}, this decoder knows ${STATE_VERSION}`);
  const kindCode = r.u8("kind");
  const kind = (Object.keys(KIND_CODES) as StateKind[]).find((k) => KIND_CODES[k] === kindCode);
  if (!kind) throw new FormatError("BAD_FIELD", `unknown state kind ${kindCode}`);
  if (opts.expectedKind && kind !== opts.expectedKind) throw new FormatError("BAD_FIELD", `state kind is "${kind}", expected "${opts.expectedKind}"`);
  const reserved = r.u8("reserved");
  if (reserved !== 0) throw new FormatError("NON_CANONICAL", `reserved byte is ${reserved}, must be 0`);
  const step = r.u32("step");
  const layout = readLayout(r, limits);
  if (opts.expectedLayout) assertSameLayout(layout, opts.expectedLayout);
  const n = layout.size;
  const expectedPayload = n * 4 * (kind === "global" ? 2 : 1);
  if (r.remaining < expectedPayload) {
    throw new FormatError("TRUNCATED", `payload needs ${expectedPayload} bytes for ${n} float32 value(s)${kind === "global" ? " ×2" : ""}, only ${r.remaining} left`);
  }
  if (r.remaining > expectedPayload) {
    throw new FormatError("TRAILING_BYTES", `${r.remaining - expectedPayload} unexpected byte(s) after the payload`);
  }
  const values = r.finiteF32s(n, kind === "residual" ? "residual" : "params");
  const momentum = kind === "global" ? r.finiteF32s(n, "momentum") : undefined;
  r.end("state blob");
  return momentum ? { kind, step, layout, values, momentum } : { kind, step, layout, values };
}
