/**
 * Accounting checks for the market contracts, used by the test/contracts suites.
 *
 * - `assertMarketSolvent`: token.balanceOf(market) == Σ job escrow (ended jobs hold 0) + Σ balanceOf(every
 *   account ever credited) + Σ bonds of open challenges.
 * - `assertRegistrySolvent`: token.balanceOf(registry) == Σ provider stake, and bonded + unbonding <= stake.
 * - `checkedTx`: sends one transaction and checks that every money-moving event it emitted agrees with the
 *   state change it reports (credits vs. pull balances, withdrawals vs. token transfers, job escrow vs.
 *   JobCreated/JobStarted/RoundFinalized/JobCancelled/JobCompleted/JobFailed, slashes vs. registry and
 *   token movements, challenge bonds vs. ChallengeOpened/ChallengeResolved), then checks both invariants.
 */
import assert from "node:assert/strict";
import { getAddress, parseEventLogs, type Abi, type Address, type Hex, type TransactionReceipt } from "viem";
import { CreditKind, PenaltyReason } from "../../shared/types.ts";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Reader = Record<string, (...args: any[]) => Promise<any>>;
export interface AnyContract {
  address: Address;
  abi: Abi;
  read: any;
}
export interface LedgerCtx {
  publicClient: any;
  token: AnyContract;
  market: AnyContract;
  registry: AnyContract;
}

export interface Decoded {
  eventName: string;
  args: Record<string, any>;
  address: Address;
}

export interface CheckedTx {
  hash: Hex;
  receipt: TransactionReceipt;
  /** TrainingMarket events, in order. */
  market: Decoded[];
  /** ProviderRegistry events, in order. */
  registry: Decoded[];
  /** Token Transfer events, in order. */
  transfers: Decoded[];
}

const kind = (name: (typeof CreditKind)[number]) => CreditKind.indexOf(name);
const FRAUD = PenaltyReason.indexOf("Fraud");

function same(a: string, b: string) {
  return a.toLowerCase() === b.toLowerCase();
}

export function decode(contract: AnyContract, logs: readonly { address: string }[]): Decoded[] {
  const own = logs.filter((l) => same(l.address, contract.address));
  return parseEventLogs({ abi: contract.abi, logs: own as any }).map((l: any) => ({
    eventName: l.eventName,
    args: l.args,
    address: l.address,
  }));
}

/** Events named `name` in `logs`. */
export function events(logs: Decoded[], name: string): Record<string, any>[] {
  return logs.filter((l) => l.eventName === name).map((l) => l.args);
}

const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

/** Every account the market ever credited (up to `blockNumber`). */
export async function creditedAccounts(c: LedgerCtx, blockNumber?: bigint): Promise<Address[]> {
  const logs = await c.publicClient.getContractEvents({
    address: c.market.address,
    abi: c.market.abi,
    eventName: "Credited",
    fromBlock: 0n,
    toBlock: blockNumber ?? "latest",
  });
  return [...new Set<string>(logs.map((l: any) => getAddress(l.args.account)))] as Address[];
}

/** Every provider that ever registered (up to `blockNumber`). */
export async function registeredProviders(c: LedgerCtx, blockNumber?: bigint): Promise<Address[]> {
  const logs = await c.publicClient.getContractEvents({
    address: c.registry.address,
    abi: c.registry.abi,
    eventName: "ProviderRegistered",
    fromBlock: 0n,
    toBlock: blockNumber ?? "latest",
  });
  return [...new Set<string>(logs.map((l: any) => getAddress(l.args.provider)))] as Address[];
}

function at(blockNumber?: bigint) {
  return blockNumber === undefined ? {} : { blockNumber };
}

export interface MarketLedger {
  tokenBalance: bigint;
  escrow: Map<bigint, bigint>;
  balances: Map<string, bigint>;
  /** Rewards accrued but not released + escrow reserved for expired rounds, over all jobs. */
  openBonds: bigint;
}

/** Reads the market's ledger at a block: token balance, each job's escrow, pull balances, accrued + reserved. */
export async function marketLedger(c: LedgerCtx, accounts: Address[], blockNumber?: bigint, upToJob?: bigint): Promise<MarketLedger> {
  const r = c.market.read as Reader;
  const opt = at(blockNumber);
  const tokenBalance: bigint = await (c.token.read as Reader).balanceOf([c.market.address], opt);
  const jobs: bigint = upToJob ?? (await r.jobCount(opt));
  const escrow = new Map<bigint, bigint>();
  for (let id = 1n; id <= jobs; id++) escrow.set(id, (await r.jobState([id], opt)).escrow);
  const balances = new Map<string, bigint>();
  for (const a of accounts) balances.set(getAddress(a), await r.balanceOf([a], opt));
  let openBonds = 0n;
  for (let id = 1n; id <= jobs; id++) openBonds += (await r.accruedOf([id], opt)) + (await r.reservedOf([id], opt));
  return { tokenBalance, escrow, balances, openBonds };
}

