/**
 * A provider's node: keys, clients and the service loop that finds jobs it accepts, joins them,
 * runs them to the end (JobRunner), withdraws its earnings and releases its bonds.
 */
import { registryDomain } from "../../shared/eip712.ts";
import { existsSync } from "node:fs";
import { formatUnits, type Address, type Hex } from "viem";
import { HttpBlobStore } from "../../blobstore/http-client.ts";
import type { BlobStore } from "../../blobstore/types.ts";
import { disputeGameAbi, testTokenAbi, providerRegistryAbi, trainingMarketAbi } from "../../shared/abis.ts";
import { marketDomain } from "../../shared/eip712.ts";
import { SoftwareAttestor } from "../attest/attestor.ts";
import { gameAddress, StepDefense } from "./step-dispute.ts";
import { ContractRevertError, TxSender, isTransient } from "../chain/tx-sender.ts";
import { createKeystore, loadKeystore } from "../keys/keystore.ts";
import { decodeJobSpec, isDatasetData } from "../spec/job-spec.ts";
import { paramCount } from "../diloco/model/layout.ts";
import { windowProblem } from "../spec/chain-windows.ts";
import { capabilitiesMetadata, declineReason, JAX_BACKEND, probeCapabilities } from "./trainer-backend.ts";
import { checkJobDataset } from "./job-context.ts";
import { makeClients } from "./clients.ts";
import { bindDataDir } from "./data-dir.ts";
import { findDeployBlock } from "../chain/deploy-block.ts";
import { checkDeployment } from "./deployment-check.ts";
import type { WorkerConfig } from "./config.ts";
import { JobRunner, type JobOutcome, type Logger, type RunnerHooks } from "./job-runner.ts";
import { isJoining, MarketReader } from "./market-reader.ts";
import { joinJobOnce } from "./join-job.ts";

export interface Provider {
  config: WorkerConfig;
  address: Address;
  /** Absent for accounts that only audit, withdraw or read (no attestation keystore). */
  attestor: SoftwareAttestor | undefined;
  reader: MarketReader;
  sender: TxSender;
  blobs: BlobStore;
  log: Logger;
}

export function jsonLogger(name: string): Logger {
  return (msg, fields) => process.stdout.write(`${JSON.stringify({ t: new Date().toISOString(), src: name, msg, ...fields }, (_, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
}

export async function openProvider(config: WorkerConfig, opts: { log?: Logger; createAttestor?: boolean; needAttestor?: boolean } = {}): Promise<Provider> {
  const log = opts.log ?? jsonLogger("worker");
  const account = await loadKeystore(config.keyFile, config.password);
  // the chain and the contracts are checked before anything is created (e.g. the attestation key)
  const { publicClient, walletClient } = await makeClients(config, account);
  await checkDeployment(publicClient, config.addresses, config.chainId);
  let attestorAccount;
  if (existsSync(config.attestorKeyFile)) attestorAccount = await loadKeystore(config.attestorKeyFile, config.password);
  else if (opts.createAttestor) {
    attestorAccount = await createKeystore(config.attestorKeyFile, config.password, { scryptN: config.scryptN });
    log("created attestation key", { signer: attestorAccount.address, keystore: config.attestorKeyFile });
  } else if (opts.needAttestor ?? true) throw new Error(`attestation keystore ${config.attestorKeyFile} not found: run \`worker register\` first`);
  await bindDataDir(config);
  const fromBlock = config.fromBlock ?? (await findDeployBlock(publicClient, config.addresses.market).catch((err: unknown) => {
    log("cannot find the market's deployment block (the node keeps no historical state); scanning events from block 0: pass --from-block", { error: (err as Error).message.split("\n")[0] });
    return 0n;
  }));
  const reader = new MarketReader(publicClient, config.addresses, fromBlock, {
    onStall: (s) => log("chain time is not advancing: the node produces no blocks (a dev node needs interval mining); deadlines cannot pass until it does", { ...s }),
  });
  const blockTime = await reader.clock.blockTime();
  const sender = new TxSender({ publicClient, walletClient: walletClient!, log, minPriorityFee: config.minPriorityFee, bumpAfterMs: Math.max(10_000, Math.round(blockTime * 3000)) });
  const attestor = attestorAccount ? new SoftwareAttestor(attestorAccount) : undefined;
  return { config, address: account.address, attestor, reader, sender, blobs: new HttpBlobStore(config.blobUrl, { signer: account }), log };
}

