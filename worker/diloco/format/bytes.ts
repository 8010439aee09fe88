/**
 * Little-endian byte writer / bounds-checked reader used by the DiLoCoX blob formats.
 * The reader never reads past its end: every overrun is a `TRUNCATED` FormatError naming the field.
 */
import { FormatError } from "./errors.ts";

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, capacity));
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Float32 values, little-endian, bit patterns preserved. */
  f32s(values: Float32Array): void {
    this.ensure(values.length * 4);
    const v = this.view;
    let p = this.pos;
    for (let i = 0; i < values.length; i++, p += 4) v.setFloat32(p, values[i], true);
    this.pos = p;
  }

  /** A copy of exactly the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class ByteReader {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) {
      throw new FormatError(
        "TRUNCATED",
        `${what}: need ${n} byte(s) at offset ${this.pos}, only ${this.bytes.length - this.pos} left (blob is ${this.bytes.length} bytes)`,
      );
    }
  }

  u8(what: string): number {
    this.need(1, what);
    const v = this.view.getUint8(this.pos);
    this.pos += 1;
    return v;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  bytesView(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads `count` float32 values; NaN and ±Infinity are rejected with the element index. */
  finiteF32s(count: number, what: string): Float32Array {
    this.need(count * 4, what);
    const out = new Float32Array(count);
    const v = this.view;
    let p = this.pos;
    for (let i = 0; i < count; i++, p += 4) {
      const x = v.getFloat32(p, true);
      if (!Number.isFinite(x)) {
        throw new FormatError("NON_FINITE", `${what}[${i}] is ${x} (byte offset ${p})`);
      }
      out[i] = x;
    }
    this.pos = p;
    return out;
  }

  /** Asserts that every byte has been consumed. */
  end(what: string): void {
    if (this.pos !== this.bytes.length) {
      throw new FormatError(
        "TRAILING_BYTES",
        `${what}: ${this.bytes.length - this.pos} unexpected byte(s) after the end at offset ${this.pos}`,
      );
    }
  }
}
