/**
 * Test fixture for the market contracts on Hardhat's simulated chain: deploys the Ignition module,
 * registers providers with software attestation keys, creates jobs and drives rounds.
 * Used by the node:test suites under test/contracts and by bench/gas.
 */
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { keccak256, toHex, type Address, type Hex, type WalletClient } from "viem";
import type { NetworkConnection } from "hardhat/types/network";
import MarketModule from "../../ignition/modules/Market.ts";
import { encodeLoss, marketDomain, signRoundResult, signRoundUpdate } from "../../shared/eip712.ts";
import type { JobParams } from "../../shared/types.ts";

export const E18 = 10n ** 18n;

export type Conn = NetworkConnection<"generic">;

export interface MarketParams {
  minStake?: bigint;
  unbondingDelay?: bigint;
  protocolFeeBps?: number;
  challengeBountyBps?: number;
  arbitrationPeriod?: bigint;
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
        arbitrationPeriod: params.arbitrationPeriod ?? 3n * 24n * 3600n,
      },
    },
  });
  const publicClient = await viem.getPublicClient();
  const chainId = await publicClient.getChainId();
  const { token, registry, market } = deployed;
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
    domain: marketDomain(chainId, market.address),
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

/** Registers `wallet` as a provider with a fresh software attestation key. */
export async function registerProvider(ctx: Ctx, wallet: Provider["wallet"], stake = 1_000n * E18): Promise<Provider> {
  const attestor = privateKeyToAccount(generatePrivateKey());
  await fund(ctx, wallet, stake, ctx.registry.address);
  await ctx.registry.write.register([stake, attestor.address, keccak256(toHex(`report:${attestor.address}`)), "ipfs://meta"], {
    account: wallet.account,
  });
  return { wallet, address: wallet.account.address, attestor };
}

export function jobParams(overrides: Partial<JobParams> = {}, arbiter?: Address): JobParams {
  return {
    specHash: keccak256(toHex("spec")),
    initialModelHash: keccak256(toHex("model-0")),
    arbiter: arbiter ?? "0x00000000000000000000000000000000000000a1",
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

export async function commit(ctx: Ctx, p: Provider, jobId: bigint, round: number, loss = 2.5, updateHash?: Hex, signer?: PrivateKeyAccount) {
  const hash = updateHash ?? updateHashFor(jobId, round, p.address);
  const trainLoss = encodeLoss(loss);
  const sig = await signRoundUpdate(signer ?? p.attestor, ctx.domain, { jobId, round, updateHash: hash, trainLoss, worker: p.address });
  return ctx.market.write.commitUpdate([jobId, round, hash, trainLoss, sig], { account: p.wallet.account });
}

export async function vote(ctx: Ctx, p: Provider, jobId: bigint, round: number, modelHash: Hex, includedMask: number, signer?: PrivateKeyAccount) {
  const sig = await signRoundResult(signer ?? p.attestor, ctx.domain, { jobId, round, modelHash, includedMask, worker: p.address });
  return ctx.market.write.submitResult([jobId, round, modelHash, includedMask, sig], { account: p.wallet.account });
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
