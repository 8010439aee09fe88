/**
 * Event handlers: every row in the database is derived here from ProviderRegistry and
 * TrainingMarket events (contracts/interfaces/*.sol), in log order. Handlers are synchronous in
 * spirit (the store answers from memory); they never call the chain.
 */
import { decodeEventLog, getAddress, toEventSelector, type AbiEvent, type Address, type Hex } from "viem";
import { providerRegistryAbi, trainingMarketAbi } from "../shared/abis.ts";
import { decodeLoss } from "../shared/eip712.ts";
import { ChallengeStatus, CreditKind, JobStatus, PenaltyReason } from "../shared/types.ts";
import type { Account, Challenge, Job, JobWorker, Network, Provider, Round } from "./generated/sqlite/client.ts";
import type { Store } from "./store.ts";

export interface RawLog {
  address: Hex;
  topics: Hex[];
  data: Hex;
  blockNumber: bigint;
  blockHash: Hex;
  logIndex: number;
  transactionHash: Hex;
  /** Unix seconds, when the node includes it (or filled in from the block header). */
  blockTimestamp?: bigint;
}

export interface HandlerContext {
  store: Store;
  /** The market's payment token (TrainingMarket.token()). */
  token: Address;
  registry: Address;
  market: Address;
}

interface DecodedEvent {
  name: string;
  args: Record<string, unknown>;
}

type Source = "registry" | "market";
const events = new Map<string, { source: Source; item: AbiEvent }>();
for (const [source, abi] of [["registry", providerRegistryAbi], ["market", trainingMarketAbi]] as const) {
  for (const item of abi as readonly { type: string }[]) {
    if (item.type !== "event") continue;
    const ev = item as unknown as AbiEvent;
    events.set(`${source}:${toEventSelector(ev)}`, { source, item: ev });
  }
}

export function decode(log: RawLog, source: Source): DecodedEvent | undefined {
  const hit = events.get(`${source}:${log.topics[0]}`);
  if (!hit) return undefined;
  const d = decodeEventLog({ abi: [hit.item], data: log.data, topics: log.topics as [Hex, ...Hex[]], strict: true });
  return { name: d.eventName as string, args: d.args as unknown as Record<string, unknown> };
}

const add = (a: string, b: bigint): string => (BigInt(a) + b).toString();
const sub = (a: string, b: bigint): string => {
  const r = BigInt(a) - b;
  return (r < 0n ? 0n : r).toString();
};
const bit = (index: number): bigint => 1n << BigInt(index);
const LIVE = new Set(["Open", "Running"]);

export async function network(store: Store, block: bigint): Promise<Network> {
  let n = await store.mut<Network>("network", 1);
  if (!n) {
    n = store.create<Network>("network", {
      id: 1,
      jobsCreated: 0,
      registeredProviders: 0,
      escrowed: "0",
      rewardsPaid: "0",
      feesPaid: "0",
      refunded: "0",
      slashed: "0",
      withdrawn: "0",
      eventsIndexed: 0n,
      treasury: null,
      protocolFeeBps: null,
      challengeBountyBps: null,
      arbitrationPeriod: null,
      minStake: null,
      unbondingDelay: null,
      updatedBlock: block,
    });
  }
  n.updatedBlock = block;
  return n;
}

async function account(store: Store, address: Address, block: bigint): Promise<Account> {
  let a = await store.mut<Account>("account", address);
  if (!a) a = store.create<Account>("account", { address, credited: "0", withdrawn: "0", balance: "0", updatedBlock: block });
  a.updatedBlock = block;
  return a;
}

async function job(store: Store, id: bigint, block: bigint): Promise<Job> {
  const j = await store.must<Job>("job", id);
  j.updatedBlock = block;
  return j;
}

async function worker(store: Store, jobId: bigint, address: Address, block: bigint): Promise<JobWorker> {
  const w = await store.must<JobWorker>("job_worker", `${jobId}-${address}`);
  w.updatedBlock = block;
  return w;
}

async function round(store: Store, jobId: bigint, r: number, block: bigint): Promise<Round> {
  const row = await store.must<Round>("round", `${jobId}-${r}`);
  row.updatedBlock = block;
  return row;
}

