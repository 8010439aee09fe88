/**
 * Chain time as the worker sees it: the latest block's timestamp, the chain's recent block time
 * (from the last few dozen blocks, refreshed now and then), and a stall detector that reports when
 * the chain's head stops moving (a dev node without interval mining, a halted chain, a stuck RPC)
 * instead of waiting on deadlines that can never pass.
 */
import type { Client } from "./types.ts";

export interface ClockOptions {
  /** Blocks averaged for the block time (default 32). */
  sample?: number;
  /** Refresh the block-time estimate after this long (default 60 s). */
  refreshMs?: number;
  /** Report a stall once the head has not moved for max(this, 6 block times) (default 30 s). */
  stallMs?: number;
  onStall?: (info: { blockNumber: bigint; timestamp: bigint; stalledSeconds: number }) => void;
}

/** The average seconds between the last `sample` blocks (at least 1; 1 when the chain is young). */
export async function recentBlockTime(client: Client, sample = 32): Promise<number> {
  const head = await client.getBlock({ blockTag: "latest" });
  const back = head.number > BigInt(sample) ? BigInt(sample) : head.number;
  if (back === 0n) return 1;
  const old = await client.getBlock({ blockNumber: head.number - back });
  const avg = Number(head.timestamp - old.timestamp) / Number(back);
  return Math.max(1, avg);
}

export class ChainClock {
  private readonly client: Client;
  private readonly o: Required<Omit<ClockOptions, "onStall">> & Pick<ClockOptions, "onStall">;
  private blockTimeS: number | undefined;
  private blockTimeAt = 0;
  private head: { number: bigint; timestamp: bigint; seenAt: number } | undefined;
  private reported = false;

  constructor(client: Client, opts: ClockOptions = {}) {
    this.client = client;
    this.o = { sample: 32, refreshMs: 60_000, stallMs: 30_000, ...opts };
  }

  /** The chain's recent block time in seconds (cached). */
  async blockTime(): Promise<number> {
    if (this.blockTimeS === undefined || Date.now() - this.blockTimeAt > this.o.refreshMs) {
      this.blockTimeS = await recentBlockTime(this.client, this.o.sample);
      this.blockTimeAt = Date.now();
    }
    return this.blockTimeS;
  }

  /** The latest block's timestamp; records head movement and reports a stalled chain. */
  async now(): Promise<bigint> {
    const b = await this.client.getBlock({ blockTag: "latest" });
    const t = Date.now();
    if (!this.head || b.number !== this.head.number) {
      this.head = { number: b.number, timestamp: b.timestamp, seenAt: t };
      this.reported = false;
    } else {
      const stalled = t - this.head.seenAt;
      const limit = Math.max(this.o.stallMs, 6_000 * (this.blockTimeS ?? 0));
      if (stalled > limit && !this.reported) {
        this.reported = true;
        this.o.onStall?.({ blockNumber: b.number, timestamp: b.timestamp, stalledSeconds: Math.round(stalled / 1000) });
      }
    }
    return b.timestamp;
  }

  /** Whether the head has been still for longer than the stall limit. */
  get stalled(): boolean {
    return this.reported;
  }
}
