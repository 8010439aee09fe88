/**
 * Format (b): compressed pseudo-gradient ("DLXU", version 1).
 * See worker/diloco/README.md, "Round math and formats", for the byte layout and canonical rules.
 */
import { MAX_BITS, MIN_BITS, MIN_SCALE, blockCount, packCodes, packedCodeBytes, unpackCodes } from "../compress/quantize.ts";
import type { CompressedTensor, CompressedUpdate, QuantBlocks } from "../compress/types.ts";
import type { ParamLayout, TensorSpec } from "../types.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { FormatError } from "./errors.ts";
import { assertSameLayout, matrixDims, readLayout, validateLayout, writeLayout } from "./layout.ts";
import { DEFAULT_LIMITS, type DecodeLimits } from "./state.ts";

export const UPDATE_MAGIC = new Uint8Array([0x44, 0x4c, 0x58, 0x55]); // "DLXU"
export const UPDATE_VERSION = 1;
export const MODE_RAW = 0;
export const MODE_QUANT = 1;
export const MODE_LOWRANK = 2;
export const RAW_BITS = 32;
export const MAX_BLOCK_SIZE = 65536;

export interface UpdateLimits extends DecodeLimits {
  /** Largest rank accepted for any matrix (also bounded by min(rows, cols)). */
  maxRank: number;
}

export interface DecodeUpdateOptions {
  expectedLayout?: ParamLayout;
  expectedBlockSize?: number;
  limits?: Partial<UpdateLimits>;
}

export const DEFAULT_UPDATE_LIMITS: UpdateLimits = { ...DEFAULT_LIMITS, maxRank: 1024 };

function writeQuant(w: ByteWriter, q: QuantBlocks): void {
  w.f32s(q.scales);
  w.bytes(packCodes(q.codes, q.bits));
}

function checkQuantForEncode(q: QuantBlocks, count: number, bits: number, blockSize: number, where: string): void {
  if (q.count !== count || q.codes.length !== count) throw new FormatError("LAYOUT_MISMATCH", `${where}: ${q.codes.length} codes, expected ${count}`);
  if (q.bits !== bits) throw new FormatError("BAD_FIELD", `${where}: bits ${q.bits} differ from the tensor's ${bits}`);
  if (q.scales.length !== blockCount(count, blockSize)) throw new FormatError("BAD_FIELD", `${where}: ${q.scales.length} scales, expected ${blockCount(count, blockSize)}`);
  validateQuant(q, blockSize, where);
}

/** Canonical-form rules for block-quantised data (shared by encoder and decoder). */
function validateQuant(q: QuantBlocks, blockSize: number, where: string): void {
  const maxCode = (1 << q.bits) - 1;
  for (let b = 0; b < q.scales.length; b++) {
    const s = q.scales[b];
    if (!Number.isFinite(s)) throw new FormatError("NON_FINITE", `${where}: scale ${b} is ${s}`);
    if (s < 0 || Object.is(s, -0)) throw new FormatError("NON_CANONICAL", `${where}: scale ${b} is negative (${s})`);
    if (s !== 0 && s < MIN_SCALE) throw new FormatError("NON_CANONICAL", `${where}: scale ${b} (${s}) is subnormal; such blocks must have scale 0`);
    const start = b * blockSize;
    const end = Math.min(q.count, start + blockSize);
    let extreme = false;
    for (let i = start; i < end; i++) {
      const c = q.codes[i];
      if (c > maxCode) throw new FormatError("BAD_FIELD", `${where}: code ${i} is ${c}, above ${maxCode}`);
      if (s === 0 && c !== 0) throw new FormatError("NON_CANONICAL", `${where}: block ${b} has scale 0 but non-zero code at ${i}`);
      if (c === 0 || c === maxCode) extreme = true;
    }
    if (s !== 0 && !extreme) throw new FormatError("NON_CANONICAL", `${where}: block ${b} has no code at 0 or ${maxCode}, so its scale is not the block maximum`);
  }
}

