/**
 * Typed access to the DisputeGame (docs/contracts.md, "Threat model and guarantees"): reads of
 * disputes, panels and referees; the transactions a worker node or a referee sends (challengeRound,
 * voteRound, voteStep, resolve, registerReferee, withdraw), each approving the token first where the
 * game pulls a bond or a stake; and event scans in block ranges (worker/chain/log-scan.ts).
 */
import { parseEventLogs, zeroAddress, type Address, type Hex } from "viem";
import { disputeGameAbi, testTokenAbi, trainingMarketAbi } from "../../shared/abis.ts";
import type { MarketAddresses } from "../../shared/addresses.ts";
import { scanEvents } from "../chain/log-scan.ts";
import { ContractRevertError, type TxSender } from "../chain/tx-sender.ts";
import type { Client } from "../chain/types.ts";

/** IDisputeGame.Kind / Phase / Verdict, in Solidity order. */
export const DisputeKind = { Step: 0, Round: 1 } as const;
export const DisputePhase = { None: 0, AwaitStart: 1, AwaitReveal: 2, AwaitResponse: 3, Refereeing: 4, Closed: 5 } as const;
export const Verdict = ["Upheld", "Rejected", "Dropped"] as const;

export interface Dispute {
  id: bigint;
  jobId: bigint;
  round: number;
  kind: number;
  phase: number;
  /** Panels drawn so far (the current panel's number). */
  panels: number;
  /** Step disputes: last agreed leaf index + 1 (0: none agreed). */
  lo: number;
  /** Step disputes: first disputed leaf index. */
  hi: number;
  votes: number;
  worker: Address;
  challenger: Address;
  deadline: bigint;
  bond: bigint;
  traceRoot: Hex;
  loLeaf: Hex;
  hiLeaf: Hex;
}

export interface RefereeInfo {
  registered: boolean;
  openPanels: number;
  stake: bigint;
}

/** A RoundChallenged event. */
export interface RoundChallenge {
  id: bigint;
  jobId: bigint;
  round: number;
  challenger: Address;
  settlement: boolean;
  blockNumber: bigint;
}

/** A PanelDrawn event. */
export interface PanelDraw {
  id: bigint;
  panel: number;
  referees: Address[];
  deadline: bigint;
  blockNumber: bigint;
}

type GameEvent = "RoundChallenged" | "PanelDrawn" | "DisputeResolved" | "StepChallenged" | "BisectionDone" | "RefereeVoted";

/**
 * The game's address: the configured one (`--game` / GAME_ADDRESS, addresses.game), else the one the
 * market names on chain (`disputeGame()`, set once at deployment); undefined when there is none.
 */
export async function resolveGameAddress(client: Client, addresses: MarketAddresses): Promise<Address | undefined> {
  if (addresses.game && addresses.game !== zeroAddress) return addresses.game;
  const named = await client.readContract({ address: addresses.market, abi: trainingMarketAbi, functionName: "disputeGame" });
  return named && named !== zeroAddress ? named : undefined;
}

export class GameClient {
  readonly client: Client;
  readonly sender: TxSender;
  readonly address: Address;
  readonly token: Address;
  readonly me: Address;
  /** First block of event scans (the market's deployment block). */
  readonly fromBlock: bigint;

  constructor(opts: { client: Client; sender: TxSender; address: Address; token: Address; me: Address; fromBlock?: bigint }) {
    this.client = opts.client;
    this.sender = opts.sender;
    this.address = opts.address;
    this.token = opts.token;
    this.me = opts.me;
    this.fromBlock = opts.fromBlock ?? 0n;
  }

  /** The game of a deployment (see resolveGameAddress), or undefined when it has none. */
  static async open(opts: { client: Client; sender: TxSender; addresses: MarketAddresses; me: Address; fromBlock?: bigint }): Promise<GameClient | undefined> {
    const address = await resolveGameAddress(opts.client, opts.addresses);
    return address ? new GameClient({ ...opts, address, token: opts.addresses.token }) : undefined;
  }

