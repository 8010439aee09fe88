/**
 * Test fixture for the market contracts on Hardhat's simulated chain: deploys the Ignition module,
 * registers providers with software attestation keys, creates jobs and drives rounds.
 * Used by the node:test suites under test/contracts and by bench/gas.
 */
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { keccak256, toHex, type Address, type Hex, type WalletClient } from "viem";
import type { NetworkConnection } from "hardhat/types/network";
import MarketModule from "../../ignition/modules/Market.ts";
import { encodeLoss, marketDomain, registryDomain, signKeyProof, signRoundUpdate } from "../../shared/eip712.ts";
import { TraceTree } from "../../shared/trace.ts";
import type { JobParams } from "../../shared/types.ts";

export const E18 = 10n ** 18n;

export type Conn = NetworkConnection<"generic">;

export interface MarketParams {
  minStake?: bigint;
  unbondingDelay?: bigint;
  protocolFeeBps?: number;
  challengeBountyBps?: number;
  /** Protocol limits on job terms (Ignition parameters of the same names). */
  limits?: Partial<Record<"maxPenaltyBps" | "minCommitWindow" | "minVoteWindow" | "minChallengeWindow" | "minBondToReward" | "maxBondToReward", number>>;
}

export async function deployMarket(conn: Conn, params: MarketParams = {}) {
  const { viem, ignition } = conn;
  const [deployer, treasury, ...others] = await viem.getWalletClients();
  const deployed = await ignition.deploy(MarketModule, {
    parameters: {
      Market: {
        treasury: treasury.account.address,
        minStake: params.minStake ?? 100n * E18,
        unbondingDelay: params.unbondingDelay ?? 7n * 24n * 3600n,
        protocolFeeBps: params.protocolFeeBps ?? 200,
        challengeBountyBps: params.challengeBountyBps ?? 2_000,
        ...(params.limits ?? {}),
      },
    },
  });
  const publicClient = await viem.getPublicClient();
  const chainId = await publicClient.getChainId();
  const { token, registry, market, game } = deployed;
  return {
    conn,
    viem,
    publicClient,
    chainId,
    deployer,
    treasury,
    others,
    token,
    registry,
    market,
    game,
    /** The dispute module's functions (releaseReserve, hooks) called at the market's address. */
    marketModule: await viem.getContractAt("MarketDisputeModule", market.address),
    domain: marketDomain(chainId, market.address),
    registryDomain: registryDomain(chainId, registry.address),
  };
}

export type Ctx = Awaited<ReturnType<typeof deployMarket>>;

export interface Provider {
  wallet: WalletClient & { account: { address: Address } };
  address: Address;
  attestor: PrivateKeyAccount;
}

/** Mints `amount` to `to` and approves `spender` for it. */
export async function fund(ctx: Ctx, wallet: Provider["wallet"], amount: bigint, spender: Address) {
  await ctx.token.write.mint([wallet.account.address, amount], { account: ctx.deployer.account });
  await ctx.token.write.approve([spender, amount], { account: wallet.account });
}

/** Every attestation key this helper created, by address (lower case): tests sign key proofs with them. */
export const attestorKeys = new Map<string, PrivateKeyAccount>();

/** Registers `wallet` as a provider with a fresh software attestation key. */
export async function registerProvider(ctx: Ctx, wallet: Provider["wallet"], stake = 1_000n * E18): Promise<Provider> {
  const attestor = privateKeyToAccount(generatePrivateKey());
  attestorKeys.set(attestor.address.toLowerCase(), attestor);
  await fund(ctx, wallet, stake, ctx.registry.address);
  const reportHash = keccak256(toHex(`report:${attestor.address}`));
  const proof = await keyProof(ctx, attestor, wallet.account.address, reportHash);
  await ctx.registry.write.register([stake, attestor.address, reportHash, "ipfs://meta", proof], {
    account: wallet.account,
  });
  return { wallet, address: wallet.account.address, attestor };
}

/** A key's proof of possession for `provider` at the registry's current nonce. */
export async function keyProof(ctx: Ctx, key: PrivateKeyAccount, provider: Address, reportHash: Hex): Promise<Hex> {
  const nonce = await ctx.registry.read.keyNonce([provider]);
  return signKeyProof(key, ctx.registryDomain, { provider, reportHash, nonce });
}