/** Registers (or re-keys) the provider with `stake` base units; idempotent. */
export async function registerProvider(p: Provider, stake: bigint, metadataURI: string): Promise<void> {
  const { registry, token } = p.config.addresses;
  const info = await p.reader.provider(p.address);
  if (!p.attestor) throw new Error("registering needs an attestation key");
  const { hash: reportHash } = p.attestor.report();
  // the key proves possession: it signs (provider, key, report hash, nonce) under the registry's domain
  const chainId = await p.reader.client.getChainId();
  const nonce = await p.reader.client.readContract({ address: registry, abi: providerRegistryAbi, functionName: "keyNonce", args: [p.address] });
  const proof = await p.attestor.signKeyProof(registryDomain(chainId, registry), { provider: p.address, reportHash, nonce });
  if (info.registeredAt !== 0n) {
    if (info.attestationSigner.toLowerCase() !== p.attestor.signer.toLowerCase()) {
      await p.sender.send({ address: registry, abi: providerRegistryAbi, functionName: "rotateAttestationKey", args: [p.attestor.signer, reportHash, proof] });
      p.log("rotated attestation key", { signer: p.attestor.signer });
    } else p.log("already registered", { provider: p.address, stake: info.stake });
    return;
  }
  // clear one-line refusals instead of a node's raw "insufficient funds" after signing
  const gas = await p.reader.client.getBalance({ address: p.address });
  if (gas === 0n) throw new Error(`${p.address} has no ether to pay for gas on chain ${p.config.chainId}; fund it first (on a testnet: from a faucet)`);
  const held = await p.reader.client.readContract({ address: token, abi: testTokenAbi, functionName: "balanceOf", args: [p.address] });
  if (held < stake) throw new Error(`${p.address} holds ${formatUnits(held, 18)} tokens, less than the stake ${formatUnits(stake, 18)}; fund it first (test token: \`market token mint --to ${p.address}\` by the token's owner)`);
  // The metadata names what this worker can run (backend, determinism class, device, memory).
  const caps = await probeCapabilities(p.config.backend ?? JAX_BACKEND);
  const metadata = metadataURI.startsWith("data:") || metadataURI.startsWith("http") ? metadataURI : capabilitiesMetadata(caps, p.config.maxParams, metadataURI);
  await p.sender.send({ address: token, abi: testTokenAbi, functionName: "approve", args: [registry, stake] });
  await p.sender.send({ address: registry, abi: providerRegistryAbi, functionName: "register", args: [stake, p.attestor.signer, reportHash, metadata, proof] });
  p.log("registered", { provider: p.address, signer: p.attestor.signer, reportHash, stake });
}

/** Why a job is not accepted, or undefined when it is. */
export async function rejectReason(p: Provider, jobId: bigint): Promise<string | undefined> {
  const params = await p.reader.jobParams(jobId);
  if (params.rewardPerRound < p.config.minReward) return `reward ${params.rewardPerRound} below --min-reward ${p.config.minReward}`;
  let spec;
  try {
    spec = decodeJobSpec(await p.blobs.get(params.specHash));
  } catch (err) {
    return `spec unavailable or invalid: ${(err as Error).message}`;
  }
  const size = paramCount(spec.model);
  if (size > p.config.maxParams) return `model has ${size} parameters, above --max-params ${p.config.maxParams}`;
  let caps;
  try {
    caps = await probeCapabilities(p.config.backend ?? JAX_BACKEND);
  } catch (err) {
    return `trainer backend unavailable: ${(err as Error).message}`;
  }
  const why = declineReason(spec, caps);
  if (why) return why;
  try {
    await checkJobDataset(spec, p.blobs);
  } catch (err) {
    return `dataset unusable: ${(err as Error).message}`;
  }
  const state = await p.reader.jobState(jobId);
  if (state.status === 2 && !isDatasetData(spec.data)) return "joining a running job needs a dataset-backed spec (the built-in corpus is cut into shards for the workers present at the start)";
  if (params.penaltyBps > p.config.maxPenaltyBps) return `penalty ${params.penaltyBps} bps per offence is above --max-penalty-bps ${p.config.maxPenaltyBps}`;
  const disputes = await disputeSetupProblem(p, jobId);
  if (disputes) return disputes;
  const tooShort = windowProblem(params, await p.reader.clock.blockTime());
  if (tooShort) return `windows too short for this chain: ${tooShort}`;
  const free = await p.reader.client.readContract({ address: p.config.addresses.registry, abi: providerRegistryAbi, functionName: "freeStakeOf", args: [p.address] });
  if (free < params.workerBond) return `free stake ${free} is below the job's bond ${params.workerBond}`;
  return undefined;
}

