/** Typed reads of the market and registry for the worker and the poster commands (viem). */
import { getAddress, type Address, type Hex, type PublicClient, type Chain, type Transport } from "viem";
import { providerRegistryAbi, trainingMarketAbi } from "../../shared/abis.ts";
import type { MarketAddresses } from "../../shared/addresses.ts";
import type { JobParams } from "../../shared/types.ts";

export type Client = PublicClient<Transport, Chain | undefined>;

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

  constructor(client: Client, addresses: MarketAddresses, fromBlock = 0n) {
    this.client = client;
    this.addresses = addresses;
    this.fromBlock = fromBlock;
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
    const logs = await this.client.getContractEvents({
      address: this.addresses.market,
      abi: trainingMarketAbi,
      eventName: "UpdateCommitted",
      args: { jobId, round },
      fromBlock: this.fromBlock,
      toBlock: "latest",
    });
    return logs.map((l) => ({ worker: getAddress(l.args.worker!), updateHash: l.args.updateHash!, traceRoot: l.args.traceRoot!, trainLoss: l.args.trainLoss!, blockNumber: l.blockNumber! }));
  }

  /** The global model hash each round started from (RoundStarted events), by round. */
  async roundStartHashes(jobId: bigint): Promise<Map<number, Hex>> {
    const logs = await this.client.getContractEvents({
      address: this.addresses.market,
      abi: trainingMarketAbi,
      eventName: "RoundStarted",
      args: { jobId },
      fromBlock: this.fromBlock,
      toBlock: "latest",
    });
    return new Map(logs.map((l) => [Number(l.args.round), l.args.modelHash!]));
  }

  /** Ids of jobs still open for joining. */
  async openJobIds(): Promise<bigint[]> {
    const count = await this.jobCount();
    const out: bigint[] = [];
    for (let id = count; id >= 1n && out.length < 50; id--) {
      const s = await this.jobState(id);
      if (s.status === 1) out.push(id);
    }
    return out.reverse();
  }

  /** Latest block timestamp (chain time, which may differ from wall-clock on dev chains). */
  async now(): Promise<bigint> {
    return (await this.client.getBlock({ blockTag: "latest" })).timestamp;
  }
}