export function encodeUpdate(update: CompressedUpdate): Uint8Array {
  const { layout, blockSize, tensors } = update;
  validateLayout(layout);
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) throw new FormatError("BAD_FIELD", `blockSize ${blockSize} not in 1..${MAX_BLOCK_SIZE}`);
  if (tensors.length !== layout.tensors.length) throw new FormatError("LAYOUT_MISMATCH", `${tensors.length} compressed tensors for ${layout.tensors.length} layout tensors`);
  const w = new ByteWriter(1024 + layout.tensors.length * 64);
  w.bytes(UPDATE_MAGIC);
  w.u16(UPDATE_VERSION);
  w.u16(0);
  w.u32(blockSize);
  writeLayout(w, layout);
  layout.tensors.forEach((t, i) => {
    const ct = tensors[i];
    const where = `tensor ${i} '${t.name}'`;
    switch (ct.mode) {
      case "raw": {
        if (ct.values.length !== t.size) throw new FormatError("LAYOUT_MISMATCH", `${where}: ${ct.values.length} values, expected ${t.size}`);
        for (let j = 0; j < ct.values.length; j++) if (!Number.isFinite(ct.values[j])) throw new FormatError("NON_FINITE", `${where}: value ${j} is ${ct.values[j]}`);
        w.u8(MODE_RAW);
        w.u8(RAW_BITS);
        w.u16(0);
        w.f32s(ct.values);
        return;
      }
      case "quant": {
        checkBits(ct.q.bits, where);
        checkQuantForEncode(ct.q, t.size, ct.q.bits, blockSize, where);
        w.u8(MODE_QUANT);
        w.u8(ct.q.bits);
        w.u16(0);
        writeQuant(w, ct.q);
        return;
      }
      case "lowrank": {
        if (t.kind !== "matrix") throw new FormatError("BAD_FIELD", `${where}: low-rank mode on a vector tensor`);
        const { rows, cols } = matrixDims(t);
        if (ct.rows !== rows || ct.cols !== cols) throw new FormatError("LAYOUT_MISMATCH", `${where}: factors for ${ct.rows}×${ct.cols}, tensor is ${rows}×${cols}`);
        checkBits(ct.u.bits, where);
        checkRank(ct.rank, rows, cols, 0xffff, where);
        checkQuantForEncode(ct.u, ct.rank * rows, ct.u.bits, blockSize, `${where} u`);
        checkQuantForEncode(ct.w, ct.rank * cols, ct.u.bits, blockSize, `${where} w`);
        w.u8(MODE_LOWRANK);
        w.u8(ct.u.bits);
        w.u16(ct.rank);
        writeQuant(w, ct.u);
        writeQuant(w, ct.w);
        return;
      }
    }
  });
  return w.finish();
}

function checkBits(bits: number, where: string): void {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new FormatError("BITS_OUT_OF_RANGE", `${where}: bits ${bits} not in ${MIN_BITS}..${MAX_BITS}`);
  }
}

function checkRank(rank: number, rows: number, cols: number, maxRank: number, where: string): void {
  const cap = Math.min(rows, cols, maxRank);
  if (!Number.isInteger(rank) || rank < 1 || rank > cap) {
    throw new FormatError("RANK_OUT_OF_RANGE", `${where}: rank ${rank} not in 1..${cap} (min(rows ${rows}, cols ${cols}, limit ${maxRank}))`);
  }
}

function readQuant(r: ByteReader, count: number, bits: number, blockSize: number, where: string): QuantBlocks {
  const nBlocks = blockCount(count, blockSize);
  const nCodeBytes = packedCodeBytes(count, bits);
  if (r.remaining < nBlocks * 4 + nCodeBytes) {
    throw new FormatError("TRUNCATED", `${where}: needs ${nBlocks * 4 + nCodeBytes} bytes (${nBlocks} scales, ${count} ${bits}-bit codes), only ${r.remaining} left`);
  }
  const scales = r.finiteF32s(nBlocks, `${where} scales`);
  const packed = r.bytesView(nCodeBytes, `${where} codes`);
  const codes = unpackCodes(packed, count, bits);
  if (!codes) throw new FormatError("NON_CANONICAL", `${where}: padding bits after the last code are not zero`);
  const q: QuantBlocks = { bits, count, scales, codes };
  validateQuant(q, blockSize, where);
  return q;
}

