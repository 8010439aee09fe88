/**
 * The safetensors format (Hugging Face): u64 LE header length N, N bytes of JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}} padded with
 * spaces to a multiple of 8, then the tensor bytes (little-endian, row-major). Only F32 is written
 * and read here. No npm library for it is well kept, and the format is this small; written by hand
 * and checked by loading the files with PyTorch in test/diloco/export-hf.test.ts.
 */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export function encodeSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`safetensors: ${t.name} has ${t.data.length} values for shape [${t.shape}]`);
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += " ";
  const hb = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + hb.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let o = 8 + hb.length;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++) dv.setFloat32(o + 4 * i, t.data[i], true);
    o += 4 * t.data.length;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error("safetensors: file too short");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > bytes.length - 8 || n > 100_000_000) throw new Error("safetensors: header length out of range");
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const base = 8 + n;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = info as unknown as Record<string, string>;
      continue;
    }
    if (info.dtype !== "F32") throw new Error(`safetensors: ${name} is ${info.dtype}; only F32 is supported`);
    const [b, e] = info.data_offsets;
    const count = info.shape.reduce((a, c) => a * c, 1);
    if (e - b !== 4 * count || base + e > bytes.length) throw new Error(`safetensors: ${name} has bad data offsets`);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = dv.getFloat32(base + b + 4 * i, true);
    tensors.set(name, { name, shape: info.shape, data });
  }
  return { tensors, metadata };
}
