/**
 * Seeded, platform-independent pseudo-random numbers for the DiLoCoX engine.
 *
 * Everything random in training (initial weights, batch positions) comes from here, so that a
 * round can be replayed bit-for-bit from public inputs. Only 32-bit integer arithmetic
 * (`Math.imul`, shifts) and IEEE-754 double operations whose results JavaScript fixes exactly are
 * used; `normal()` uses `Math.log`/`Math.cos`, which V8 computes with its own fdlibm port, so the
 * same Node version gives the same bits on every machine.
 *
 * Generator: xoshiro128** (Blackman & Vigna), seeded from a 128-bit key obtained by hashing the
 * seed parts with a murmur3-style mixer. Keys are domain-separated by a string tag.
 */

export type SeedPart = bigint | number | string;

const MASK32 = 0xffffffffn;

/** Splits one seed part into 32-bit words (a length/kind prefix keeps different parts distinct). */
function partWords(part: SeedPart): number[] {
  if (typeof part === "string") {
    const bytes = new TextEncoder().encode(part);
    const words = [0x53000000 | bytes.length];
    for (let i = 0; i < bytes.length; i += 4) {
      words.push((bytes[i] | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24)) >>> 0);
    }
    return words;
  }
  let v: bigint;
  if (typeof part === "number") {
    if (!Number.isSafeInteger(part) || part < 0) throw new Error(`seed part must be a non-negative safe integer, got ${part}`);
    v = BigInt(part);
  } else {
    if (part < 0n) throw new Error(`seed part must be non-negative, got ${part}`);
    v = part;
  }
  const limbs: number[] = [];
  do {
    limbs.push(Number(v & MASK32));
    v >>= 32n;
  } while (v > 0n);
  return [0x49000000 | limbs.length, ...limbs];
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes seed parts into four non-zero-state 32-bit words (murmur3_x86_32 body, 4 lanes). */
export function hashSeed(parts: readonly SeedPart[]): [number, number, number, number] {
  const words = parts.flatMap(partWords);
  const lanes = [0x9e3779b9, 0x243f6a88, 0xb7e15162, 0x7f4a7c15];
  for (let lane = 0; lane < 4; lane++) {
    let h = lanes[lane];
    for (const w of words) {
      let k = Math.imul(w ^ lane, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, 0x1b873593);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    lanes[lane] = fmix32(h ^ words.length);
  }
  if ((lanes[0] | lanes[1] | lanes[2] | lanes[3]) === 0) lanes[0] = 1; // xoshiro's state must not be all zero
  return [lanes[0], lanes[1], lanes[2], lanes[3]];
}

export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  #spareNormal: number | null = null;

  constructor(state: readonly [number, number, number, number]) {
    [this.#s0, this.#s1, this.#s2, this.#s3] = state;
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) throw new Error("Rng state must not be all zero");
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const s1 = this.#s1;
    const rot = Math.imul(s1, 5);
    const result = Math.imul((rot << 7) | (rot >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = (this.#s3 << 11) | (this.#s3 >>> 21);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling); n ≤ 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new Error(`nextInt: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal deviate (Box–Muller, both outputs used). */
  normal(): number {
    if (this.#spareNormal !== null) {
      const z = this.#spareNormal;
      this.#spareNormal = null;
      return z;
    }
    let u = this.nextFloat();
    while (u === 0) u = this.nextFloat();
    const v = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * v;
    this.#spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

/** A generator keyed by a domain tag and any number of seed parts, e.g. `rngFor("batch", seed, round, worker, step)`. */
export function rngFor(tag: string, ...parts: SeedPart[]): Rng {
  return new Rng(hashSeed([tag, ...parts]));
}
