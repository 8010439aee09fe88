/**
 * Round trace Merkle tree, identical to contracts/libraries/TraceMerkle.sol: leaf i with value v
 * hashes to keccak256(0x00 ‖ uint32 i ‖ v), an inner node to keccak256(0x01 ‖ left ‖ right); the tree
 * has 2^depth leaves (depth = ceil(log2(leaf count))), unused leaves are zero. A worker's trace for a
 * round: leaf 0 = hash of the round's start state, leaf i (1..H) = hash of the full training state
 * after inner step i, leaf H+1 = the compressed update's hash (= the committed update hash).
 */
import { concat, keccak256, numberToHex, type Hex } from "viem";

const ZERO = `0x${"00".repeat(32)}` as Hex;

export function traceLeafHash(index: number, value: Hex): Hex {
  return keccak256(concat(["0x00", numberToHex(index, { size: 4 }), value]));
}

export function traceNodeHash(left: Hex, right: Hex): Hex {
  return keccak256(concat(["0x01", left, right]));
}

export function traceDepth(leafCount: number): number {
  if (!Number.isInteger(leafCount) || leafCount < 2) throw new Error(`a trace needs at least 2 leaves, got ${leafCount}`);
  let d = 0;
  while (1 << d < leafCount) d++;
  return d;
}

/** The whole tree: levels[0] are the hashed leaves, levels[depth] = [root]. */
export class TraceTree {
  readonly levels: Hex[][];
  readonly depth: number;
  readonly leaves: readonly Hex[];
  constructor(leaves: readonly Hex[]) {
    this.leaves = leaves;
    this.depth = traceDepth(leaves.length);
    const size = 1 << this.depth;
    let level: Hex[] = [];
    for (let i = 0; i < size; i++) level.push(traceLeafHash(i, i < leaves.length ? leaves[i] : ZERO));
    this.levels = [level];
    while (level.length > 1) {
      const next: Hex[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(traceNodeHash(level[i], level[i + 1]));
      this.levels.push(next);
      level = next;
    }
  }

  get root(): Hex {
    return this.levels[this.depth][0];
  }

  /** Sibling hashes from the leaf level up (what DisputeGame.startBisection / revealMidpoint take). */
  proof(index: number): Hex[] {
    if (index < 0 || index >= this.leaves.length) throw new Error(`trace leaf ${index} out of range 0..${this.leaves.length - 1}`);
    const out: Hex[] = [];
    let i = index;
    for (let k = 0; k < this.depth; k++) {
      out.push(this.levels[k][i ^ 1]);
      i >>= 1;
    }
    return out;
  }
}

/** Checks a proof the way the contract does. */
export function verifyTraceProof(root: Hex, index: number, value: Hex, proof: readonly Hex[]): boolean {
  let h = traceLeafHash(index, value);
  let i = index;
  for (const sib of proof) {
    h = (i & 1) === 0 ? traceNodeHash(h, sib) : traceNodeHash(sib, h);
    i >>= 1;
  }
  return h.toLowerCase() === root.toLowerCase();
}
