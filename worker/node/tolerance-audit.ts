/**
 * Cross-class audit (docs/training.md "Determinism classes"): an auditor whose trainer is in another
 * class than the job's cannot reproduce the committed bits, so it compares what it can — the
 * decompressed update it replayed against the committed one, and its mean train loss against the
 * committed loss — within the bounds the spec declares (`trainer.tolerance`).
 *
 *   relL2    = ‖Δ̂_replayed − Δ̂_committed‖₂ / ‖Δ̂_committed‖₂   (float64 sums, decompressed updates)
 *   lossDiff = |mean replayed train loss − committed train loss|
 * Pass when relL2 ≤ updateRelL2 and lossDiff ≤ loss.
 */
import { decompressUpdate } from "../diloco/compress/index.ts";
import { decodeUpdate } from "../diloco/format/update.ts";
import type { ParamLayout } from "../diloco/types.ts";

export interface ToleranceResult {
  relL2: number;
  lossDiff: number;
  pass: boolean;
}

export function toleranceCheck(opts: { committed: Uint8Array; replayed: Uint8Array; layout: ParamLayout; committedLoss: number; replayedLoss: number; tolerance: { updateRelL2: number; loss: number } }): ToleranceResult {
  const a = decompressUpdate(decodeUpdate(opts.committed, { expectedLayout: opts.layout }));
  const b = decompressUpdate(decodeUpdate(opts.replayed, { expectedLayout: opts.layout }));
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    const d = b[i] - a[i];
    diff += d * d;
    norm += a[i] * a[i];
  }
  const relL2 = norm > 0 ? Math.sqrt(diff / norm) : diff > 0 ? Infinity : 0;
  const lossDiff = Math.abs(opts.replayedLoss - opts.committedLoss);
  return { relL2, lossDiff, pass: relL2 <= opts.tolerance.updateRelL2 && lossDiff <= opts.tolerance.loss };
}