/** A job left Open/Running: its active workers stop counting as busy providers. */
async function endJob(store: Store, j: Job, status: string, block: bigint, timestamp: bigint, refund: bigint): Promise<void> {
  const wasLive = LIVE.has(j.status);
  const net = await network(store, block);
  net.escrowed = sub(net.escrowed, BigInt(j.escrow));
  j.status = status;
  j.endedAt = timestamp;
  j.escrow = "0";
  j.refunded = add(j.refunded, refund);
  if (j.currentRound !== null) {
    const rd = await store.mut<Round>("round", `${j.id}-${j.currentRound}`);
    if (rd && rd.status === "Active") {
      rd.status = "Aborted";
      rd.closedAt ??= timestamp;
      rd.closedBlock ??= block;
      rd.updatedBlock = block;
    }
  }
  if (wasLive) {
    for (const w of await store.workersOf<JobWorker>(j.id)) {
      if (!w.active) continue;
      const p = await store.mut<Provider>("provider", w.worker);
      if (p && p.activeJobs > 0) {
        p.activeJobs -= 1;
        p.updatedBlock = block;
      }
    }
  }
}

function stakeChange(store: Store, log: RawLog, ts: bigint, provider: Address, kind: string, amount: bigint, stakeAfter: bigint | null, market: Address | null) {
  store.create("stake_change", {
    id: `${log.blockNumber}-${log.logIndex}`,
    provider,
    kind,
    amount: amount.toString(),
    stakeAfter: stakeAfter === null ? null : stakeAfter.toString(),
    market,
    block: log.blockNumber,
    logIndex: log.logIndex,
    txHash: log.transactionHash,
    timestamp: ts,
  });
}