  private read<T>(functionName: string, args: readonly unknown[] = []): Promise<T> {
    return this.client.readContract({ address: this.address, abi: disputeGameAbi, functionName: functionName as never, args: args as never }) as Promise<T>;
  }

  // ---------------------------------------------------------------- reads

  async dispute(id: bigint): Promise<Dispute> {
    const d = await this.read<Omit<Dispute, "id">>("disputeOf", [id]);
    return { id, jobId: d.jobId, round: Number(d.round), kind: Number(d.kind), phase: Number(d.phase), panels: Number(d.panels), lo: Number(d.lo), hi: Number(d.hi), votes: Number(d.votes), worker: d.worker, challenger: d.challenger, deadline: d.deadline, bond: d.bond, traceRoot: d.traceRoot, loLeaf: d.loLeaf, hiLeaf: d.hiLeaf };
  }
  panel(id: bigint): Promise<readonly Address[]> {
    return this.read("panelOf", [id]);
  }
  async referee(who: Address = this.me): Promise<RefereeInfo> {
    const r = await this.read<{ registered: boolean; openPanels: number; stake: bigint }>("refereeOf", [who]);
    return { registered: r.registered, openPanels: Number(r.openPanels), stake: r.stake };
  }
  referees(): Promise<readonly Address[]> {
    return this.read("referees");
  }
  disputeCount(): Promise<bigint> {
    return this.read("disputeCount");
  }
  refereeStake(): Promise<bigint> {
    return this.read("refereeStake");
  }
  /** Pull-payment balance in the game (returned bonds, a referee's stake after leaving). */
  balanceOf(who: Address = this.me): Promise<bigint> {
    return this.read("balanceOf", [who]);
  }

  // ---------------------------------------------------------------- events

  private async events(eventName: GameEvent, args: Record<string, unknown> | undefined, fromBlock?: bigint): Promise<{ args: Record<string, unknown>; blockNumber: bigint }[]> {
    const head = await this.client.getBlockNumber({ cacheTime: 0 });
    const from = fromBlock ?? this.fromBlock;
    if (from > head) return [];
    const logs = await scanEvents(this.client, { address: this.address, abi: disputeGameAbi, eventName, args, fromBlock: from, toBlock: head });
    return logs as unknown as { args: Record<string, unknown>; blockNumber: bigint }[];
  }

  /** Round challenges (and settlement requests) of a job, optionally of one round. */
  async roundChallenges(jobId: bigint, round?: number, fromBlock?: bigint): Promise<RoundChallenge[]> {
    const logs = await this.events("RoundChallenged", { jobId }, fromBlock);
    return logs
      .map((l) => ({ id: l.args.id as bigint, jobId: l.args.jobId as bigint, round: Number(l.args.round), challenger: l.args.challenger as Address, settlement: l.args.settlement as boolean, blockNumber: l.blockNumber }))
      .filter((c) => round === undefined || c.round === round);
  }

  /** Panels drawn since `fromBlock` (every dispute; filter by referee with `naming`). */
  async panelsDrawn(fromBlock?: bigint, naming?: Address): Promise<PanelDraw[]> {
    const logs = await this.events("PanelDrawn", undefined, fromBlock);
    const out = logs.map((l) => ({ id: l.args.id as bigint, panel: Number(l.args.panel), referees: [...(l.args.referees as Address[])], deadline: l.args.deadline as bigint, blockNumber: l.blockNumber }));
    return naming ? out.filter((p) => p.referees.some((r) => r.toLowerCase() === naming.toLowerCase())) : out;
  }

  /** The verdict of a closed dispute, from its DisputeResolved event. */
  async verdict(id: bigint, fromBlock?: bigint): Promise<{ verdict: (typeof Verdict)[number]; paidMask: number; wrongMask: number } | undefined> {
    const logs = await this.events("DisputeResolved", { id }, fromBlock);
    const l = logs.at(-1);
    return l ? { verdict: Verdict[Number(l.args.verdict)], paidMask: Number(l.args.paidMask), wrongMask: Number(l.args.wrongMask) } : undefined;
  }

