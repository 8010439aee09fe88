/** In-memory form of a compressed pseudo-gradient (what format/update.ts serialises). */
import type { ParamLayout } from "../types.ts";

/** Block-quantised values: `count` k-bit codes (one per byte here, packed on the wire) and one float32 scale per block. */
export interface QuantBlocks {
  bits: number;
  count: number;
  /** One per block of `blockSize` consecutive values (the last block may be shorter). */
  scales: Float32Array;
  /** Codes in 0 .. 2^bits - 1; value = scale × (code − (2^bits − 1)/2), or +0 when scale = 0. */
  codes: Uint8Array;
}

export type CompressedTensor =
  /** Exact float32 values. */
  | { mode: "raw"; values: Float32Array }
  /** Dense block quantisation of every element. */
  | { mode: "quant"; q: QuantBlocks }
  /** M (rows × cols) ≈ Σ_j u_j w_jᵀ with u (rank × rows) and w (rank × cols), both block-quantised with the same bits. */
  | { mode: "lowrank"; rank: number; rows: number; cols: number; u: QuantBlocks; w: QuantBlocks };

export interface CompressedUpdate {
  layout: ParamLayout;
  /** Values per quantisation block (same for every tensor of the update). */
  blockSize: number;
  /** One entry per layout tensor, in layout order. */
  tensors: CompressedTensor[];
  /** Blob id of the worker's replayable-state snapshot for the round (format flag 4), if referenced. */
  stateRef?: `0x${string}`;
}
