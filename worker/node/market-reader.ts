/** Typed reads of the market and registry for the worker and the poster commands (viem). */
import { getAddress, type Address, type Hex } from "viem";
import { providerRegistryAbi, trainingMarketAbi } from "../../shared/abis.ts";
import { ChainClock, type ClockOptions } from "../chain/chain-clock.ts";
import { scanEvents } from "../chain/log-scan.ts";
import type { Client } from "../chain/types.ts";
import type { MarketAddresses } from "../../shared/addresses.ts";
import { maskIndices, MAX_WORKERS, type JobParams } from "../../shared/types.ts";

export type { Client };

/** Blocks below the head that may still reorganise: logs above head − REORG_DEPTH are never cached. */
export const REORG_DEPTH = 12n;

export type JobEvent = "UpdateCommitted" | "RoundStarted" | "ResultSubmitted" | "RoundFinalized" | "Credited" | "JobStarted";

export interface Commitment {
  worker: Address;
  updateHash: Hex;
  traceRoot: Hex;
  trainLoss: bigint;
  blockNumber: bigint;
}

export class MarketReader {
  readonly client: Client;
  readonly addresses: MarketAddresses;
  /** Earliest block to scan for events (the deployment block, if known). */
  readonly fromBlock: bigint;
  /** Chain time, block time and stall detection. */
  readonly clock: ChainClock;
  /** Per (event, job): logs of blocks ≤ `through` (settled blocks only), scanned incrementally. */
  private readonly cache = new Map<string, { through: bigint; logs: { args: Record<string, unknown>; blockNumber: bigint }[] }>();
  /** eth_getLogs requests made (for benchmarks). */
  logRequests = 0;

  constructor(client: Client, addresses: MarketAddresses, fromBlock = 0n, clock?: ClockOptions) {
    this.client = client;
    this.addresses = addresses;
    this.fromBlock = fromBlock;
    this.clock = new ChainClock(client, clock);
  }

  /**
   * A job's events of one kind: settled blocks are scanned once (in chunks, from the deployment
   * block) and cached; the last REORG_DEPTH blocks are re-read on every call.
   */
  async jobEvents(eventName: JobEvent, jobId: bigint): Promise<{ args: Record<string, unknown>; blockNumber: bigint }[]> {
    const head = await this.client.getBlockNumber({ cacheTime: 0 });
    const key = `${eventName}:${jobId}`;
    let entry = this.cache.get(key);
    if (!entry) {
      entry = { through: this.fromBlock - 1n, logs: [] };
      this.cache.set(key, entry);
    }
    const settled = head - REORG_DEPTH;
    const onRequest = () => void (this.logRequests += 1);
    if (settled > entry.through) {
      const logs = await scanEvents(this.client, { address: this.addresses.market, abi: trainingMarketAbi, eventName, args: { jobId }, fromBlock: entry.through + 1n, toBlock: settled }, { onRequest });
      entry.logs.push(...(logs as unknown as { args: Record<string, unknown>; blockNumber: bigint }[]));
      entry.through = settled;
    }
    const fresh = head > entry.through
      ? ((await scanEvents(this.client, { address: this.addresses.market, abi: trainingMarketAbi, eventName, args: { jobId }, fromBlock: entry.through + 1n, toBlock: head }, { onRequest })) as unknown as { args: Record<string, unknown>; blockNumber: bigint }[])
      : [];
    return [...entry.logs, ...fresh];
  }