  // ---------------------------------------------------------------- transactions

  /** Approves `amount` of the token to the game unless the allowance already covers it. */
  private async approve(amount: bigint): Promise<void> {
    const allowance = await this.client.readContract({ address: this.token, abi: testTokenAbi, functionName: "allowance", args: [this.me, this.address] });
    if (allowance >= amount) return;
    const held = await this.client.readContract({ address: this.token, abi: testTokenAbi, functionName: "balanceOf", args: [this.me] });
    if (held < amount) throw new Error(`${this.me} holds ${held} token base units, less than the ${amount} the dispute game pulls; fund the account first`);
    await this.sender.send({ address: this.token, abi: testTokenAbi, functionName: "approve", args: [this.address, amount] });
  }

  /**
   * Challenges a finalized round ("not the deterministic aggregate"), or asks for the settlement of
   * a round that expired with a reserve; posts the job's challenge bond. Returns the dispute id.
   */
  async challengeRound(jobId: bigint, round: number): Promise<bigint> {
    const params = await this.client.readContract({ address: (await this.marketAddress()), abi: trainingMarketAbi, functionName: "jobParams", args: [jobId] });
    await this.approve(params.challengeBond);
    const receipt = await this.sender.send({ address: this.address, abi: disputeGameAbi, functionName: "challengeRound", args: [jobId, round] });
    const ev = parseEventLogs({ abi: disputeGameAbi, eventName: "RoundChallenged", logs: receipt.logs }).find((l) => l.address.toLowerCase() === this.address.toLowerCase());
    if (!ev) throw new Error(`challengeRound(${jobId}, ${round}) was mined without a RoundChallenged event (transaction ${receipt.transactionHash})`);
    return ev.args.id;
  }

  async voteRound(id: bigint, modelHash: Hex, includedMask: number): Promise<void> {
    await this.sender.send({ address: this.address, abi: disputeGameAbi, functionName: "voteRound", args: [id, modelHash, includedMask] });
  }

  async voteStep(id: bigint, correct: boolean): Promise<void> {
    await this.sender.send({ address: this.address, abi: disputeGameAbi, functionName: "voteStep", args: [id, correct] });
  }

  /** Settles a dispute whose panel all voted or whose deadline passed; false when it is not due (or already closed). */
  async resolve(id: bigint): Promise<boolean> {
    try {
      await this.sender.send({ address: this.address, abi: disputeGameAbi, functionName: "resolve", args: [id] });
      return true;
    } catch (err) {
      if (err instanceof ContractRevertError && ["NotDue", "WrongPhase"].includes(err.errorName)) return false;
      throw err;
    }
  }

  /** Locks the referee stake (approving it first); a no-op when already a referee. Returns the stake locked. */
  async registerReferee(): Promise<bigint> {
    const r = await this.referee();
    if (r.registered) return r.stake;
    const stake = await this.refereeStake();
    await this.approve(stake);
    await this.sender.send({ address: this.address, abi: disputeGameAbi, functionName: "registerReferee", args: [] });
    return stake;
  }

  /** Leaves the referee set (on no open panel); the remaining stake is credited to the game balance. */
  async leaveReferees(): Promise<void> {
    await this.sender.send({ address: this.address, abi: disputeGameAbi, functionName: "leaveReferees", args: [] });
  }

  /** Withdraws the caller's game balance; returns the amount (0 when there was nothing). */
  async withdraw(): Promise<bigint> {
    const amount = await this.balanceOf();
    if (amount === 0n) return 0n;
    await this.sender.send({ address: this.address, abi: disputeGameAbi, functionName: "withdraw", args: [] });
    return amount;
  }

  private marketAddr: Address | undefined;
  /** The market the game judges (immutable). */
  async marketAddress(): Promise<Address> {
    return (this.marketAddr ??= await this.read<Address>("market"));
  }
}
