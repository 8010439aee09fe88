/**
 * Format (b): compressed pseudo-gradient ("DLXU", version 1).
 * See worker/diloco/README.md, "Round math and formats", for the byte layout and canonical rules.
 */
import type { Hex } from "viem";
import { MAX_BITS, MIN_BITS, MIN_SCALE, blockCount, packCodes, packedCodeBytes, unpackCodes } from "../compress/quantize.ts";
import type { CompressedTensor, CompressedUpdate, QuantBlocks } from "../compress/types.ts";
import type { ParamLayout, TensorSpec } from "../types.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { FormatError } from "./errors.ts";
import { assertSameLayout, matrixDims, readLayout, validateLayout, writeLayout } from "./layout.ts";
import { DEFAULT_LIMITS, type DecodeLimits } from "./state.ts";
import { keccak256 } from "viem";
import { normalizeFrequencies, ransDecode, ransEncode, ransLookup, ransModel, RANS_M, type RansModel } from "./rans.ts";

export const UPDATE_MAGIC = new Uint8Array([0x44, 0x4c, 0x58, 0x55]); // "DLXU"
/** Version 1: flags 0 (layout written out, codes bit-packed). Version 2: at least one flag set. */
export const UPDATE_VERSION = 1;
export const UPDATE_VERSION_2 = 2;
/** Version 2 flag: every quantisation code is entropy-coded (rANS, one stream at the end of the blob). */
export const FLAG_ENTROPY = 1;
/** Version 2 flag: the layout section is replaced by tensorCount u32 + keccak-256 of the layout section. */
export const FLAG_LAYOUT_HASH = 2;
/** Version 2 flag: 32 bytes after the layout section name the worker's replayable-state snapshot
 *  (`CompressedUpdate.stateRef`, worker/diloco/trace/snapshot.ts), so the commitment references it. */
export const FLAG_STATE_REF = 4;
const KNOWN_FLAGS = FLAG_ENTROPY | FLAG_LAYOUT_HASH | FLAG_STATE_REF;

/** Wire options of the compact encoding (version 2). Both false = version 1. */
export interface UpdateWireOptions {
  entropyCoding?: boolean;
  layoutHash?: boolean;
}
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

/** Code segments of an entropy-coded blob, in blob order. */
type Segments = QuantBlocks[] | null;

function writeQuant(w: ByteWriter, q: QuantBlocks, segments: Segments): void {
  w.f32s(q.scales);
  if (segments) segments.push(q);
  else w.bytes(packCodes(q.codes, q.bits));
}

function stateRefBytes(ref: Hex): Uint8Array {
  if (!/^0x[0-9a-fA-F]{64}$/.test(ref) || /^0x0{64}$/.test(ref)) throw new FormatError("BAD_FIELD", `stateRef must be a non-zero 32-byte hex id, got ${ref}`);
  return Uint8Array.from(Buffer.from(ref.slice(2), "hex"));
}

/** keccak-256 of the layout section as version 1 writes it. */
export function layoutHash(layout: ParamLayout): Uint8Array {
  const w = new ByteWriter(1024);
  writeLayout(w, layout);
  return keccak256(w.finish(), "bytes");
}

/** The frequency tables (ascending bits) and the rANS stream of all code segments. */
function entropySection(segments: QuantBlocks[]): { tables: Uint8Array; stream: Uint8Array } {
  const hist = new Map<number, Float64Array>();
  for (const q of segments) {
    let h = hist.get(q.bits);
    if (!h) hist.set(q.bits, (h = new Float64Array(1 << q.bits)));
    for (let i = 0; i < q.count; i++) h[q.codes[i]]++;
  }
  const bitsList = [...hist.keys()].sort((a, b) => a - b);
  const models = new Map<number, RansModel>();
  const tw = new ByteWriter(64);
  tw.u8(bitsList.length);
  for (const bits of bitsList) {
    const freq = normalizeFrequencies(hist.get(bits)!);
    models.set(bits, ransModel(freq));
    tw.u8(bits);
    for (const f of freq) tw.u16(f);
  }
  const { symbols, modelOf } = flatten(segments, models);
  return { tables: tw.finish(), stream: ransEncode(symbols, modelOf) };
}

