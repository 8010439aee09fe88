/**
 * Sends contract transactions for one account: simulates first (so a revert surfaces as a decoded
 * custom error before spending gas), assigns nonces locally (one transaction in flight at a time per
 * sender, refreshed from the chain on a nonce error), estimates gas, retries transient RPC faults
 * with backoff, and waits for the receipt.
 */
import {
  BaseError,
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
}

export interface WriteRequest<abi extends Abi, fn extends ContractFunctionName<abi, "nonpayable" | "payable">> {
  address: Address;
  abi: abi;
  functionName: fn;
  args: ContractFunctionArgs<abi, "nonpayable" | "payable", fn>;
}

export class TxSender {
  readonly account: Account;
  private readonly opts: Required<Omit<TxSenderOptions, "log" | "onBroadcast">> & Pick<TxSenderOptions, "log" | "onBroadcast">;
  private nonce: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: TxSenderOptions) {
    this.opts = { retries: 5, backoffMs: 250, receiptTimeoutMs: 120_000, ...opts };
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

  private async sendNow(req: WriteRequest<Abi, string>): Promise<TransactionReceipt> {
    const { publicClient, walletClient } = this.opts;
    let attempt = 0;
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
        });
        const hash = await walletClient.writeContract({ ...(request as object), nonce: this.nonce, gas: (gas * 12n) / 10n } as never);
        this.nonce += 1;
        await this.opts.onBroadcast?.(hash, req.functionName);
        const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: this.opts.receiptTimeoutMs });
        if (receipt.status !== "success") throw new Error(`${req.functionName} transaction ${hash} reverted on chain`);
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
      }
    }
  }
}
