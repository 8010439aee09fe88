/**
 * Communication cost models.
 *
 * Every worker has one full-duplex link (`bandwidthBps` each way, `latencySeconds` per transfer).
 *
 * - Synchronous data parallel: ring all-reduce of the fp32 gradient (B bytes) every step:
 *   2(K−1) phases, each sending and receiving B/K bytes per worker after one latency:
 *   time = 2(K−1)·(latency + 8·B/(K·bandwidth)), bytes sent per worker = 2(K−1)/K·B (same received).
 * - DiLoCo rounds (the protocol of DESIGN.md §3): each worker uploads its update to the blob store
 *   (latency + 8·U/bandwidth), then, once all are uploaded, downloads the K−1 others
 *   (one latency + 8·ΣU_j/bandwidth, requests pipelined). The blob store itself is not a bottleneck.
 */
export interface Link {
  name: string;
  /** Bits per second, each direction. */
  bandwidthBps: number;
  latencySeconds: number;
}

export const LINK_1GBPS: Link = { name: "1 Gbps", bandwidthBps: 1e9, latencySeconds: 0.02 };
export const LINK_100MBPS: Link = { name: "100 Mbps", bandwidthBps: 1e8, latencySeconds: 0.02 };

export function transferSeconds(bytes: number, link: Link): number {
  return link.latencySeconds + (8 * bytes) / link.bandwidthBps;
}

export function ringAllReduceSeconds(bytes: number, workers: number, link: Link): number {
  if (workers <= 1) return 0;
  return 2 * (workers - 1) * (link.latencySeconds + (8 * bytes) / (workers * link.bandwidthBps));
}

export function ringAllReduceBytesSent(bytes: number, workers: number): number {
  return workers <= 1 ? 0 : (2 * (workers - 1) * bytes) / workers;
}