function readTensor(r: ByteReader, t: TensorSpec, i: number, blockSize: number, limits: UpdateLimits): CompressedTensor {
  const where = `tensor ${i} '${t.name}'`;
  const mode = r.u8(`${where} mode`);
  const bits = r.u8(`${where} bits`);
  const rank = r.u16(`${where} rank`);
  switch (mode) {
    case MODE_RAW: {
      if (bits !== RAW_BITS) throw new FormatError("BITS_OUT_OF_RANGE", `${where}: raw mode needs bits = 32, got ${bits}`);
      if (rank !== 0) throw new FormatError("RANK_OUT_OF_RANGE", `${where}: raw mode needs rank 0, got ${rank}`);
      if (r.remaining < t.size * 4) throw new FormatError("TRUNCATED", `${where}: needs ${t.size * 4} bytes of float32, only ${r.remaining} left`);
      return { mode: "raw", values: r.finiteF32s(t.size, `${where} values`) };
    }
    case MODE_QUANT: {
      checkBits(bits, where);
      if (rank !== 0) throw new FormatError("RANK_OUT_OF_RANGE", `${where}: quantised mode needs rank 0, got ${rank}`);
      return { mode: "quant", q: readQuant(r, t.size, bits, blockSize, where) };
    }
    case MODE_LOWRANK: {
      if (t.kind !== "matrix") throw new FormatError("BAD_FIELD", `${where}: low-rank mode on a vector tensor`);
      checkBits(bits, where);
      const { rows, cols } = matrixDims(t);
      checkRank(rank, rows, cols, limits.maxRank, where);
      const u = readQuant(r, rank * rows, bits, blockSize, `${where} u`);
      const w = readQuant(r, rank * cols, bits, blockSize, `${where} w`);
      return { mode: "lowrank", rank, rows, cols, u, w };
    }
    default:
      throw new FormatError("BAD_FIELD", `${where}: unknown mode ${mode}`);
  }
}

export function decodeUpdate(bytes: Uint8Array, opts: DecodeUpdateOptions = {}): CompressedUpdate {
  const limits: UpdateLimits = { ...DEFAULT_UPDATE_LIMITS, ...opts.limits };
  if (bytes.length > limits.maxBytes) throw new FormatError("OVERSIZE", `update blob is ${bytes.length} bytes, limit is ${limits.maxBytes}`);
  const r = new ByteReader(bytes);
  const magic = r.bytesView(4, "magic");
  if (magic.some((b, i) => b !== UPDATE_MAGIC[i])) {
    throw new FormatError("BAD_MAGIC", `expected "DLXU" (44 4c 58 55), got ${[...magic].map((b) => b.toString(16).padStart(2, "0")).join(" ")}`);
  }
  const version = r.u16("version");
  if (version !== UPDATE_VERSION) throw new FormatError("UNKNOWN_VERSION", `update version ${version}, this decoder knows ${UPDATE_VERSION}`);
  const flags = r.u16("flags");
  if (flags !== 0) throw new FormatError("NON_CANONICAL", `flags are ${flags}, must be 0 in version 1`);
  const blockSize = r.u32("blockSize");
  if (blockSize < 1 || blockSize > MAX_BLOCK_SIZE) throw new FormatError("BAD_FIELD", `blockSize ${blockSize} not in 1..${MAX_BLOCK_SIZE}`);
  if (opts.expectedBlockSize !== undefined && blockSize !== opts.expectedBlockSize) {
    throw new FormatError("BAD_FIELD", `blockSize ${blockSize}, expected ${opts.expectedBlockSize}`);
  }
  const layout = readLayout(r, limits);
  if (opts.expectedLayout) assertSameLayout(layout, opts.expectedLayout);
  const tensors = layout.tensors.map((t, i) => readTensor(r, t, i, blockSize, limits));
  r.end("update blob");
  return { layout, blockSize, tensors };
}
