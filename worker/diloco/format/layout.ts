/**
 * The layout section shared by both blob formats: tensor names, kinds, dtypes and shapes, in the
 * order the tensors sit in the flat parameter vector. Offsets are implicit (tensors are contiguous).
 */
import type { ParamLayout, TensorSpec } from "../types.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { FormatError } from "./errors.ts";

export const KIND_MATRIX = 0;
export const KIND_VECTOR = 1;
export const DTYPE_FLOAT32 = 1;
export const MAX_NAME_BYTES = 255;
export const MAX_NDIM = 8;

/** Limits a decoder enforces before allocating anything. */
export interface LayoutLimits {
  maxTensors: number;
  maxElements: number;
}

const NAME_RE = /^[\x21-\x7e]+$/;

/** Throws BAD_LAYOUT unless tensors are contiguous from offset 0, sizes match shapes and names are valid and unique. */
export function validateLayout(layout: ParamLayout): void {
  let offset = 0;
  const seen = new Set<string>();
  layout.tensors.forEach((t, i) => {
    const where = `tensor ${i} '${t.name}'`;
    if (typeof t.name !== "string" || t.name.length === 0 || t.name.length > MAX_NAME_BYTES || !NAME_RE.test(t.name)) {
      throw new FormatError("BAD_LAYOUT", `${where}: name must be 1..${MAX_NAME_BYTES} printable ASCII characters without spaces`);
    }
    if (seen.has(t.name)) throw new FormatError("BAD_LAYOUT", `${where}: duplicate name`);
    seen.add(t.name);
    if (t.kind !== "matrix" && t.kind !== "vector") throw new FormatError("BAD_LAYOUT", `${where}: kind must be "matrix" or "vector"`);
    if (t.shape.length < 1 || t.shape.length > MAX_NDIM) throw new FormatError("BAD_LAYOUT", `${where}: ndim ${t.shape.length} not in 1..${MAX_NDIM}`);
    if (t.kind === "matrix" && t.shape.length < 2) throw new FormatError("BAD_LAYOUT", `${where}: a matrix needs at least 2 dimensions`);
    let size = 1;
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 1 || d > 0xffffffff) throw new FormatError("BAD_LAYOUT", `${where}: bad dimension ${d}`);
      size *= d;
    }
    if (size !== t.size) throw new FormatError("BAD_LAYOUT", `${where}: size ${t.size} != product of shape ${size}`);
    if (t.offset !== offset) throw new FormatError("BAD_LAYOUT", `${where}: offset ${t.offset}, expected ${offset} (tensors must be contiguous, in order)`);
    offset += size;
  });
  if (offset !== layout.size) throw new FormatError("BAD_LAYOUT", `layout size ${layout.size} != sum of tensor sizes ${offset}`);
}

/** Matrix view of a tensor: rows = shape[0], cols = product of the remaining dimensions. */
export function matrixDims(t: TensorSpec): { rows: number; cols: number } {
  const rows = t.shape[0];
  return { rows, cols: t.size / rows };
}

export function writeLayout(w: ByteWriter, layout: ParamLayout): void {
  validateLayout(layout);
  w.u32(layout.tensors.length);
  const enc = new TextEncoder();
  for (const t of layout.tensors) {
    const name = enc.encode(t.name);
    w.u8(name.length);
    w.bytes(name);
    w.u8(t.kind === "matrix" ? KIND_MATRIX : KIND_VECTOR);
    w.u8(DTYPE_FLOAT32);
    w.u8(t.shape.length);
    for (const d of t.shape) w.u32(d);
  }
}