  private read<T>(functionName: string, args: readonly unknown[]): Promise<T> {
    return this.client.readContract({ address: this.addresses.market, abi: trainingMarketAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
  }

  jobCount(): Promise<bigint> {
    return this.read("jobCount", []);
  }
  jobParams(jobId: bigint): Promise<JobParams> {
    return this.read("jobParams", [jobId]);
  }
  jobState(jobId: bigint) {
    return this.read<{ poster: Address; status: number; workerCount: number; activeMask: number; currentRound: number; createdAt: bigint; endedAt: bigint; feePerReward: bigint; escrow: bigint; modelHash: Hex }>("jobState", [jobId]);
  }
  round(jobId: bigint, round: number) {
    return this.read<{ commitDeadline: bigint; voteDeadline: bigint; committedMask: number; votedMask: number; closedAt: number; status: number }>("roundOf", [jobId, round]);
  }
  workers(jobId: bigint): Promise<readonly Address[]> {
    return this.read("workersOf", [jobId]);
  }
  slot(jobId: bigint, worker: Address) {
    return this.read<{ index: number; joined: boolean; active: boolean; bondReleased: boolean; paidRounds: number; removedAt: bigint; bond: bigint }>("workerSlot", [jobId, worker]);
  }
  balanceOf(account: Address): Promise<bigint> {
    return this.read("balanceOf", [account]);
  }
  escrowFor(reward: bigint, rounds: number, maxWorkers: number): Promise<readonly [bigint, bigint]> {
    return this.read("escrowFor", [reward, rounds, maxWorkers]);
  }
  async attestationSignerOf(provider: Address): Promise<Address> {
    return this.client.readContract({ address: this.addresses.registry, abi: providerRegistryAbi, functionName: "attestationSignerOf", args: [provider] });
  }
  async provider(provider: Address) {
    return this.client.readContract({ address: this.addresses.registry, abi: providerRegistryAbi, functionName: "providerOf", args: [provider] });
  }

  /** `worker`'s commitment of a round, or undefined. */
  async commitment(jobId: bigint, round: number, worker: Address): Promise<Commitment | undefined> {
    return (await this.commitments(jobId, round)).find((c) => c.worker.toLowerCase() === worker.toLowerCase());
  }

  /** Commitments of a round, from UpdateCommitted events (the chain stores only a bit per worker). */
  async commitments(jobId: bigint, round: number): Promise<Commitment[]> {
    const logs = (await this.jobEvents("UpdateCommitted", jobId)).filter((l) => Number(l.args.round) === round);
    return logs.map((l) => ({ worker: getAddress(l.args.worker as Address), updateHash: l.args.updateHash as Hex, traceRoot: l.args.traceRoot as Hex, trainLoss: l.args.trainLoss as bigint, blockNumber: l.blockNumber }));
  }

  /** The global model hash each round started from (RoundStarted events), by round. */
  async roundStartHashes(jobId: bigint): Promise<Map<number, Hex>> {
    const logs = await this.jobEvents("RoundStarted", jobId);
    return new Map(logs.map((l) => [Number(l.args.round), l.args.modelHash as Hex]));
  }

  /**
   * Ids of jobs a provider may join (newest 50): open ones, and running ones with a free slot and a
   * round after the current one (elastic membership: fewer active workers than maxWorkers; a slot
   * taken by a worker still waiting for its first round is not visible here, and `joinJob`'s
   * simulation then reverts with JobFull without spending gas).
   */
  async joinableJobIds(): Promise<bigint[]> {
    const count = await this.jobCount();
    const out: bigint[] = [];
    for (let id = count; id >= 1n && out.length < 50; id--) {
      if (this.ended.has(id)) continue;
      const s = await this.jobState(id);
      if (s.status === 1) out.push(id);
      else if (s.status === 2 && (await this.hasFreeSlot(id, s))) out.push(id);
      else if (s.status > 2) this.ended.add(id); // ended jobs never reopen: not read again
    }
    return out.reverse();
  }
  private readonly ended = new Set<bigint>();

  /**
   * How many workers the job started with (JobStarted): the built-in corpus of older specs is cut
   * into this many shards, whoever joins later (elastic membership adds workers after the start).
   */
  async startWorkerCount(jobId: bigint): Promise<number> {
    const started = await this.jobEvents("JobStarted", jobId);
    if (started.length > 0) return Number(started[0].args.workerCount);
    return (await this.jobState(jobId)).workerCount;
  }

  /** Whether a running job can take another worker now (see `joinableJobIds`). */
  async hasFreeSlot(jobId: bigint, s?: { workerCount: number; activeMask: number; currentRound: number }): Promise<boolean> {
    const state = s ?? (await this.jobState(jobId));
    const p = await this.jobParams(jobId);
    return maskIndices(state.activeMask).length < p.maxWorkers && state.workerCount < MAX_WORKERS && state.currentRound + 1 < p.rounds;
  }

  /** Latest block timestamp (chain time, which may differ from wall-clock on dev chains). */
  async now(): Promise<bigint> {
    return this.clock.now();
  }
}

/**
 * Whether a worker slot joined a running job and waits for the next round to become active (elastic
 * membership): joined, not active, never removed. Its bond is locked; it is not removed.
 */
export function isJoining(slot: { joined: boolean; active: boolean; removedAt: bigint }): boolean {
  return slot.joined && !slot.active && slot.removedAt === 0n;
}
