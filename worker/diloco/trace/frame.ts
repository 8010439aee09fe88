/**
 * The framing shared by trace witnesses ("DLXW") and state snapshots ("DLXR"): a 4-byte magic, a u8
 * version, a u32 little-endian header length, a UTF-8 JSON header, then float32 little-endian arrays
 * of one length each, back to back.
 */
const MAX_HEADER = 4096;

export function encodeFrame(magic: string, version: number, header: object, arrays: readonly Float32Array[]): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const body = arrays.reduce((n, a) => n + a.byteLength, 0);
  const out = new Uint8Array(9 + h.length + body);
  out.set(new TextEncoder().encode(magic), 0);
  out[4] = version;
  new DataView(out.buffer).setUint32(5, h.length, true);
  out.set(h, 9);
  let off = 9 + h.length;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  return out;
}

/**
 * Checks magic and version (one, or a list of accepted versions) and parses the header; `arrays(header,
 * version)` says how many arrays of how many values follow. Throws a one-line error naming `what` and
 * the problem.
 */
export function decodeFrame<H>(bytes: Uint8Array, magic: string, version: number | readonly number[], what: string, arrays: (h: H, version: number) => { count: number; size: number }): { header: H; arrays: Float32Array[]; version: number; headerBytes: Uint8Array } {
  const m = new TextEncoder().encode(magic);
  if (bytes.length < 9 || m.some((b, i) => bytes[i] !== b)) throw new Error(`not a ${what} (missing the ${magic} magic)`);
  const versions = typeof version === "number" ? [version] : version;
  if (!versions.includes(bytes[4])) throw new Error(`${what} version ${bytes[4]} is not supported (this software reads version ${versions.join(" or ")})`);
  const hl = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(5, true);
  if (hl > MAX_HEADER || 9 + hl > bytes.length) throw new Error(`${what} header length ${hl} is out of range`);
  let header: H;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(9, 9 + hl))) as H;
  } catch {
    throw new Error(`${what} header is not valid JSON`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw new Error(`${what} header is not a JSON object`);
  const { count, size } = arrays(header, bytes[4]);
  const body = 9 + hl;
  if (bytes.length !== body + count * size * 4) throw new Error(`${what} has ${bytes.length} bytes, its header implies ${body + count * size * 4}`);
  const out: Float32Array[] = [];
  for (let i = 0; i < count; i++) out.push(new Float32Array(bytes.slice(body + i * size * 4, body + (i + 1) * size * 4).buffer));
  return { header, arrays: out, version: bytes[4], headerBytes: bytes.subarray(9, 9 + hl) };
}
