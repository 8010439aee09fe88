/**
 * Makes the local Hardhat chain survive restarts. Hardhat's node keeps its state in memory and has
 * no dump/load, so `./run start` journals every mined transaction (sender, nonce, fees, calldata,
 * block number and timestamp) to a JSON-lines file; on the next start the journal is replayed on a
 * fresh node: empty stretches are re-mined with `hardhat_mine`, each transaction is re-sent from
 * its (impersonated) sender at its original timestamp. Contract addresses, balances, jobs and
 * rounds come back identical, and chain time resumes where it stopped, so no deadline passes while
 * the network is down. Blocks are re-created, so block hashes may differ: the indexer re-indexes.
 *
 * Reliability: the journal never stops silently. A failed poll (a dropped connection, a node that is
 * busy, a failed write) is retried on the next tick from the last block recorded, so nothing is
 * skipped; when recording has failed for longer than `maxOutageMs`, `onFatal` is called once (the
 * orchestrator stops the network loudly rather than run on with work that a restart would lose).
 * A torn last line (a crash in the middle of a write) is cut off before recording resumes.
 */
import { appendFileSync, existsSync, openSync, closeSync, fsyncSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { rpc } from "./chain.ts";

interface JournalTx {
  from: string;
  to: string | null;
  input: string;
  value: string;
  gas: string;
  nonce: string;
  maxFeePerGas?: string;
  maxPriorityFeePerGas?: string;
  gasPrice?: string;
}

interface JournalBlock {
  number: number;
  timestamp: number;
  txs: JournalTx[];
}

interface RpcBlock {
  number: string;
  timestamp: string;
  transactions: (JournalTx & { type: string })[];
}

export interface ChainJournalOptions {
  /** Called once when recording has failed for longer than `maxOutageMs` (default 30 s). */
  onFatal?: (err: Error) => void;
  /** Called on each failed poll that will be retried (for logging). */
  onRetry?: (err: Error, failingForMs: number) => void;
  maxOutageMs?: number;
}

export class ChainJournal {
  readonly file: string;
  readonly rpcUrl: string;
  /** Last block number written to the journal. */
  private last = -1;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private busy: Promise<void> = Promise.resolve();
  /** After a replay, block numbers restart: the journal gets a fresh file for the new numbering. */
  private replayed = false;
  private readonly opts: ChainJournalOptions;
  /** When the current run of failed polls began (undefined while recording works). */
  private failingSince: number | undefined;
  private fatal: Error | undefined;
  /** Transactions recorded by this process (since start or replay). */
  recorded = 0;

  constructor(file: string, rpcUrl: string, opts: ChainJournalOptions = {}) {
    this.file = file;
    this.rpcUrl = rpcUrl;
    this.opts = opts;
  }

  /** The error that stopped recording, if it stopped. */
  get failed(): Error | undefined {
    return this.fatal;
  }

  /** Highest block number recorded so far. */
  get height(): number {
    return this.last;
  }

  /** Blocks recorded in the file (only blocks with transactions, plus the final height marker). */
  read(): { blocks: JournalBlock[]; height: number } {
    if (!existsSync(this.file)) return { blocks: [], height: -1 };
    const blocks: JournalBlock[] = [];
    let height = -1;
    for (const line of readFileSync(this.file, "utf8").split("\n")) {
      if (!line.trim()) continue;
      let entry: JournalBlock & { height?: number };
      try {
        entry = JSON.parse(line);
      } catch {
        break; // a torn last line from a crash: everything before it is intact
      }
      if (typeof entry.height === "number") height = Math.max(height, entry.height);
      else {
        blocks.push(entry);
        height = Math.max(height, entry.number);
      }
    }
    return { blocks, height };
  }

  /**
   * The time a fresh node should start at so that a replay keeps every original timestamp: just
   * before the journal's first block (undefined for an empty journal).
   */
  genesisDate(): Date | undefined {
    const { blocks } = this.read();
    return blocks.length ? new Date((blocks[0].timestamp - 1) * 1000) : undefined;
  }

  /** Re-executes the journal on a fresh node; returns the number of transactions replayed. */
  async replay(log: (msg: string) => void = () => {}): Promise<number> {
    const { blocks, height } = this.read();
    if (height < 0 || blocks.length === 0) return 0;
    await rpc(this.rpcUrl, "evm_setIntervalMining", [0]);
    const latest = await rpc<RpcBlock>(this.rpcUrl, "eth_getBlockByNumber", ["latest", false]);
    const shift = Math.max(0, Number(BigInt(latest.timestamp)) + 1 - blocks[0].timestamp);
    let previous = Number(BigInt(latest.timestamp));
    let count = 0;
    // The rewritten journal records the new timeline (shifted timestamps, new block numbers), so
    // that a later replay sees one consistent history.
    let rewritten = "";
    for (const b of blocks) {
      for (const tx of b.txs) {
        const ts = Math.max(b.timestamp + shift, previous + 1);
        await rpc(this.rpcUrl, "evm_setNextBlockTimestamp", [`0x${ts.toString(16)}`]);
        await rpc(this.rpcUrl, "hardhat_impersonateAccount", [tx.from]);
        const req: Record<string, string | undefined> = { from: tx.from, to: tx.to ?? undefined, data: tx.input, value: tx.value, gas: tx.gas, nonce: tx.nonce };
        if (tx.maxFeePerGas) Object.assign(req, { maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas });
        else if (tx.gasPrice) req.gasPrice = tx.gasPrice;
        try {
          await rpc(this.rpcUrl, "eth_sendTransaction", [req]);
        } catch (err) {
          // Transactions that reverted originally revert again; they were mined then and are mined now.
          if (!/VM Exception|reverted/i.test((err as Error).message)) throw err;
        }
        const n = Number(BigInt(await rpc<string>(this.rpcUrl, "eth_blockNumber")));
        rewritten += `${JSON.stringify({ number: n, timestamp: ts, txs: [tx] })}\n`;
        previous = ts;
        count += 1;
        if (count % 200 === 0) log(`replayed ${count} transactions`);
      }
    }
    // Continue from where the old chain stopped (shifted): no time passes while the network is down.
    const end = previous + 1;
    await rpc(this.rpcUrl, "evm_setNextBlockTimestamp", [`0x${end.toString(16)}`]);
    await rpc(this.rpcUrl, "evm_mine", []);
    this.last = Number(BigInt(await rpc<string>(this.rpcUrl, "eth_blockNumber")));
    rewritten += `${JSON.stringify({ height: this.last })}\n`;
    writeFileSync(`${this.file}.tmp`, rewritten);
    renameSync(`${this.file}.tmp`, this.file);
    this.replayed = true;
    return count;
  }

  /** Starts recording new blocks every `intervalMs`. */
  start(intervalMs = 500): void {
    this.repairTail();
    if (!this.replayed && this.last < 0) this.last = this.read().height;
    this.started = true;
    this.timer = setInterval(() => void this.tick(), intervalMs);
  }

  /** Cuts a torn last line (written partly before a crash) so that appended lines stay readable. */
  private repairTail(): void {
    if (!existsSync(this.file)) return;
    const text = readFileSync(this.file, "utf8");
    if (text.length === 0 || text.endsWith("\n")) return;
    truncateSync(this.file, Buffer.byteLength(text.slice(0, text.lastIndexOf("\n") + 1)));
  }

  /** One timed poll: failures are retried on the next tick until the outage lasts too long. */
  private async tick(): Promise<void> {
    if (this.fatal) return;
    try {
      await this.flush();
      this.failingSince = undefined;
    } catch (err) {
      const now = Date.now();
      this.failingSince ??= now;
      const failingFor = now - this.failingSince;
      if (failingFor >= (this.opts.maxOutageMs ?? 30_000)) {
        this.fatal = new Error(`the chain journal could not record blocks for ${Math.round(failingFor / 1000)} s (last error: ${(err as Error).message})`);
        if (this.timer) clearInterval(this.timer);
        this.opts.onFatal?.(this.fatal);
      } else this.opts.onRetry?.(err as Error, failingFor);
    }
  }

  /**
   * Records every block mined since the last call. Rejects when a request or the write fails;
   * nothing is marked recorded then, so the next call starts again from the same block.
   */
  flush(): Promise<void> {
    const run = this.busy.catch(() => {}).then(async () => {
      const head = Number(BigInt(await rpc<string>(this.rpcUrl, "eth_blockNumber")));
      let lines = "";
      let txCount = 0;
      for (let n = this.last + 1; n <= head; n++) {
        const b = await rpc<RpcBlock>(this.rpcUrl, "eth_getBlockByNumber", [`0x${n.toString(16)}`, true]);
        if (b.transactions.length === 0) continue;
        const entry: JournalBlock = {
          number: n,
          timestamp: Number(BigInt(b.timestamp)),
          txs: b.transactions.map((t) => ({ from: t.from, to: t.to, input: t.input, value: t.value, gas: t.gas, nonce: t.nonce, maxFeePerGas: t.maxFeePerGas, maxPriorityFeePerGas: t.maxPriorityFeePerGas, gasPrice: t.maxFeePerGas ? undefined : t.gasPrice })),
        };
        lines += `${JSON.stringify(entry)}\n`;
        txCount += entry.txs.length;
      }
      if (head > this.last) lines += `${JSON.stringify({ height: head })}\n`;
      if (lines) {
        const size = existsSync(this.file) ? statSync(this.file).size : 0;
        try {
          appendFileSync(this.file, lines);
          const fd = openSync(this.file, "r+");
          try {
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
        } catch (err) {
          // a partial append would leave a torn line in the middle of the file: cut it off
          if (existsSync(this.file) && statSync(this.file).size > size) truncateSync(this.file, size);
          throw err;
        }
        this.recorded += txCount;
      }
      this.last = Math.max(this.last, head);
    });
    this.busy = run;
    return run;
  }

  /**
   * Stops recording after a last flush, retried for a while (nothing is written if recording never
   * started, e.g. a failed replay). Rejects when the last blocks could not be recorded.
   */
  async stop(retryMs = 10_000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (!this.started) return;
    this.started = false;
    const until = Date.now() + retryMs;
    for (;;) {
      try {
        await this.flush();
        return;
      } catch (err) {
        if (Date.now() >= until) throw new Error(`the chain journal could not record the last blocks: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}