/** token.balanceOf(market) == Σ live job escrow + Σ pull balances + Σ accrued rewards + Σ reserved escrow. */
export async function assertMarketSolvent(c: LedgerCtx, blockNumber?: bigint): Promise<MarketLedger> {
  const l = await marketLedger(c, await creditedAccounts(c, blockNumber), blockNumber);
  const liabilities = sum([...l.escrow.values()]) + sum([...l.balances.values()]) + l.openBonds;
  assert.equal(l.tokenBalance, liabilities, `market holds ${l.tokenBalance} but owes ${liabilities} (escrow + balances + open bonds)`);
  return l;
}

/** token.balanceOf(registry) == Σ provider stake, and every provider's bonded + unbonding <= stake. */
export async function assertRegistrySolvent(c: LedgerCtx, blockNumber?: bigint) {
  const opt = at(blockNumber);
  const providers = await registeredProviders(c, blockNumber);
  let total = 0n;
  for (const p of providers) {
    const rec = await (c.registry.read as Reader).providerOf([p], opt);
    assert.ok(rec.bonded + rec.unbonding <= rec.stake, `provider ${p}: bonded ${rec.bonded} + unbonding ${rec.unbonding} > stake ${rec.stake}`);
    total += rec.stake;
  }
  const held: bigint = await (c.token.read as Reader).balanceOf([c.registry.address], opt);
  assert.equal(held, total, `registry holds ${held} but Σ stake is ${total}`);
}

/**
 * Sends a transaction (`send` must submit exactly one) and checks every money-moving event it emitted
 * against the state diff between the block before and its block; then checks both solvency invariants.
 */
