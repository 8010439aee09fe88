/**
 * Event handlers: every row in the database is derived here from ProviderRegistry, TrainingMarket
 * and DisputeGame events (contracts/interfaces/*.sol), in log order. Handlers are synchronous in
 * spirit (the store answers from memory); they never call the chain (the game's move window, an
 * immutable, is read once at start-up and passed in the context).
 */
import { decodeEventLog, getAddress, toEventSelector, type AbiEvent, type Address, type Hex } from "viem";
import { disputeGameAbi, providerRegistryAbi, trainingMarketAbi } from "../shared/abis.ts";
import { decodeLoss } from "../shared/eip712.ts";
import { CreditKind, DisputeVerdict, JobStatus, maskIndices, PenaltyReason } from "../shared/types.ts";
import type { Account, Dispute, DisputePanel, Job, JobWorker, Network, PanelMember, Provider, Referee, Round } from "./generated/sqlite/client.ts";
import type { Store, TableName } from "./store.ts";

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
  /** The market's DisputeGame, once known (TrainingMarket.disputeGame()). */
  game?: Address;
  /** DisputeGame.moveWindow() (an immutable): a move's deadline is its block time plus this. */
  moveWindow?: bigint;
}

interface DecodedEvent {
  name: string;
  args: Record<string, unknown>;
}

type Source = "registry" | "market" | "game";
const events = new Map<string, { source: Source; item: AbiEvent }>();
for (const [source, abi] of [["registry", providerRegistryAbi], ["market", trainingMarketAbi], ["game", disputeGameAbi]] as const) {
  for (const item of abi as readonly { type: string }[]) {
    if (item.type !== "event") continue;
    const ev = item as unknown as AbiEvent;
    events.set(`${source}:${toEventSelector(ev)}`, { source, item: ev });
  }
}

/**
 * A decoder for events whose parameters are all static words (uintN, intN, address, bool, bytesN):
 * each parameter is one 32-byte word of the topics or the data, read straight from the hex. Gives the
 * same values as viem's decodeEventLog (numbers for integers up to 48 bits, bigints above, checksummed
 * addresses); any other shape, or a log whose size does not match, goes to viem.
 */
type Word = (w: string) => unknown;
function wordDecoder(type: string): Word | undefined {
  if (type === "address") return (w) => getAddress(`0x${w.slice(24)}`);
  if (type === "bool") return (w) => BigInt(`0x${w}`) !== 0n;
  const bytes = /^bytes([0-9]+)$/.exec(type);
  if (bytes) {
    const n = Number(bytes[1]);
    return n >= 1 && n <= 32 ? (w) => `0x${w.slice(0, 2 * n)}` : undefined;
  }
  const int = /^(u?)int([0-9]*)$/.exec(type);
  if (!int) return undefined;
  const bits = int[2] ? Number(int[2]) : 256;
  const signed = int[1] === "";
  const half = 1n << BigInt(bits - 1);
  const full = 1n << BigInt(bits);
  return (w) => {
    let v = BigInt(`0x${w}`);
    if (signed && v >= half) v -= full;
    return bits <= 48 ? Number(v) : v;
  };
}
function fastDecoder(ev: AbiEvent): ((log: RawLog) => DecodedEvent | undefined) | undefined {
  const topics: [string, Word][] = [];
  const data: [string, Word][] = [];
  for (const input of ev.inputs) {
    const w = wordDecoder(input.type);
    if (!w || !input.name) return undefined;
    ((input as { indexed?: boolean }).indexed ? topics : data).push([input.name, w]);
  }
  return (log) => {
    if (log.topics.length !== topics.length + 1 || log.data.length !== 2 + 64 * data.length) return undefined;
    const args: Record<string, unknown> = {};
    for (let i = 0; i < topics.length; i++) args[topics[i][0]] = topics[i][1](log.topics[i + 1].slice(2));
    for (let i = 0; i < data.length; i++) args[data[i][0]] = data[i][1](log.data.slice(2 + 64 * i, 66 + 64 * i));
    return { name: ev.name, args };
  };
}
const fast = new Map<AbiEvent, ReturnType<typeof fastDecoder>>();
for (const { item } of events.values()) fast.set(item, fastDecoder(item));