/**
 * Why this market cannot protect an honest worker of `jobId` (no dispute game, or fewer referees
 * outside the job than --min-referees: a Sybil majority's wrong result could not be judged), or undefined.
 */
async function disputeSetupProblem(p: Provider, jobId: bigint): Promise<string | undefined> {
  if (p.config.minReferees === 0) return undefined;
  const game = await gameAddress(p);
  if (!game) return "the market has no dispute game: a wrong result could not be challenged (--min-referees 0 accepts it)";
  const job = await p.reader.jobState(jobId);
  const referees = await p.reader.client.readContract({ address: game, abi: disputeGameAbi, functionName: "referees" });
  const outside = referees.filter((r) => r.toLowerCase() !== job.poster.toLowerCase() && r.toLowerCase() !== p.address.toLowerCase());
  if (outside.length < p.config.minReferees) return `the dispute game has ${outside.length} referee(s) outside this job, fewer than --min-referees ${p.config.minReferees}: a wrong result could not be judged`;
  return undefined;
}

export async function withdrawEarnings(p: Provider): Promise<bigint> {
  const balance = await p.reader.balanceOf(p.address);
  if (balance === 0n) return 0n;
  await p.sender.send({ address: p.config.addresses.market, abi: trainingMarketAbi, functionName: "withdraw", args: [] });
  p.log("withdrew", { amount: balance });
  return balance;
}

/**
 * Whether `worker`'s bond in `jobId` can be released now, from reads only (no reverting simulation
 * on every poll): "released" when nothing is left, a chain time when it unlocks, "now", or "blocked"
 * while a challenge is open.
 */
export async function bondRelease(reader: MarketReader, jobId: bigint, worker: Address): Promise<"released" | "now" | "blocked" | bigint> {
  const slot = await reader.slot(jobId, worker);
  if (!slot.joined || slot.bondReleased) return "released";
  const job = await reader.jobState(jobId);
  let since: bigint;
  if (job.endedAt !== 0n) since = job.endedAt;
  else if (slot.removedAt !== 0n) since = slot.removedAt; // removed (a worker waiting to start in a running job is not)
  else return "blocked";
  const until = since + BigInt((await reader.jobParams(jobId)).challengeWindow);
  if ((await reader.now()) <= until) return until;
  if ((await reader.client.readContract({ address: reader.addresses.market, abi: trainingMarketAbi, functionName: "openDisputesOf", args: [jobId] })) !== 0) return "blocked";
  return "now";
}

/** Releases bonds of ended jobs whose challenge window passed; returns the jobs still locked. */
export async function releaseBonds(p: Provider, jobIds: bigint[]): Promise<bigint[]> {
  const still: bigint[] = [];
  for (const jobId of jobIds) {
    const when = await bondRelease(p.reader, jobId, p.address);
    if (when === "released") continue;
    if (when !== "now") {
      still.push(jobId);
      continue;
    }
    try {
      await p.sender.send({ address: p.config.addresses.market, abi: trainingMarketAbi, functionName: "releaseBond", args: [jobId, p.address] });
      p.log("released bond", { jobId });
    } catch (err) {
      if (err instanceof ContractRevertError && err.errorName === "BondAlreadyReleased") continue;
      if (err instanceof ContractRevertError) still.push(jobId);
      else throw err;
    }
  }
  return still;
}

/** Consecutive transient failures (RPC or blob store unreachable) a job survives before the worker gives up. */
const MAX_TRANSIENT_RETRIES = 8;

/** Locked bonds are re-checked (by reads) at most this often while idle. */
const BOND_CHECK_MS = 30_000;

export interface ServiceOptions {
  /** Work only on this job (join it if needed). */
  jobId?: bigint;
  /** Stop after one job ended. */
  once?: boolean;
  signal?: AbortSignal;
  hooks?: RunnerHooks;
  onRound?: (info: { jobId: bigint; round: number; trainLoss: number; modelHash?: Hex }) => void;
}