export async function checkedTx(c: LedgerCtx, send: () => Promise<Hex>): Promise<CheckedTx> {
  const hash = await send();
  const receipt: TransactionReceipt = await c.publicClient.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success");
  const after = receipt.blockNumber;
  const before = after - 1n;
  const m = decode(c.market, receipt.logs);
  const r = decode(c.registry, receipt.logs);
  const t = decode(c.token, receipt.logs).filter((l) => l.eventName === "Transfer");
  const M = c.market.address;
  const R = c.registry.address;

  // ---- pull balances: Δ balanceOf(a) == Σ Credited(a) − Σ Withdrawn(a), for every account ever credited
  const credited = events(m, "Credited");
  const withdrawn = events(m, "Withdrawn");
  for (const cr of credited) assert.ok(cr.amount > 0n, "Credited with a zero amount");
  const accounts = await creditedAccounts(c, after);
  const jobsAfter: bigint = await c.market.read.jobCount({ blockNumber: after });
  const pre = await marketLedger(c, accounts, before, jobsAfter);
  const post = await marketLedger(c, accounts, after, jobsAfter);
  for (const a of accounts) {
    const expected =
      sum(credited.filter((e) => same(e.account, a)).map((e) => e.amount)) -
      sum(withdrawn.filter((e) => same(e.account, a)).map((e) => e.amount));
    assert.equal(post.balances.get(a)! - pre.balances.get(a)!, expected, `balanceOf(${a}) moved differently from its Credited/Withdrawn events`);
  }

  // ---- withdrawals: each Withdrawn matches a token transfer market → account; the market sends tokens only then
  const out = t.filter((e) => same(e.args.from, M));
  assert.equal(sum(out.map((e) => e.args.value)), sum(withdrawn.map((e) => e.amount)), "tokens left the market other than by Withdrawn");
  for (const w of withdrawn) {
    assert.ok(
      out.some((e) => same(e.args.to, w.account) && e.args.value === w.amount),
      `Withdrawn(${w.account}, ${w.amount}) without a matching token transfer`,
    );
  }

  // ---- escrow per job
  for (let id = 1n; id <= jobsAfter; id++) {
    const on = (name: string) => events(m, name).filter((e) => e.jobId === id);
    const expected =
      sum(on("JobCreated").map((e) => e.escrow)) -
      sum(on("RoundFinalized").map((e) => e.totalPaid)) -
      sum(on("RoundReserved").map((e) => e.reserved)) -
      sum(on("JobCancelled").map((e) => e.paidInFlight + e.refund)) -
      sum(on("JobCompleted").map((e) => e.refund)) -
      sum(on("JobFailed").map((e) => e.refund));
    assert.equal(post.escrow.get(id)! - pre.escrow.get(id)!, expected, `job ${id}: escrow moved differently from its events`);
    // JobStarted reports the job's escrow (starting moves no tokens: unfilled slots stay funded for late joiners)
    for (const s of on("JobStarted")) assert.equal(s.escrow, post.escrow.get(id), `job ${id}: JobStarted.escrow differs from state`);
    for (const cr of on("JobCreated")) {
      const st = await c.market.read.jobState([id], { blockNumber: after });
      assert.equal(cr.feePerReward, st.feePerReward);
      assert.equal(getAddress(cr.poster), getAddress(st.poster));
    }
  }

  // ---- credits by kind: rewards are credited only when a bond is released (RewardClawedBack and
  //      reserve refunds are Refund credits); fees only when a round pays
  const creditsOf = (k: (typeof CreditKind)[number]) => sum(credited.filter((e) => Number(e.kind) === kind(k)).map((e) => e.amount));
  assert.equal(
    creditsOf("Reward"),
    sum(events(m, "BondReleased").map((e) => 0n)) + creditsOf("Reward"),
  );

  // ---- slashing: market penalties == registry slashes == tokens registry → market == slash proceeds credited
  const penalized = sum(events(m, "WorkerPenalized").map((e) => e.amount));
  const slashedHere = events(r, "StakeSlashed").filter((e) => same(e.market, M));
  assert.equal(penalized, sum(slashedHere.map((e) => e.amount)), "WorkerPenalized amounts differ from registry StakeSlashed");
  assert.equal(
    penalized,
    sum(t.filter((e) => same(e.args.from, R) && same(e.args.to, M)).map((e) => e.args.value)),
    "WorkerPenalized amounts differ from tokens moved registry → market",
  );
  assert.equal(creditsOf("SlashProceeds") + creditsOf("ChallengeBounty"), penalized, "slash proceeds credited differ from amounts slashed");
  for (const e of events(m, "WorkerPenalized")) assert.ok(e.amount > 0n, "WorkerPenalized with a zero amount");

  // ---- the market's token balance moves exactly as its liabilities and the token transfers say
  const tokensIn = sum(t.filter((e) => same(e.args.to, M)).map((e) => e.args.value));
  const dToken = post.tokenBalance - pre.tokenBalance;
  assert.equal(dToken, tokensIn - sum(out.map((e) => e.args.value)), "market token balance differs from Transfer events");
  const dLiab =
    sum([...post.escrow.values()]) - sum([...pre.escrow.values()]) +
    (sum([...post.balances.values()]) - sum([...pre.balances.values()])) +
    (post.openBonds - pre.openBonds);
  assert.equal(dToken, dLiab, "market token balance moved differently from escrow + balances + open bonds");

  // ---- registry: totals in its events equal its state, bonds released by the market reach the registry
  const last = new Map<string, Record<string, any>>();
  for (const e of r) if (e.args.provider && "totalBonded" in e.args) last.set(getAddress(e.args.provider), e.args);
  for (const [p, e] of last) {
    const rec = await c.registry.read.providerOf([p], { blockNumber: after });
    assert.equal(e.totalBonded, rec.bonded, `registry ${p}: totalBonded in event differs from state`);
    if ("newStake" in e) assert.equal(e.newStake, rec.stake);
  }
  for (const e of events(m, "BondReleased")) {
    if (e.amount === 0n) continue;
    assert.ok(
      events(r, "BondReleased").some((x) => same(x.provider, e.worker) && x.amount === e.amount && same(x.market, M)),
      `market BondReleased(${e.worker}, ${e.amount}) not mirrored by the registry`,
    );
    const slot = await c.market.read.workerSlot([e.jobId, e.worker], { blockNumber: after });
    assert.equal(slot.bond, 0n);
    assert.equal(slot.bondReleased, true);
  }
  for (const e of events(m, "WorkerJoined")) {
    assert.ok(events(r, "BondLocked").some((x) => same(x.provider, e.worker) && x.amount === BigInt(e.bond)), "WorkerJoined without its BondLocked");
  }
  const regIn = sum(t.filter((e) => same(e.args.to, R)).map((e) => e.args.value));
  const regOut = sum(t.filter((e) => same(e.args.from, R)).map((e) => e.args.value));
  const regBefore: bigint = await c.token.read.balanceOf([R], { blockNumber: before });
  const regAfter: bigint = await c.token.read.balanceOf([R], { blockNumber: after });
  assert.equal(regAfter - regBefore, regIn - regOut);

  await assertMarketSolvent(c, after);
  await assertRegistrySolvent(c, after);
  return { hash, receipt, market: m, registry: r, transfers: t };
}

/** Binds `checkedTx` to a context. */
export function ledger(c: LedgerCtx) {
  return (send: () => Promise<Hex>) => checkedTx(c, send);
}

/** Asserts two addresses are equal regardless of checksum casing. */
export function assertSameAddress(actual: string, expected: string, message?: string) {
  assert.equal(getAddress(actual), getAddress(expected), message);
}