export function readLayout(r: ByteReader, limits: LayoutLimits): ParamLayout {
  const count = r.u32("layout.tensorCount");
  if (count > limits.maxTensors) {
    throw new FormatError("OVERSIZE", `layout has ${count} tensors, limit is ${limits.maxTensors}`);
  }
  const dec = new TextDecoder("ascii");
  const tensors: TensorSpec[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const nameLen = r.u8(`tensor ${i} name length`);
    if (nameLen === 0) throw new FormatError("BAD_LAYOUT", `tensor ${i}: empty name`);
    const nameBytes = r.bytesView(nameLen, `tensor ${i} name`);
    for (const b of nameBytes) {
      if (b < 0x21 || b > 0x7e) throw new FormatError("BAD_LAYOUT", `tensor ${i}: name byte 0x${b.toString(16)} is not printable ASCII`);
    }
    const name = dec.decode(nameBytes);
    const kindByte = r.u8(`tensor ${i} '${name}' kind`);
    if (kindByte !== KIND_MATRIX && kindByte !== KIND_VECTOR) {
      throw new FormatError("BAD_LAYOUT", `tensor ${i} '${name}': unknown kind ${kindByte}`);
    }
    const dtype = r.u8(`tensor ${i} '${name}' dtype`);
    if (dtype !== DTYPE_FLOAT32) throw new FormatError("BAD_LAYOUT", `tensor ${i} '${name}': unknown dtype ${dtype} (only 1 = float32)`);
    const ndim = r.u8(`tensor ${i} '${name}' ndim`);
    if (ndim < 1 || ndim > MAX_NDIM) throw new FormatError("BAD_LAYOUT", `tensor ${i} '${name}': ndim ${ndim} not in 1..${MAX_NDIM}`);
    const shape: number[] = [];
    let size = 1;
    for (let d = 0; d < ndim; d++) {
      const dim = r.u32(`tensor ${i} '${name}' dim ${d}`);
      if (dim === 0) throw new FormatError("BAD_LAYOUT", `tensor ${i} '${name}': dimension ${d} is 0`);
      shape.push(dim);
      size *= dim;
      if (size > limits.maxElements) {
        throw new FormatError("OVERSIZE", `tensor ${i} '${name}' exceeds the element limit ${limits.maxElements}`);
      }
    }
    const kind = kindByte === KIND_MATRIX ? "matrix" : "vector";
    if (kind === "matrix" && ndim < 2) throw new FormatError("BAD_LAYOUT", `tensor ${i} '${name}': a matrix needs at least 2 dimensions`);
    tensors.push({ name, shape, kind, offset, size });
    offset += size;
    if (offset > limits.maxElements) {
      throw new FormatError("OVERSIZE", `layout exceeds the element limit ${limits.maxElements} at tensor ${i} '${name}'`);
    }
  }
  const layout: ParamLayout = { tensors, size: offset };
  validateLayout(layout); // duplicate names
  return layout;
}

/** Throws LAYOUT_MISMATCH naming the first difference between a decoded layout and the expected one. */
export function assertSameLayout(actual: ParamLayout, expected: ParamLayout): void {
  if (actual.tensors.length !== expected.tensors.length) {
    throw new FormatError("LAYOUT_MISMATCH", `blob has ${actual.tensors.length} tensors, expected ${expected.tensors.length}`);
  }
  for (let i = 0; i < actual.tensors.length; i++) {
    const a = actual.tensors[i];
    const e = expected.tensors[i];
    if (a.name !== e.name) throw new FormatError("LAYOUT_MISMATCH", `tensor ${i} is '${a.name}', expected '${e.name}'`);
    if (a.kind !== e.kind) throw new FormatError("LAYOUT_MISMATCH", `tensor ${i} '${a.name}' is a ${a.kind}, expected a ${e.kind}`);
    if (a.shape.length !== e.shape.length || a.shape.some((d, j) => d !== e.shape[j])) {
      throw new FormatError("LAYOUT_MISMATCH", `tensor ${i} '${a.name}' has shape [${a.shape}], expected [${e.shape}]`);
    }
  }
}

export function sameLayout(a: ParamLayout, b: ParamLayout): boolean {
  try {
    assertSameLayout(a, b);
    return true;
  } catch {
    return false;
  }
}