export function decode(log: RawLog, source: Source): DecodedEvent | undefined {
  const hit = events.get(`${source}:${log.topics[0]}`);
  if (!hit) return undefined;
  const quick = fast.get(hit.item)?.(log);
  if (quick) return quick;
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
      disputeGame: null,
      pausedTotal: 0n,
      pausedSince: null,
      maxPenaltyBps: null,
      minCommitWindow: null,
      minVoteWindow: null,
      minChallengeWindow: null,
      minBondToReward: null,
      maxBondToReward: null,
      disputesOpened: 0,
      disputesOpen: 0,
      referees: 0,
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
  if (!a) a = store.create<Account>("account", { address, credited: "0", withdrawn: "0", balance: "0", gameCredited: "0", gameWithdrawn: "0", gameBalance: "0", updatedBlock: block });
  a.updatedBlock = block;
  return a;
}

/** A row that must exist, marked as changed in `block`. */
async function touch<T extends { updatedBlock: bigint }>(store: Store, table: TableName, key: string | bigint, block: bigint): Promise<T> {
  const row = await store.must<T & Record<string, unknown>>(table, key);
  row.updatedBlock = block;
  return row;
}

const job = (store: Store, id: bigint, block: bigint) => touch<Job>(store, "job", id, block);
const worker = (store: Store, jobId: bigint, address: Address, block: bigint) => touch<JobWorker>(store, "job_worker", `${jobId}-${address}`, block);

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
  j.joiningWorkerCount = 0;
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
      if (w.joining) {
        // joined the running job during its last round: the job ended before the next round could activate it
        const row = await touch<JobWorker>(store, "job_worker", w.id, block);
        row.joining = false;
        continue;
      }
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
  const source: Source | undefined = addr === ctx.registry ? "registry" : addr === ctx.market ? "market" : ctx.game !== undefined && addr === ctx.game ? "game" : undefined;
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
  if (source === "game") {
    await handleGameEvent(ctx, ev.name, a, log, ts, net);
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
        reserved: "0",
        openDisputes: 0,
        cancelAt: null,
        workerCount: 0,
        activeWorkerCount: 0,
        joiningWorkerCount: 0,
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
      // elastic membership: a worker joining a running job waits for the next round to become active
      // (WorkersActivated); until then it counts in neither activeWorkerCount nor its provider's activeJobs
      const running = j.status === "Running";
      store.create<JobWorker>("job_worker", {
        id: `${a.jobId}-${a.worker}`,
        jobId: a.jobId,
        worker: a.worker,
        index: a.index,
        bond: (a.bond as bigint).toString(),
        active: !running,
        joining: running,
        joinedRound: running ? j.currentRound : null,
        activeFromRound: running ? null : 0,
        removedReason: null,
        removedAt: null,
        removedRound: null,
        bondReleased: false,
        bondReleasedAmount: null,
        earned: "0",
        slashed: "0",
        clawedBack: "0",
        commits: 0,
        openDisputes: 0,
        joinedBlock: b,
        joinedAt: ts,
        updatedBlock: b,
      });
      j.workerCount = (a.index as number) + 1;
      if (running) j.joiningWorkerCount += 1;
      else j.activeWorkerCount += 1;
      const p = await store.mut<Provider>("provider", a.worker);
      if (p) {
        p.jobsJoined += 1;
        if (!running) p.activeJobs += 1;
        p.updatedBlock = b;
      }
      break;
    }
    case "WorkersActivated": {
      // emitted as `round` starts, just before its RoundStarted (which records the mask on the round row)
      const j = await job(store, a.jobId, b);
      const mask = BigInt(a.mask as number);
      for (const w of await store.workersOf<JobWorker>(j.id)) {
        if ((mask & bit(w.index)) === 0n) continue;
        const row = await worker(store, j.id, w.worker as Address, b);
        if (row.joining) j.joiningWorkerCount = Math.max(0, j.joiningWorkerCount - 1);
        row.joining = false;
        row.active = true;
        row.activeFromRound = a.round;
        j.activeWorkerCount += 1;
        const p = await store.mut<Provider>("provider", row.worker);
        if (p) {
          p.activeJobs += 1;
          p.updatedBlock = b;
        }
      }
      break;
    }
    case "JobStarted": {
      const j = await job(store, a.jobId, b);
      const escrow = a.escrow as bigint;
      net.escrowed = sub(net.escrowed, BigInt(j.escrow) - escrow);
      j.escrow = escrow.toString();
      j.status = "Running";
      j.startedAt = ts;
      break;
    }
    case "RoundStarted": {
      const j = await job(store, a.jobId, b);
      j.currentRound = a.round;
      j.modelHash = a.modelHash;
      // who may work in this round, and who was activated as it started (WorkersActivated, same transaction)
      let activeMask = 0n;
      let joinedMask = 0n;
      for (const w of await store.workersOf<JobWorker>(j.id)) {
        if (!w.active) continue;
        activeMask |= bit(w.index);
        if (w.joinedRound !== null && w.activeFromRound === a.round) joinedMask |= bit(w.index);
      }
      store.create<Round>("round", {
        id: `${a.jobId}-${a.round}`,
        jobId: a.jobId,
        round: a.round,
        status: "Active",
        startModelHash: a.modelHash,
        resultModelHash: null,
        commitDeadline: a.commitDeadline,
        voteDeadline: null,
        pauseBase: net.pausedTotal,
        activeMask,
        joinedMask,
        departedMask: 0n,
        joinedCount: maskIndices(Number(joinedMask)).length,
        departedCount: 0,
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
        reserved: null,
        reserveRefunded: null,
        verdict: null,
        verdictModelHash: null,
        verdictIncludedMask: null,
        verdictPaidMask: null,
        verdictWrongMask: null,
        verdictBlock: null,
        verdictAt: null,
        clawedBack: "0",
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
        traceRoot: a.traceRoot,
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
        // a departure of the round in progress (the last round once the job ended)
        w.removedRound = j.currentRound;
        if (j.currentRound !== null) {
          const rd = await store.mut<Round>("round", `${j.id}-${j.currentRound}`);
          if (rd) {
            rd.departedMask = (rd.departedMask ?? 0n) | bit(w.index);
            rd.departedCount = maskIndices(Number(rd.departedMask)).length;
            rd.updatedBlock = b;
          }
        }
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
    case "DisputeGameUpdated":
      net.disputeGame = a.game;
      break;
    case "LimitsUpdated": {
      const l = a.limits as Record<string, never>;
      net.maxPenaltyBps = l.maxPenaltyBps;
      net.minCommitWindow = l.minCommitWindow;
      net.minVoteWindow = l.minVoteWindow;
      net.minChallengeWindow = l.minChallengeWindow;
      net.minBondToReward = BigInt(l.minBondToReward as number);
      net.maxBondToReward = l.maxBondToReward as bigint;
      break;
    }
    case "Paused":
      net.pausedSince = ts;
      break;
    case "Unpaused":
      // as TrainingMarket.unpause: pausedTotal += now − pausedSince
      if (net.pausedSince !== null) net.pausedTotal += ts - net.pausedSince;
      net.pausedSince = null;
      break;
    case "CancelRequested": {
      const j = await job(store, a.jobId, b);
      j.cancelAt = a.effectiveAt as bigint;
      break;
    }
    case "DisputeLock": {
      const j = await job(store, a.jobId, b);
      j.openDisputes = a.openDisputes;
      break;
    }
    case "RoundReserved": {
      // the voters' share of the escrow leaves the job's escrow for a per-round reserve
      const j = await job(store, a.jobId, b);
      const rd = await round(store, a.jobId, a.round, b);
      const reserve = a.reserved as bigint;
      rd.reserved = reserve.toString();
      j.escrow = sub(j.escrow, reserve);
      j.reserved = add(j.reserved, reserve);
      net.escrowed = sub(net.escrowed, reserve);
      break;
    }
    case "ReserveReleased": {
      const j = await job(store, a.jobId, b);
      const rd = await round(store, a.jobId, a.round, b);
      rd.reserveRefunded = (a.refund as bigint).toString();
      j.reserved = sub(j.reserved, a.refund);
      j.refunded = add(j.refunded, a.refund);
      break;
    }
    case "RoundSettled":
    case "RoundOverturned": {
      const rd = await round(store, a.jobId, a.round, b);
      const settled = ev.name === "RoundSettled";
      rd.verdict = settled ? "Settled" : "Overturned";
      rd.verdictModelHash = a.modelHash;
      rd.verdictIncludedMask = BigInt(a.includedMask as number);
      rd.verdictPaidMask = BigInt((settled ? a.paidMask : a.honestMask) as number);
      rd.verdictWrongMask = BigInt(a.wrongMask as number);
      rd.verdictBlock = b;
      rd.verdictAt = ts;
      if (settled) {
        // the reserve is paid out: rewards accrued to the correct voters, fees, the rest refunded (Credited)
        const j = await job(store, a.jobId, b);
        j.reserved = sub(j.reserved, BigInt(rd.reserved ?? "0"));
      }
      break;
    }
    case "RewardClawedBack": {
      const w = await worker(store, a.jobId, a.worker, b);
      const rd = await round(store, a.jobId, a.round, b);
      w.clawedBack = add(w.clawedBack, a.amount);
      rd.clawedBack = add(rd.clawedBack, a.amount);
      break;
    }
    default:
      break;
  }
  return ev.name;
}

// ------------------------------------------------------------------ DisputeGame

const STEP_CORRECT = `0x${"0".repeat(63)}1`;
const STEP_WRONG = `0x${"0".repeat(63)}2`;

/** The market's paused time at `ts` (MarketBase.pausedTime): ended pauses plus the one in progress. */
const pausedTime = (net: Network, ts: bigint): bigint => net.pausedTotal + (net.pausedSince === null ? 0n : ts - net.pausedSince);

const dispute = (store: Store, id: bigint, block: bigint) => touch<Dispute>(store, "dispute", id, block);
const referee = (store: Store, address: Address, block: bigint) => touch<Referee>(store, "referee", address, block);

/** The dispute's current panel was tallied (or the dispute ended): its members' seats are free again. */
async function closePanel(store: Store, d: Dispute, status: string, block: bigint): Promise<void> {
  const p = await store.mut<DisputePanel>("dispute_panel", `${d.id}-${d.panelCount}`);
  if (!p || p.status !== "Voting") return;
  p.status = status;
  p.closedBlock = block;
  p.updatedBlock = block;
  for (const m of await store.rowsWhere<PanelMember>("panel_member", "panelId", p.id)) {
    const r = await store.mut<Referee>("referee", m.referee);
    if (r && r.openPanels > 0) {
      r.openPanels -= 1;
      r.updatedBlock = block;
    }
  }
}

type OpenFields = Pick<Dispute, "id" | "kind" | "jobId" | "round" | "worker" | "challenger" | "settlement" | "updateHash" | "traceRoot" | "hiLeaf">;

function openDispute(ctx: HandlerContext, net: Network, j: Job, fields: OpenFields, log: RawLog, ts: bigint): Dispute {
  return ctx.store.create<Dispute>("dispute", {
    ...fields,
    phase: "AwaitStart",
    // the job's challenge bond (an immutable job term), as DisputeGame._open reads it
    bond: j.challengeBond,
    lo: null,
    hi: null,
    mid: null,
    loLeaf: null,
    midLeaf: null,
    moveCount: 0,
    deadline: ctx.moveWindow === undefined ? null : ts + ctx.moveWindow,
    pauseBase: pausedTime(net, ts),
    panelCount: 0,
    votes: 0,
    verdict: null,
    paidMask: null,
    wrongMask: null,
    openedBlock: log.blockNumber,
    openedAt: ts,
    txHash: log.transactionHash,
    resolvedBlock: null,
    resolvedAt: null,
    updatedBlock: log.blockNumber,
  });
}

interface MoveFields {
  leaf?: Hex;
  publishedBy?: Address;
  agree?: boolean;
  agreedIndex?: number;
  agreedLeaf?: Hex;
  deadline?: bigint;
}

function move(store: Store, log: RawLog, ts: bigint, disputeId: bigint, kind: string, index: number, extra: MoveFields): void {
  store.create("dispute_move", {
    id: `${log.blockNumber}-${log.logIndex}`,
    disputeId,
    kind,
    index,
    leaf: extra.leaf ?? null,
    publishedBy: extra.publishedBy ?? null,
    agree: extra.agree ?? null,
    agreedIndex: extra.agreedIndex ?? null,
    agreedLeaf: extra.agreedLeaf ?? null,
    deadline: extra.deadline ?? null,
    block: log.blockNumber,
    logIndex: log.logIndex,
    txHash: log.transactionHash,
    timestamp: ts,
  });
}

async function handleGameEvent(ctx: HandlerContext, name: string, a: Record<string, never>, log: RawLog, ts: bigint, net: Network): Promise<void> {
  const { store } = ctx;
  const b = log.blockNumber;
  switch (name) {
    case "RefereeRegistered": {
      const stake = (a.stake as bigint).toString();
      const r = await store.mut<Referee>("referee", a.referee);
      if (r) {
        // registered again after leaving: a fresh stake, the history kept
        r.registered = true;
        r.stake = stake;
        r.openPanels = 0;
        r.registeredBlock = b;
        r.registeredAt = ts;
        r.leftAt = null;
        r.updatedBlock = b;
      } else {
        store.create<Referee>("referee", {
          address: a.referee,
          registered: true,
          stake,
          slashed: "0",
          slashCount: 0,
          openPanels: 0,
          panelsDrawn: 0,
          votesCast: 0,
          registeredBlock: b,
          registeredAt: ts,
          leftAt: null,
          updatedBlock: b,
        });
      }
      net.referees += 1;
      break;
    }
    case "RefereeLeft": {
      const r = await referee(store, a.referee, b);
      r.registered = false;
      r.stake = "0";
      r.leftAt = ts;
      net.referees = Math.max(0, net.referees - 1);
      break;
    }
    case "StepChallenged": {
      const j = await job(store, a.jobId, b);
      openDispute(ctx, net, j, { id: a.id, kind: "Step", jobId: a.jobId, round: a.round, worker: a.worker, challenger: a.challenger, settlement: false, updateHash: a.updateHash, traceRoot: a.traceRoot, hiLeaf: a.updateHash }, log, ts);
      const w = await store.mut<JobWorker>("job_worker", `${a.jobId}-${a.worker}`);
      if (w) {
        w.openDisputes += 1;
        w.updatedBlock = b;
      }
      net.disputesOpened += 1;
      net.disputesOpen += 1;
      break;
    }
    case "RoundChallenged": {
      const j = await job(store, a.jobId, b);
      openDispute(ctx, net, j, { id: a.id, kind: "Round", jobId: a.jobId, round: a.round, worker: null, challenger: a.challenger, settlement: a.settlement, updateHash: null, traceRoot: null, hiLeaf: null }, log, ts);
      net.disputesOpened += 1;
      net.disputesOpen += 1;
      break;
    }
    case "MoveRequested": {
      const d = await dispute(store, a.id, b);
      if (d.phase === "AwaitStart") d.lo = -1; // the worker opened its trace: nothing agreed yet
      d.phase = "AwaitReveal";
      d.mid = a.index;
      d.midLeaf = null;
      d.deadline = a.deadline as bigint;
      d.pauseBase = pausedTime(net, ts);
      move(store, log, ts, d.id, "Requested", a.index, { deadline: a.deadline });
      break;
    }
    case "MidpointRevealed": {
      const d = await dispute(store, a.id, b);
      d.phase = "AwaitResponse";
      d.midLeaf = a.leaf;
      if (ctx.moveWindow !== undefined) d.deadline = ts + ctx.moveWindow;
      d.pauseBase = pausedTime(net, ts);
      move(store, log, ts, d.id, "Revealed", a.index, { leaf: a.leaf });
      break;
    }
    case "MidpointAnswered": {
      const d = await dispute(store, a.id, b);
      if (a.agree) {
        d.lo = a.index;
        d.loLeaf = d.midLeaf;
      } else {
        d.hi = a.index;
        d.hiLeaf = d.midLeaf;
      }
      d.moveCount += 1;
      move(store, log, ts, d.id, "Answered", a.index, { agree: a.agree });
      break;
    }
    case "BisectionDone": {
      const d = await dispute(store, a.id, b);
      const agreed = Number(a.agreedIndex as bigint);
      d.lo = agreed;
      d.hi = a.disputedIndex;
      d.loLeaf = agreed < 0 ? null : a.agreedLeaf;
      d.hiLeaf = a.disputedLeaf;
      d.mid = null;
      move(store, log, ts, d.id, "Done", a.disputedIndex, { leaf: a.disputedLeaf, agreedIndex: agreed, agreedLeaf: a.agreedLeaf });
      break;
    }
    case "WitnessPosted": {
      // the state behind the agreed leaf, published for the panel (no phase change)
      const d = await dispute(store, a.id, b);
      move(store, log, ts, d.id, "Witness", d.lo ?? -1, { leaf: a.witness, publishedBy: getAddress(a.by as Address) });
      break;
    }
    case "PanelDrawn": {
      const d = await dispute(store, a.id, b);
      // a redraw follows the tally of a panel without a majority
      if (d.phase === "Refereeing") await closePanel(store, d, "NoMajority", b);
      const members = (a.referees as Address[]).map((r) => getAddress(r));
      const panelId = `${d.id}-${a.panel}`;
      d.phase = "Refereeing";
      d.panelCount = a.panel;
      d.votes = 0;
      d.deadline = a.deadline as bigint;
      d.pauseBase = pausedTime(net, ts);
      store.create<DisputePanel>("dispute_panel", {
        id: panelId,
        disputeId: d.id,
        number: a.panel,
        size: members.length,
        votes: 0,
        status: "Voting",
        deadline: a.deadline,
        drawnBlock: b,
        drawnAt: ts,
        txHash: log.transactionHash,
        closedBlock: null,
        updatedBlock: b,
      });
      for (const m of members) {
        store.create<PanelMember>("panel_member", {
          id: `${panelId}-${m}`,
          disputeId: d.id,
          panelId,
          panelNumber: a.panel,
          referee: m,
          vote: null,
          stepCorrect: null,
          votedBlock: null,
          votedAt: null,
          slashed: null,
          updatedBlock: b,
        });
        const r = await referee(store, m, b);
        r.openPanels += 1;
        r.panelsDrawn += 1;
      }
      break;
    }
    case "RefereeVoted": {
      const d = await dispute(store, a.id, b);
      const m = await store.must<PanelMember>("panel_member", `${d.id}-${d.panelCount}-${a.referee}`);
      const vote = a.vote as Hex;
      m.vote = vote;
      m.stepCorrect = d.kind !== "Step" ? null : vote === STEP_CORRECT ? true : vote === STEP_WRONG ? false : null;
      m.votedBlock = b;
      m.votedAt = ts;
      m.updatedBlock = b;
      d.votes += 1;
      const p = await store.must<DisputePanel>("dispute_panel", `${d.id}-${d.panelCount}`);
      p.votes += 1;
      p.updatedBlock = b;
      const r = await referee(store, a.referee, b);
      r.votesCast += 1;
      break;
    }
    case "RefereeSlashed": {
      const d = await dispute(store, a.id, b);
      const amount = a.amount as bigint;
      const m = await store.must<PanelMember>("panel_member", `${d.id}-${d.panelCount}-${a.referee}`);
      m.slashed = amount.toString();
      m.updatedBlock = b;
      const r = await referee(store, a.referee, b);
      r.stake = sub(r.stake, amount);
      r.slashed = add(r.slashed, amount);
      r.slashCount += 1;
      break;
    }
    case "DisputeResolved": {
      const d = await dispute(store, a.id, b);
      const verdict = DisputeVerdict[a.verdict as number] ?? String(a.verdict);
      if (d.phase === "Refereeing") await closePanel(store, d, verdict === "Dropped" ? "NoMajority" : "Decided", b);
      d.phase = "Closed";
      d.verdict = verdict;
      d.paidMask = BigInt(a.paidMask as number);
      d.wrongMask = BigInt(a.wrongMask as number);
      d.resolvedBlock = b;
      d.resolvedAt = ts;
      if (d.kind === "Step" && d.worker !== null) {
        const w = await store.mut<JobWorker>("job_worker", `${d.jobId}-${d.worker}`);
        if (w && w.openDisputes > 0) {
          w.openDisputes -= 1;
          w.updatedBlock = b;
        }
      }
      net.disputesOpen = Math.max(0, net.disputesOpen - 1);
      break;
    }
    case "Credited":
    case "Withdrawn": {
      // the game's own pull payments (bonds returned or forfeited, referee stakes, referee slashes to the treasury)
      const amount = a.amount as bigint;
      store.create("payout", {
        id: `${b}-${log.logIndex}`,
        account: a.account,
        jobId: null,
        kind: name === "Credited" ? "GameCredit" : "GameWithdrawal",
        amount: amount.toString(),
        block: b,
        logIndex: log.logIndex,
        txHash: log.transactionHash,
        timestamp: ts,
      });
      const acc = await account(store, a.account, b);
      if (name === "Credited") {
        acc.gameCredited = add(acc.gameCredited, amount);
        acc.gameBalance = add(acc.gameBalance, amount);
      } else {
        acc.gameWithdrawn = add(acc.gameWithdrawn, amount);
        acc.gameBalance = sub(acc.gameBalance, amount);
      }
      break;
    }
    default:
      break;
  }
}


export { JobStatus };