/** The provider's main loop. */
export async function runService(p: Provider, opts: ServiceOptions = {}): Promise<{ jobId: bigint; outcome: JobOutcome }[]> {
  const results: { jobId: bigint; outcome: JobOutcome }[] = [];
  const attestor = p.attestor;
  if (!attestor) throw new Error(`attestation keystore ${p.config.attestorKeyFile} not found: run \`worker register\` first`);
  const domain = marketDomain(p.config.chainId, p.config.addresses.market);
  let lockedBonds: bigint[] = [];
  let nextBondCheck = 0;
  // Idle polling for new jobs: at least the configured interval, and no faster than half a block.
  const idleMs = Math.max(p.config.pollMs, Math.min(15_000, ((await p.reader.clock.blockTime()) * 1000) / 2));
  const declined = new Set<bigint>();
  // step disputes against this worker are answered in the background, whatever job runs now
  const game = await gameAddress(p);
  const defense = game ? new StepDefense(p, game, idleMs) : undefined;
  defense?.start();
  try {
    await serve(attestor);
    // a worker that stops while a dispute against it is open would lose it by missing a move
    await defense?.drain(opts.signal);
  } finally {
    await defense?.stop();
  }
  return results;

  async function serve(attestor: SoftwareAttestor): Promise<void> {
    while (!opts.signal?.aborted) {
      const candidates = opts.jobId !== undefined ? [opts.jobId] : await p.reader.joinableJobIds();
      let jobId: bigint | undefined;
      for (const id of candidates) {
        const slot = await p.reader.slot(id, p.address);
        const state = await p.reader.jobState(id);
        // joined a running job and waiting for the next round (elastic membership): not removed
        const waiting = isJoining(slot);
        if (slot.joined && state.status <= 2 && (slot.active || waiting)) {
          jobId = id; // resume a job we are in
          break;
        }
        if (state.status > 2 || slot.joined || declined.has(id)) continue;
        // a running job takes workers into free slots only; one may free up later (a worker removed)
        if (state.status === 2 && !(await p.reader.hasFreeSlot(id, state))) continue;
        const reason = await rejectReason(p, id);
        if (reason) {
          p.log("declined job", { jobId: id, reason });
          declined.add(id);
          continue;
        }
        try {
          const how = await joinJobOnce({ client: p.reader.client, sender: p.sender, market: p.config.addresses.market, me: p.address }, id);
          p.log(how === "joined" ? "joined job" : "already in job", { jobId: id });
          jobId = id;
          break;
        } catch (err) {
          if (!(err instanceof ContractRevertError)) throw err;
          p.log("could not join", { jobId: id, reason: err.errorName });
          // a full running job may free a slot later (a worker removed); any other refusal is final
          if (!(state.status === 2 && err.errorName === "JobFull")) declined.add(id);
        }
      }
      if (jobId === undefined) {
        if (opts.jobId !== undefined) {
          const s = await p.reader.jobState(opts.jobId);
          if (s.status > 2) return;
        }
        if (lockedBonds.length && Date.now() >= nextBondCheck) {
          lockedBonds = await releaseBonds(p, lockedBonds);
          nextBondCheck = Date.now() + BOND_CHECK_MS;
        }
        await new Promise((r) => setTimeout(r, idleMs));
        continue;
      }
      const runner = new JobRunner({ reader: p.reader, sender: p.sender, attestor, blobs: p.blobs, me: p.address, domain, dataDir: p.config.dataDir, log: p.log, pollMs: p.config.pollMs, hooks: opts.hooks, onRound: opts.onRound, signal: opts.signal, backend: p.config.backend }, jobId);
      let outcome: JobOutcome;
      for (let attempt = 1; ; attempt++) {
        try {
          outcome = await runner.run();
          break;
        } catch (err) {
          // a dropped connection to the RPC or the blob store: the runner resumes from its persisted state
          if (!isTransient(err) || opts.signal?.aborted || attempt > MAX_TRANSIENT_RETRIES) throw err;
          p.log("transient error: resuming the job", { jobId, attempt, error: (err as Error).message.split("\n")[0] });
          await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** attempt)));
        }
      }
      results.push({ jobId, outcome });
      if (outcome === "Stopped") break;
      await withdrawEarnings(p);
      lockedBonds.push(jobId);
      lockedBonds = await releaseBonds(p, lockedBonds);
      if (opts.once || opts.jobId !== undefined) break;
    }
  }
}