/** All codes in blob order and the model index of each. */
function flatten(segments: QuantBlocks[], models: Map<number, RansModel>): { symbols: Uint8Array; modelOf: (i: number) => RansModel; ends: number[]; total: number } {
  let total = 0;
  const ends: number[] = [];
  for (const q of segments) ends.push((total += q.count));
  const symbols = new Uint8Array(total);
  let o = 0;
  for (const q of segments) {
    symbols.set(q.codes.subarray(0, q.count), o);
    o += q.count;
  }
  let seg = 0;
  const modelOf = (i: number): RansModel => {
    while (i >= ends[seg]) seg++;
    while (seg > 0 && i < ends[seg - 1]) seg--;
    return models.get(segments[seg].bits)!;
  };
  return { symbols, modelOf, ends, total };
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

export function encodeUpdate(update: CompressedUpdate, wire: UpdateWireOptions = {}): Uint8Array {
  const { layout, blockSize, tensors } = update;
  const flags = (wire.entropyCoding ? FLAG_ENTROPY : 0) | (wire.layoutHash ? FLAG_LAYOUT_HASH : 0) | (update.stateRef !== undefined ? FLAG_STATE_REF : 0);
  const ref = update.stateRef !== undefined ? stateRefBytes(update.stateRef) : undefined;
  const segments: Segments = flags & FLAG_ENTROPY ? [] : null;
  validateLayout(layout);
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) throw new FormatError("BAD_FIELD", `blockSize ${blockSize} not in 1..${MAX_BLOCK_SIZE}`);
  if (tensors.length !== layout.tensors.length) throw new FormatError("LAYOUT_MISMATCH", `${tensors.length} compressed tensors for ${layout.tensors.length} layout tensors`);
  const head = new ByteWriter(1024 + layout.tensors.length * 64);
  head.bytes(UPDATE_MAGIC);
  head.u16(flags === 0 ? UPDATE_VERSION : UPDATE_VERSION_2);
  head.u16(flags);
  head.u32(blockSize);
  if (flags & FLAG_LAYOUT_HASH) {
    head.u32(layout.tensors.length);
    head.bytes(layoutHash(layout));
  } else {
    writeLayout(head, layout);
  }
  if (ref) head.bytes(ref);
  // tensor records (with the codes inline unless they are entropy-coded)
  const w = new ByteWriter(1024 + layout.tensors.length * 64);
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
        writeQuant(w, ct.q, segments);
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
        writeQuant(w, ct.u, segments);
        writeQuant(w, ct.w, segments);
        return;
      }
    }
  });
  if (segments) {
    if (segments.length === 0) throw new FormatError("BAD_FIELD", "entropy coding needs at least one quantised tensor");
    const { tables, stream } = entropySection(segments);
    head.bytes(tables);
    head.bytes(w.finish());
    head.u32(stream.length);
    head.bytes(stream);
  } else {
    head.bytes(w.finish());
  }
  return head.finish();
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

/** Pending code segments of an entropy-coded blob being decoded (codes filled in after the stream). */
interface PendingSegment {
  q: QuantBlocks;
  where: string;
}

