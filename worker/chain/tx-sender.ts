/**
 * Sends contract transactions for one account: simulates first (so a revert surfaces as a decoded
 * custom error before spending gas), assigns nonces locally (one transaction in flight at a time per
 * sender, refreshed from the chain on a nonce error), estimates gas against the latest block (not
 * the pending state some nodes use), prices the transaction itself (EIP-1559: max fee = 2 × base fee
 * + a priority fee of at least the node's suggestion; legacy gas price where the chain has no base
 * fee), retries transient RPC faults with backoff, and waits for the receipt. A transaction that
 * has no receipt after `bumpAfterMs` is replaced (same nonce, fees raised by 12.5 % or to the
 * current market, whichever is higher) until one of its versions is mined; a receipt timeout is
 * therefore never final while the nonce is still open.
 */
import {
  BaseError,
  WaitForTransactionReceiptTimeoutError,
  ContractFunctionRevertedError,
  HttpRequestError,
  TimeoutError,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hash,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";

/** A transaction (or its simulation) reverted with a decoded custom error. */
export class ContractRevertError extends Error {
  readonly errorName: string;
  readonly errorArgs: readonly unknown[];
  readonly functionName: string;
  constructor(functionName: string, errorName: string, errorArgs: readonly unknown[], message: string) {
    super(`${functionName} reverted with ${errorName}(${errorArgs.map(String).join(", ")}): ${message}`);
    this.name = "ContractRevertError";
    this.errorName = errorName;
    this.errorArgs = errorArgs;
    this.functionName = functionName;
  }
}

/** Extracts the custom error of a viem contract error, if any. */
export function revertInfo(err: unknown): { errorName: string; args: readonly unknown[] } | undefined {
  if (!(err instanceof BaseError)) return undefined;
  const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName) {
    return { errorName: revert.data.errorName, args: revert.data.args ?? [] };
  }
  return undefined;
}

/** Whether an error is a transient transport problem worth retrying (timeouts, 429, 5xx, resets). */
export function isTransient(err: unknown): boolean {
  if (revertInfo(err)) return false;
  if (err instanceof BaseError) {
    const http = err.walk((e) => e instanceof HttpRequestError) as HttpRequestError | null;
    if (http?.status !== undefined && (http.status === 429 || http.status >= 500)) return true;
    if (err.walk((e) => e instanceof TimeoutError)) return true;
  }
  const text = `${(err as Error)?.message ?? ""} ${(err as { details?: string })?.details ?? ""}`.toLowerCase();
  return /fetch failed|econnre(set|fused)|socket hang up|other side closed|too many requests/.test(text);
}

/** The transaction ran out of gas (state changed between estimation and execution, e.g. a join that started the job). */
function isOutOfGas(err: unknown): boolean {
  const text = `${(err as Error)?.message ?? ""} ${(err as { details?: string })?.details ?? ""}`.toLowerCase();
  return /out of gas|reverted on chain/.test(text);
}

function isNonceError(err: unknown): boolean {
  const text = `${(err as Error)?.message ?? ""}`.toLowerCase();
  return /nonce too low|nonce too high|invalid nonce|nonce has already been used|replacement transaction underpriced/.test(text);
}

export interface TxSenderOptions {
  publicClient: PublicClient<Transport, Chain | undefined>;
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  retries?: number;
  backoffMs?: number;
  receiptTimeoutMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Called with the hash as soon as a transaction is broadcast (persist it to survive a crash). */
  onBroadcast?: (hash: Hash, functionName: string) => void | Promise<void>;
  /** Replace (fee-bump) a transaction that has no receipt after this long (default 30 s). */
  bumpAfterMs?: number;
  /** At most this many replacements of one transaction (default 8). */
  maxBumps?: number;
  /** Lowest priority fee (tip) in wei, whatever the node suggests (default 0). */
  minPriorityFee?: bigint;
}

/** Fees of one transaction version. */
export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { gasPrice: bigint };

/** Raises fees by 12.5 % (+1 wei), the minimum replacement step nodes accept (geth 10 %), or to `market`. */
export function bumpFees(old: Fees, market: Fees): Fees {
  const up = (v: bigint) => v + v / 8n + 1n;
  if ("gasPrice" in old) {
    const m = "gasPrice" in market ? market.gasPrice : market.maxFeePerGas;
    return { gasPrice: up(old.gasPrice) > m ? up(old.gasPrice) : m };
  }
  const mTip = "gasPrice" in market ? market.gasPrice : market.maxPriorityFeePerGas;
  const mMax = "gasPrice" in market ? market.gasPrice : market.maxFeePerGas;
  const tip = up(old.maxPriorityFeePerGas) > mTip ? up(old.maxPriorityFeePerGas) : mTip;
  let max = up(old.maxFeePerGas) > mMax ? up(old.maxFeePerGas) : mMax;
  if (max < tip) max = tip;
  return { maxFeePerGas: max, maxPriorityFeePerGas: tip };
}