export function jobParams(overrides: Partial<JobParams> = {}): JobParams {
  return {
    specHash: keccak256(toHex("spec")),
    initialModelHash: keccak256(toHex("model-0")),
    rewardPerRound: 10n * E18,
    workerBond: 50n * E18,
    challengeBond: 20n * E18,
    rounds: 3,
    maxWorkers: 3,
    minWorkers: 2,
    quorumBps: 6_666,
    penaltyBps: 2_000,
    joinWindow: 3_600,
    commitWindow: 600,
    voteWindow: 300,
    challengeWindow: 86_400,
    ...overrides,
  };
}

/** Funds `poster`, approves and creates a job; returns its id. */
export async function createJob(ctx: Ctx, poster: Provider["wallet"], params: JobParams): Promise<bigint> {
  const [escrow] = await ctx.market.read.escrowFor([params.rewardPerRound, params.rounds, params.maxWorkers]);
  await fund(ctx, poster, escrow, ctx.market.address);
  await ctx.market.write.createJob([params], { account: poster.account });
  return ctx.market.read.jobCount();
}

export function updateHashFor(jobId: bigint, round: number, worker: Address): Hex {
  return keccak256(toHex(`update:${jobId}:${round}:${worker}`));
}

export function modelHashFor(jobId: bigint, round: number): Hex {
  return keccak256(toHex(`model:${jobId}:${round + 1}`));
}

/**
 * A stand-in round trace for contract tests: `steps` inner-step states between a start state and the
 * update. `forkAt` (1..steps+1) makes every leaf from that index on differ (a cheater's trace, whose
 * only wrong transition is into leaf `forkAt`).
 */
export function traceFor(jobId: bigint, round: number, worker: Address, opts: { steps?: number; forkAt?: number; updateHash?: Hex } = {}): TraceTree {
  const steps = opts.steps ?? 3;
  const leaves: Hex[] = [];
  for (let i = 0; i <= steps; i++) {
    const fork = opts.forkAt !== undefined && i >= opts.forkAt;
    leaves.push(keccak256(toHex(`${fork ? "fork" : "state"}:${jobId}:${round}:${worker}:${i}`)));
  }
  const forkUpdate = opts.forkAt !== undefined && opts.forkAt <= steps + 1;
  leaves.push(opts.updateHash ?? (forkUpdate ? keccak256(toHex(`fork-update:${jobId}:${round}:${worker}`)) : updateHashFor(jobId, round, worker)));
  return new TraceTree(leaves);
}

export async function commit(ctx: Ctx, p: Provider, jobId: bigint, round: number, loss = 2.5, updateHash?: Hex, signer?: PrivateKeyAccount, trace?: TraceTree) {
  const t = trace ?? traceFor(jobId, round, p.address, { updateHash });
  const hash = t.leaves[t.leaves.length - 1];
  const trainLoss = encodeLoss(loss);
  const sig = await signRoundUpdate(signer ?? p.attestor, ctx.domain, { jobId, round, updateHash: hash, traceRoot: t.root, trainLoss, worker: p.address });
  return ctx.market.write.commitUpdate([jobId, round, hash, t.root, trainLoss, sig], { account: p.wallet.account });
}

export async function vote(ctx: Ctx, p: Provider, jobId: bigint, round: number, modelHash: Hex, includedMask: number) {
  return ctx.market.write.submitResult([jobId, round, modelHash, includedMask], { account: p.wallet.account });
}

/** Registers `n` providers from the spare wallets (starting at `from`). */
export async function registerProviders(ctx: Ctx, n: number, from = 0): Promise<Provider[]> {
  const out: Provider[] = [];
  for (let i = 0; i < n; i++) out.push(await registerProvider(ctx, ctx.others[from + i] as Provider["wallet"]));
  return out;
}

/** Every provider joins `jobId` in order. */
export async function joinAll(ctx: Ctx, jobId: bigint, providers: Provider[]) {
  for (const p of providers) await ctx.market.write.joinJob([jobId], { account: p.wallet.account });
}

/** Runs one honest round: every provider commits, then every provider votes the same result. */
export async function honestRound(ctx: Ctx, jobId: bigint, round: number, providers: Provider[]) {
  for (const p of providers) await commit(ctx, p, jobId, round);
  const mask = (2 ** providers.length - 1) >>> 0;
  for (const p of providers) {
    const job = await ctx.market.read.jobState([jobId]);
    if (job.currentRound !== round || job.status !== 2) break; // finalized already (quorum reached)
    await vote(ctx, p, jobId, round, modelHashFor(jobId, round), mask);
  }
}