/** Applies one log. Returns the event name, or undefined for logs of no interest. */
export async function handleLog(ctx: HandlerContext, log: RawLog, ts: bigint): Promise<string | undefined> {
  const addr = getAddress(log.address);
  const source: Source | undefined = addr === ctx.registry ? "registry" : addr === ctx.market ? "market" : undefined;
  if (!source) return undefined;
  const ev = decode(log, source);
  if (!ev) return undefined;
  const { store } = ctx;
  const a = ev.args as Record<string, never>;
  const b = log.blockNumber;
  const net = await network(store, b);
  net.eventsIndexed += 1n;

  if (source === "registry") {
    switch (ev.name) {
      case "ProviderRegistered": {
        const address = a.provider as Address;
        const stake = a.stake as bigint;
        store.create<Provider>("provider", {
          address,
          attestationSigner: a.attestationSigner,
          attestationReportHash: a.attestationReportHash,
          metadataURI: a.metadataURI,
          stake: stake.toString(),
          bonded: "0",
          unbonding: "0",
          unbondingReadyAt: null,
          slashedTotal: "0",
          jobsJoined: 0,
          activeJobs: 0,
          registeredBlock: b,
          registeredAt: ts,
          updatedBlock: b,
        });
        net.registeredProviders += 1;
        stakeChange(store, log, ts, address, "Registered", stake, stake, null);
        break;
      }
      case "StakeAdded": {
        const p = await store.must<Provider>("provider", a.provider);
        p.stake = (a.newStake as bigint).toString();
        p.updatedBlock = b;
        stakeChange(store, log, ts, a.provider, "Added", a.amount, a.newStake, null);
        break;
      }
      case "UnbondRequested": {
        const p = await store.must<Provider>("provider", a.provider);
        p.unbonding = (a.totalUnbonding as bigint).toString();
        p.unbondingReadyAt = a.readyAt as bigint;
        p.updatedBlock = b;
        stakeChange(store, log, ts, a.provider, "UnbondRequested", a.amount, null, null);
        break;
      }
      case "UnbondCancelled": {
        const p = await store.must<Provider>("provider", a.provider);
        p.unbonding = "0";
        p.unbondingReadyAt = null;
        p.updatedBlock = b;
        stakeChange(store, log, ts, a.provider, "UnbondCancelled", a.amount, null, null);
        break;
      }
      case "UnbondWithdrawn": {
        const p = await store.must<Provider>("provider", a.provider);
        p.unbonding = "0";
        p.unbondingReadyAt = null;
        p.stake = (a.newStake as bigint).toString();
        p.updatedBlock = b;
        stakeChange(store, log, ts, a.provider, "UnbondWithdrawn", a.amount, a.newStake, null);
        break;
      }
      case "AttestationKeyRotated": {
        const p = await store.must<Provider>("provider", a.provider);
        p.attestationSigner = a.newSigner;
        p.attestationReportHash = a.attestationReportHash;
        p.updatedBlock = b;
        break;
      }
      case "MetadataUpdated": {
        const p = await store.must<Provider>("provider", a.provider);
        p.metadataURI = a.metadataURI;
        p.updatedBlock = b;
        break;
      }
      case "BondLocked":
      case "BondReleased": {
        const p = await store.must<Provider>("provider", a.provider);
        p.bonded = (a.totalBonded as bigint).toString();
        p.updatedBlock = b;
        stakeChange(store, log, ts, a.provider, ev.name, a.amount, null, a.market);
        break;
      }
      case "StakeSlashed": {
        const p = await store.must<Provider>("provider", a.provider);
        p.stake = (a.newStake as bigint).toString();
        p.bonded = (a.totalBonded as bigint).toString();
        p.slashedTotal = add(p.slashedTotal, a.amount);
        p.updatedBlock = b;
        net.slashed = add(net.slashed, a.amount);
        stakeChange(store, log, ts, a.provider, "Slashed", a.amount, a.newStake, a.market);
        break;
      }
      case "MinStakeUpdated":
        net.minStake = (a.minStake as bigint).toString();
        break;
      case "UnbondingDelayUpdated":
        net.unbondingDelay = a.delay as bigint;
        break;
      default:
        break;
    }
    return ev.name;
  }

  switch (ev.name) {
    case "JobCreated": {
      const p = a.params as Record<string, never>;
      const jobId = a.jobId as bigint;
      const escrow = a.escrow as bigint;
      store.create<Job>("job", {
        id: jobId,
        poster: a.poster,
        // no arbiter since issue 13 (disputes go to the DisputeGame); column kept until a 0003_disputes migration
        arbiter: a.arbiter ?? "0x0000000000000000000000000000000000000000",
        token: ctx.token,
        status: "Open",
        specHash: p.specHash,
        initialModelHash: p.initialModelHash,
        modelHash: p.initialModelHash,
        rewardPerRound: (p.rewardPerRound as bigint).toString(),
        workerBond: (p.workerBond as bigint).toString(),
        challengeBond: (p.challengeBond as bigint).toString(),
        rounds: p.rounds,
        maxWorkers: p.maxWorkers,
        minWorkers: p.minWorkers,
        quorumBps: p.quorumBps,
        penaltyBps: p.penaltyBps,
        joinWindow: p.joinWindow,
        commitWindow: p.commitWindow,
        voteWindow: p.voteWindow,
        challengeWindow: p.challengeWindow,
        feePerReward: (a.feePerReward as bigint).toString(),
        escrowInitial: escrow.toString(),
        escrow: escrow.toString(),
        totalPaid: "0",
        refunded: "0",
        slashed: "0",
        workerCount: 0,
        activeWorkerCount: 0,
        currentRound: null,
        roundsFinalized: 0,
        // createdAt is exact from the event itself: joinDeadline = block.timestamp + joinWindow
        createdAt: (a.joinDeadline as bigint) - BigInt(p.joinWindow as number),
        joinDeadline: a.joinDeadline,
        startedAt: null,
        endedAt: null,
        createdBlock: b,
        txHash: log.transactionHash,
        updatedBlock: b,
        // written by the API (publishJobSpec, reportJobSample), never by the indexer: store.ts `external`
        name: null,
        sample: null,
        samplePrompt: null,
        sampleModelHash: null,
      });
      net.jobsCreated += 1;
      net.escrowed = add(net.escrowed, escrow);
      break;
    }
    case "WorkerJoined": {
      const j = await job(store, a.jobId, b);
      store.create<JobWorker>("job_worker", {
        id: `${a.jobId}-${a.worker}`,
        jobId: a.jobId,
        worker: a.worker,
        index: a.index,
        bond: (a.bond as bigint).toString(),
        active: true,
        removedReason: null,
        removedAt: null,
        bondReleased: false,
        bondReleasedAmount: null,
        earned: "0",
        slashed: "0",
        commits: 0,
        openChallenges: 0,
        joinedBlock: b,
        joinedAt: ts,
        updatedBlock: b,
      });
      j.workerCount = (a.index as number) + 1;
      j.activeWorkerCount += 1;
      const p = await store.mut<Provider>("provider", a.worker);
      if (p) {
        p.jobsJoined += 1;
        p.activeJobs += 1;
        p.updatedBlock = b;
      }
      break;
    }
    case "JobStarted": {
      const j = await job(store, a.jobId, b);
      const escrow = a.escrow as bigint;
      net.escrowed = sub(net.escrowed, BigInt(j.escrow) - escrow);
      j.escrow = escrow.toString();
      j.refunded = add(j.refunded, a.refundedUnusedSlots);
      j.status = "Running";
      j.startedAt = ts;
      break;
    }
    case "RoundStarted": {
      const j = await job(store, a.jobId, b);
      j.currentRound = a.round;
      j.modelHash = a.modelHash;
      store.create<Round>("round", {
        id: `${a.jobId}-${a.round}`,
        jobId: a.jobId,
        round: a.round,
        status: "Active",
        startModelHash: a.modelHash,
        resultModelHash: null,
        commitDeadline: a.commitDeadline,
        voteDeadline: null,
        committedMask: 0n,
        votedMask: 0n,
        includedMask: null,
        rewardedMask: null,
        totalPaid: null,
        commitCount: 0,
        voteCount: 0,
        trainLossSum: "0",
        evalLoss: null,
        evalLossSource: null,
        startedBlock: b,
        startedAt: ts,
        closedBlock: null,
        closedAt: null,
        updatedBlock: b,
      });
      break;
    }
    case "UpdateCommitted": {
      const w = await worker(store, a.jobId, a.worker, b);
      const rd = await round(store, a.jobId, a.round, b);
      const loss = a.trainLoss as bigint;
      store.create("commitment", {
        id: `${a.jobId}-${a.round}-${a.worker}`,
        jobId: a.jobId,
        round: a.round,
        worker: a.worker,
        updateHash: a.updateHash,
        trainLoss: loss.toString(),
        loss: decodeLoss(loss),
        block: b,
        logIndex: log.logIndex,
        txHash: log.transactionHash,
        timestamp: ts,
      });
      rd.committedMask |= bit(w.index);
      rd.commitCount += 1;
      rd.trainLossSum = add(rd.trainLossSum, loss);
      w.commits += 1;
      break;
    }
    case "VotingStarted": {
      const rd = await round(store, a.jobId, a.round, b);
      rd.voteDeadline = a.voteDeadline;
      break;
    }
    case "ResultSubmitted": {
      const w = await worker(store, a.jobId, a.worker, b);
      const rd = await round(store, a.jobId, a.round, b);
      store.create("vote", {
        id: `${a.jobId}-${a.round}-${a.worker}`,
        jobId: a.jobId,
        round: a.round,
        worker: a.worker,
        modelHash: a.modelHash,
        includedMask: BigInt(a.includedMask as number),
        block: b,
        logIndex: log.logIndex,
        txHash: log.transactionHash,
        timestamp: ts,
      });
      rd.votedMask |= bit(w.index);
      rd.voteCount += 1;
      break;
    }
    case "RoundFinalized": {
      const j = await job(store, a.jobId, b);
      const rd = await round(store, a.jobId, a.round, b);
      const paid = a.totalPaid as bigint;
      rd.status = "Finalized";
      rd.resultModelHash = a.modelHash;
      rd.includedMask = BigInt(a.includedMask as number);
      rd.rewardedMask = BigInt(a.rewardedMask as number);
      rd.totalPaid = paid.toString();
      rd.closedAt = ts;
      rd.closedBlock = b;
      j.modelHash = a.modelHash;
      j.escrow = sub(j.escrow, paid);
      j.totalPaid = add(j.totalPaid, paid);
      j.roundsFinalized += 1;
      net.escrowed = sub(net.escrowed, paid);
      break;
    }
    case "RoundExpired": {
      const rd = await round(store, a.jobId, a.round, b);
      rd.status = "Expired";
      rd.closedAt = ts;
      rd.closedBlock = b;
      break;
    }
    case "WorkerPenalized": {
      const j = await job(store, a.jobId, b);
      const w = await worker(store, a.jobId, a.worker, b);
      const amount = a.amount as bigint;
      store.create("slash", {
        id: `${b}-${log.logIndex}`,
        provider: a.worker,
        jobId: a.jobId,
        round: a.round,
        reason: PenaltyReason[a.reason as number] ?? String(a.reason),
        amount: amount.toString(),
        block: b,
        logIndex: log.logIndex,
        txHash: log.transactionHash,
        timestamp: ts,
      });
      w.slashed = add(w.slashed, amount);
      // the slot's bond on chain shrinks by every penalty (MarketBase._slash)
      w.bond = (BigInt(w.bond) - amount).toString();
      j.slashed = add(j.slashed, amount);
      break;
    }
    case "WorkerRemoved": {
      const j = await job(store, a.jobId, b);
      const w = await worker(store, a.jobId, a.worker, b);
      if (w.active) {
        w.active = false;
        w.removedReason = PenaltyReason[a.reason as number] ?? String(a.reason);
        w.removedAt = ts;
        j.activeWorkerCount = Math.max(0, j.activeWorkerCount - 1);
        if (LIVE.has(j.status)) {
          const p = await store.mut<Provider>("provider", a.worker);
          if (p && p.activeJobs > 0) {
            p.activeJobs -= 1;
            p.updatedBlock = b;
          }
        }
      }
      break;
    }
    case "JobCompleted": {
      const j = await job(store, a.jobId, b);
      j.modelHash = a.finalModelHash;
      await endJob(store, j, "Completed", b, ts, a.refund);
      break;
    }
    case "JobFailed": {
      const j = await job(store, a.jobId, b);
      await endJob(store, j, "Failed", b, ts, a.refund);
      break;
    }
    case "JobCancelled": {
      const j = await job(store, a.jobId, b);
      const paid = a.paidInFlight as bigint;
      if (paid > 0n) {
        j.totalPaid = add(j.totalPaid, paid);
        j.escrow = sub(j.escrow, paid);
        net.escrowed = sub(net.escrowed, paid);
      }
      await endJob(store, j, "Cancelled", b, ts, a.refund);
      break;
    }
    case "Credited": {
      const kind = CreditKind[a.kind as number] ?? String(a.kind);
      const amount = a.amount as bigint;
      const jobId = a.jobId as bigint;
      store.create("payout", {
        id: `${b}-${log.logIndex}`,
        account: a.account,
        jobId,
        kind,
        amount: amount.toString(),
        block: b,
        logIndex: log.logIndex,
        txHash: log.transactionHash,
        timestamp: ts,
      });
      const acc = await account(store, a.account, b);
      acc.credited = add(acc.credited, amount);
      acc.balance = add(acc.balance, amount);
      if (kind === "Reward") {
        net.rewardsPaid = add(net.rewardsPaid, amount);
        const w = await store.mut<JobWorker>("job_worker", `${jobId}-${a.account}`);
        if (w) {
          w.earned = add(w.earned, amount);
          w.updatedBlock = b;
          // rewards are credited at bond release, after the job ended (issue 13): announce the job as changed
          await job(store, jobId, b);
        }
      } else if (kind === "Fee") net.feesPaid = add(net.feesPaid, amount);
      else if (kind === "Refund") net.refunded = add(net.refunded, amount);
      break;
    }
    case "Withdrawn": {
      const amount = a.amount as bigint;
      store.create("payout", {
        id: `${b}-${log.logIndex}`,
        account: a.account,
        jobId: null,
        kind: "Withdrawal",
        amount: amount.toString(),
        block: b,
        logIndex: log.logIndex,
        txHash: log.transactionHash,
        timestamp: ts,
      });
      const acc = await account(store, a.account, b);
      acc.withdrawn = add(acc.withdrawn, amount);
      acc.balance = sub(acc.balance, amount);
      net.withdrawn = add(net.withdrawn, amount);
      break;
    }
    case "ChallengeOpened": {
      store.create<Challenge>("challenge", {
        id: a.challengeId,
        jobId: a.jobId,
        round: a.round,
        worker: a.worker,
        challenger: a.challenger,
        bond: (a.bond as bigint).toString(),
        status: "Open",
        slashed: null,
        bounty: null,
        bondPaidOut: null,
        openedBlock: b,
        openedAt: ts,
        resolvedBlock: null,
        resolvedAt: null,
        updatedBlock: b,
      });
      const w = await store.mut<JobWorker>("job_worker", `${a.jobId}-${a.worker}`);
      if (w) {
        w.openChallenges += 1;
        w.updatedBlock = b;
      }
      break;
    }
    case "ChallengeResolved": {
      const c = await store.must<Challenge>("challenge", a.challengeId);
      c.status = ChallengeStatus[a.status as number] ?? String(a.status);
      c.slashed = (a.slashed as bigint).toString();
      c.bounty = (a.bounty as bigint).toString();
      c.bondPaidOut = (a.bondPaidOut as bigint).toString();
      c.resolvedBlock = b;
      c.resolvedAt = ts;
      c.updatedBlock = b;
      const w = await store.mut<JobWorker>("job_worker", `${c.jobId}-${c.worker}`);
      if (w && w.openChallenges > 0) {
        w.openChallenges -= 1;
        w.updatedBlock = b;
      }
      break;
    }
    case "BondReleased": {
      const w = await worker(store, a.jobId, a.worker, b);
      w.bondReleased = true;
      w.bondReleasedAmount = (a.amount as bigint).toString();
      w.bond = "0"; // as the slot on chain: the released bond is no longer held
      break;
    }
    case "TreasuryUpdated":
      net.treasury = a.treasury;
      break;
    case "ProtocolFeeUpdated":
      net.protocolFeeBps = a.feeBps;
      break;
    case "ChallengeBountyUpdated":
      net.challengeBountyBps = a.bountyBps;
      break;
    case "ArbitrationPeriodUpdated":
      net.arbitrationPeriod = a.period as bigint;
      break;
    default:
      break;
  }
  return ev.name;
}

export { JobStatus };