export interface WriteRequest<abi extends Abi, fn extends ContractFunctionName<abi, "nonpayable" | "payable">> {
  address: Address;
  abi: abi;
  functionName: fn;
  args: ContractFunctionArgs<abi, "nonpayable" | "payable", fn>;
  /**
   * Lowest gas limit to send with. An estimate covers the state it ran on; a call whose cost
   * depends on what lands before it in the same block (a vote that turns out to finalize the round)
   * needs the limit of its costliest path, or it runs out of gas.
   */
  minGas?: bigint;
}

export class TxSender {
  readonly account: Account;
  private readonly opts: Required<Omit<TxSenderOptions, "log" | "onBroadcast">> & Pick<TxSenderOptions, "log" | "onBroadcast">;
  /** Replacement transactions sent (fee bumps), for tests and metrics. */
  bumps = 0;
  private nonce: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: TxSenderOptions) {
    this.opts = { retries: 5, backoffMs: 250, receiptTimeoutMs: 120_000, bumpAfterMs: 30_000, maxBumps: 8, minPriorityFee: 0n, ...opts };
    this.account = opts.walletClient.account;
  }

  /** Simulates, sends and waits for the receipt; throws ContractRevertError on a revert. */
  send<const abi extends Abi, fn extends ContractFunctionName<abi, "nonpayable" | "payable">>(req: WriteRequest<abi, fn>): Promise<TransactionReceipt> {
    const run = this.queue.then(() => this.sendNow(req));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** After an undecoded failure (e.g. state changed between simulation and sending), simulate again to name the revert. */
  private async resimulate(req: WriteRequest<Abi, string>): Promise<{ errorName: string; args: readonly unknown[] } | undefined> {
    try {
      await this.opts.publicClient.simulateContract({ address: req.address, abi: req.abi, functionName: req.functionName, args: req.args as readonly unknown[], account: this.account });
      return undefined;
    } catch (err) {
      return revertInfo(err);
    }
  }

  /** Current market fees: EIP-1559 when the latest block has a base fee, else a legacy gas price. */
  async marketFees(): Promise<Fees> {
    const { publicClient } = this.opts;
    const block = await publicClient.getBlock({ blockTag: "latest" });
    if (block.baseFeePerGas === null || block.baseFeePerGas === undefined) {
      const price = await publicClient.getGasPrice();
      return { gasPrice: price + price / 5n };
    }
    let tip = 0n;
    try {
      tip = await publicClient.estimateMaxPriorityFeePerGas();
    } catch {
      tip = 0n; // nodes without eth_maxPriorityFeePerGas
    }
    if (tip < this.opts.minPriorityFee) tip = this.opts.minPriorityFee;
    return { maxFeePerGas: block.baseFeePerGas * 2n + tip, maxPriorityFeePerGas: tip };
  }

  /**
   * Broadcasts with `nonce` and waits for a receipt of any version; replaces the transaction with
   * higher fees each time `bumpAfterMs` passes without one. Gives up after `receiptTimeoutMs` of
   * waiting once the bumps are spent.
   */
  private async mine(functionName: string, nonce: number, send: (fees: Fees) => Promise<Hash>): Promise<TransactionReceipt> {
    const { publicClient } = this.opts;
    let fees = await this.marketFees();
    const hashes: Hash[] = [await send(fees)];
    for (let bump = 0; ; bump++) {
      const last = bump >= this.opts.maxBumps;
      try {
        return await publicClient.waitForTransactionReceipt({ hash: hashes[hashes.length - 1], timeout: last ? this.opts.receiptTimeoutMs : this.opts.bumpAfterMs, pollingInterval: 500 });
      } catch (err) {
        if (!(err instanceof WaitForTransactionReceiptTimeoutError) && !isTransient(err)) throw err;
      }
      // an earlier version may have been mined
      for (const h of hashes) {
        const r = await publicClient.getTransactionReceipt({ hash: h }).catch(() => undefined);
        if (r) return r;
      }
      const mined = await publicClient.getTransactionCount({ address: this.account.address, blockTag: "latest" });
      if (mined > nonce) {
        // the nonce is used, but by none of our hashes we can see yet: wait for a receipt a little longer
        for (const h of hashes) {
          const r = await publicClient.waitForTransactionReceipt({ hash: h, timeout: 5_000 }).catch(() => undefined);
          if (r) return r;
        }
        throw new Error(`${functionName}: nonce ${nonce} was used by another transaction of ${this.account.address} (nonce too low)`);
      }
      if (last) throw new Error(`${functionName}: no receipt for nonce ${nonce} after ${hashes.length} versions (${hashes.join(", ")}); the chain may be halted or the fees too low`);
      fees = bumpFees(fees, await this.marketFees());
      this.opts.log?.("transaction stuck: replacing it with higher fees", { functionName, nonce, bump: bump + 1, ...Object.fromEntries(Object.entries(fees).map(([k, v]) => [k, v.toString()])) });
      try {
        hashes.push(await send(fees));
        this.bumps += 1;
      } catch (err) {
        const text = (err as Error).message.toLowerCase();
        // an earlier version was mined meanwhile (nonce too low / already known): the loop finds its receipt
        if (!/nonce too low|already known|nonce has already been used|replacement transaction underpriced|underpriced/.test(text)) throw err;
      }
    }
  }

  /**
   * After a failed attempt that broadcast with `nonce` (a lost response, a nonce error, a receipt
   * that never came), or any nonce error, waits until the node holds no transaction of this account
   * that is not mined yet (or `nonce` is consumed), at most two bump intervals. The retry's simulation then sees the
   * effect of the first transaction if it landed, so nothing is sent twice: a second `joinJob` with a
   * fresh nonce, simulated while the first was still pending, once reverted on chain (AlreadyJoined).
   */
  private async settle(nonce: number | undefined): Promise<void> {
    const { publicClient } = this.opts;
    const address = this.account.address;
    const until = Date.now() + 2 * this.opts.bumpAfterMs;
    while (Date.now() < until) {
      const [latest, pending] = await Promise.all([
        publicClient.getTransactionCount({ address, blockTag: "latest" }),
        publicClient.getTransactionCount({ address, blockTag: "pending" }),
      ]).catch(() => [undefined, undefined]);
      if (latest !== undefined && pending !== undefined && ((nonce !== undefined && latest > nonce) || pending <= latest)) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private async sendNow(req: WriteRequest<Abi, string>): Promise<TransactionReceipt> {
    const { publicClient, walletClient } = this.opts;
    let attempt = 0;
    /** The nonce the last attempt broadcast with, if it broadcast (its transaction may still land). */
    let broadcast: number | undefined;
    for (;;) {
      try {
        const { request } = await publicClient.simulateContract({
          address: req.address,
          abi: req.abi,
          functionName: req.functionName,
          args: req.args as readonly unknown[],
          account: this.account,
        });
        if (this.nonce === undefined) {
          this.nonce = await publicClient.getTransactionCount({ address: this.account.address, blockTag: "pending" });
        }
        const gas = await publicClient.estimateContractGas({
          address: req.address,
          abi: req.abi,
          functionName: req.functionName,
          args: req.args as readonly unknown[],
          account: this.account,
          blockTag: "latest",
        } as never);
        const nonce = this.nonce;
        const send = async (fees: Fees) => {
          const limit = (gas * 12n) / 10n > (req.minGas ?? 0n) ? (gas * 12n) / 10n : req.minGas!;
          broadcast = nonce;
          const hash = await walletClient.writeContract({ ...(request as object), nonce, gas: limit, ...fees } as never);
          await this.opts.onBroadcast?.(hash, req.functionName);
          return hash;
        };
        const receipt = await this.mine(req.functionName, nonce, send);
        this.nonce = nonce + 1;
        if (receipt.status !== "success") throw new Error(`${req.functionName} transaction ${receipt.transactionHash} reverted on chain`);
        return receipt;
      } catch (err) {
        const info = revertInfo(err) ?? (isTransient(err) || isNonceError(err) ? undefined : await this.resimulate(req));
        if (info) throw new ContractRevertError(req.functionName, info.errorName, info.args, (err as BaseError).shortMessage ?? "");
        if (isNonceError(err) || isOutOfGas(err)) {
          // re-read the nonce (a failed transaction may or may not have consumed it) and re-estimate
          this.nonce = undefined;
          if (attempt >= this.opts.retries) throw err;
        } else if (!isTransient(err) || attempt >= this.opts.retries) {
          throw err;
        }
        attempt += 1;
        const delay = this.opts.backoffMs * 2 ** Math.min(attempt, 6);
        this.opts.log?.("transaction retry", { functionName: req.functionName, attempt, delay, error: (err as Error).message.split("\n")[0] });
        await new Promise((r) => setTimeout(r, delay));
        if (broadcast !== undefined || isNonceError(err)) {
          await this.settle(broadcast);
          broadcast = undefined;
        }
      }
    }
  }
}