function readQuant(r: ByteReader, count: number, bits: number, blockSize: number, where: string, pending: PendingSegment[] | null = null): QuantBlocks {
  const nBlocks = blockCount(count, blockSize);
  if (pending) {
    if (r.remaining < nBlocks * 4) throw new FormatError("TRUNCATED", `${where}: needs ${nBlocks * 4} bytes of scales, only ${r.remaining} left`);
    const q: QuantBlocks = { bits, count, scales: r.finiteF32s(nBlocks, `${where} scales`), codes: new Uint8Array(count) };
    pending.push({ q, where });
    return q;
  }
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

function readTensor(r: ByteReader, t: TensorSpec, i: number, blockSize: number, limits: UpdateLimits, pending: PendingSegment[] | null): CompressedTensor {
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
      return { mode: "quant", q: readQuant(r, t.size, bits, blockSize, where, pending) };
    }
    case MODE_LOWRANK: {
      if (t.kind !== "matrix") throw new FormatError("BAD_FIELD", `${where}: low-rank mode on a vector tensor`);
      checkBits(bits, where);
      const { rows, cols } = matrixDims(t);
      checkRank(rank, rows, cols, limits.maxRank, where);
      const u = readQuant(r, rank * rows, bits, blockSize, `${where} u`, pending);
      const w = readQuant(r, rank * cols, bits, blockSize, `${where} w`, pending);
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
  if (version !== UPDATE_VERSION && version !== UPDATE_VERSION_2) {
    throw new FormatError("UNKNOWN_VERSION", `update version ${version}, this decoder knows ${UPDATE_VERSION} and ${UPDATE_VERSION_2}`);
  }
  const flags = r.u16("flags");
  if (version === UPDATE_VERSION && flags !== 0) throw new FormatError("NON_CANONICAL", `flags are ${flags}, must be 0 in version 1`);
  if (version === UPDATE_VERSION_2 && flags === 0) throw new FormatError("NON_CANONICAL", "version 2 with flags 0: such a blob must be written as version 1");
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new FormatError("BAD_FIELD", `unknown flag bits 0x${(flags & ~KNOWN_FLAGS).toString(16)} in flags 0x${flags.toString(16)}`);
  const blockSize = r.u32("blockSize");
  if (blockSize < 1 || blockSize > MAX_BLOCK_SIZE) throw new FormatError("BAD_FIELD", `blockSize ${blockSize} not in 1..${MAX_BLOCK_SIZE}`);
  if (opts.expectedBlockSize !== undefined && blockSize !== opts.expectedBlockSize) {
    throw new FormatError("BAD_FIELD", `blockSize ${blockSize}, expected ${opts.expectedBlockSize}`);
  }
  let layout: ParamLayout;
  if (flags & FLAG_LAYOUT_HASH) {
    const count = r.u32("layout.tensorCount");
    const hash = r.bytesView(32, "layout hash");
    if (!opts.expectedLayout) throw new FormatError("BAD_FIELD", "the blob names its layout by hash: decode it with the job's expected layout");
    layout = opts.expectedLayout;
    if (count !== layout.tensors.length) throw new FormatError("LAYOUT_MISMATCH", `blob has ${count} tensors, expected ${layout.tensors.length}`);
    const want = layoutHash(layout);
    if (hash.some((b, i) => b !== want[i])) throw new FormatError("LAYOUT_MISMATCH", "layout hash differs from the expected layout's");
  } else {
    layout = readLayout(r, limits);
    if (opts.expectedLayout) assertSameLayout(layout, opts.expectedLayout);
  }
  let stateRef: { stateRef: Hex } | Record<string, never> = {};
  if (flags & FLAG_STATE_REF) {
    const ref = r.bytesView(32, "state snapshot reference");
    if (ref.every((b) => b === 0)) throw new FormatError("BAD_FIELD", "the state snapshot reference is zero (omit the flag instead)");
    stateRef = { stateRef: `0x${Buffer.from(ref).toString("hex")}` as Hex };
  }
  if (!(flags & FLAG_ENTROPY)) {
    const tensors = layout.tensors.map((t, i) => readTensor(r, t, i, blockSize, limits, null));
    r.end("update blob");
    return { layout, blockSize, tensors, ...stateRef };
  }
  // Entropy-coded: tables, records (scales only), then the stream of every code.
  const tablesStart = r.offset;
  const tableCount = r.u8("entropy table count");
  if (tableCount < 1 || tableCount > MAX_BITS - MIN_BITS + 1) throw new FormatError("BAD_FIELD", `entropy table count ${tableCount} not in 1..${MAX_BITS - MIN_BITS + 1}`);
  const models = new Map<number, { model: RansModel; lookup: Uint8Array }>();
  let lastBits = 0;
  for (let tIdx = 0; tIdx < tableCount; tIdx++) {
    const bits = r.u8(`entropy table ${tIdx} bits`);
    checkBits(bits, `entropy table ${tIdx}`);
    if (bits <= lastBits) throw new FormatError("NON_CANONICAL", `entropy table ${tIdx}: bits ${bits} not above the previous table's ${lastBits}`);
    lastBits = bits;
    const freq = new Uint16Array(1 << bits);
    let sum = 0;
    for (let s = 0; s < freq.length; s++) sum += freq[s] = r.u16(`entropy table ${tIdx} frequency ${s}`);
    if (sum !== RANS_M) throw new FormatError("BAD_FIELD", `entropy table ${tIdx} (${bits} bits): frequencies sum to ${sum}, must be ${RANS_M}`);
    const model = ransModel(freq);
    models.set(bits, { model, lookup: ransLookup(model) });
  }
  const tablesEnd = r.offset;
  const pending: PendingSegment[] = [];
  const tensors = layout.tensors.map((t, i) => readTensor(r, t, i, blockSize, limits, pending));
  if (pending.length === 0) throw new FormatError("BAD_FIELD", "entropy flag set but no tensor is quantised");
  for (const p of pending) if (!models.has(p.q.bits)) throw new FormatError("BAD_FIELD", `${p.where}: no entropy table for ${p.q.bits}-bit codes`);
  const streamLength = r.u32("entropy stream length");
  const stream = r.bytesView(streamLength, "entropy stream");
  r.end("update blob");
  const segments = pending.map((p) => p.q);
  const ends: number[] = [];
  let total = 0;
  for (const q of segments) ends.push((total += q.count));
  let seg = 0;
  const segAt = (i: number) => {
    while (i >= ends[seg]) seg++;
    return models.get(segments[seg].bits)!;
  };
  const symbols = ransDecode(stream, total, (i) => segAt(i).model, (i) => segAt(i).lookup, "update blob");
  let o = 0;
  for (const p of pending) {
    const maxCode = (1 << p.q.bits) - 1;
    for (let i = 0; i < p.q.count; i++) {
      const c = symbols[o + i];
      if (c > maxCode) throw new FormatError("BAD_FIELD", `${p.where}: code ${i} is ${c}, above ${maxCode}`);
      p.q.codes[i] = c;
    }
    o += p.q.count;
    validateQuant(p.q, blockSize, p.where);
  }
  // Canonical form: the tables are those of the codes' histograms and the stream is what the encoder writes.
  const again = entropySection(segments);
  const tablesIn = bytes.subarray(tablesStart, tablesEnd);
  if (again.tables.length !== tablesIn.length || again.tables.some((b, i) => b !== tablesIn[i])) {
    throw new FormatError("NON_CANONICAL", "entropy tables are not the normalised histograms of the codes");
  }
  if (again.stream.length !== stream.length || again.stream.some((b, i) => b !== stream[i])) {
    throw new FormatError("NON_CANONICAL", "entropy-coded stream differs from the canonical encoding of its codes");
  }
  return { layout, blockSize, tensors, ...stateRef };
}
