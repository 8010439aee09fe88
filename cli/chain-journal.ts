/**
 * Makes the local Hardhat chain survive restarts. Hardhat's node keeps its state in memory and has
 * no dump/load, so `./run start` journals every mined transaction (sender, nonce, fees, calldata,
 * block number and timestamp) to a JSON-lines file; on the next start the journal is replayed on a
 * fresh node: empty stretches are re-mined with `hardhat_mine`, each transaction is re-sent from
 * its (impersonated) sender at its original timestamp. Contract addresses, balances, jobs and
 * rounds come back identical, and chain time resumes where it stopped, so no deadline passes while
 * the network is down. Blocks are re-created, so block hashes may differ: the indexer re-indexes.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
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

  constructor(file: string, rpcUrl: string) {
    this.file = file;
    this.rpcUrl = rpcUrl;
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
    if (!this.replayed && this.last < 0) this.last = this.read().height;
    this.started = true;
    this.timer = setInterval(() => void this.flush().catch(() => {}), intervalMs);
  }

  /** Records every block mined since the last call. */
  flush(): Promise<void> {
    this.busy = this.busy.then(async () => {
      const head = Number(BigInt(await rpc<string>(this.rpcUrl, "eth_blockNumber")));
      let lines = "";
      for (let n = this.last + 1; n <= head; n++) {
        const b = await rpc<RpcBlock>(this.rpcUrl, "eth_getBlockByNumber", [`0x${n.toString(16)}`, true]);
        if (b.transactions.length === 0) continue;
        const entry: JournalBlock = {
          number: n,
          timestamp: Number(BigInt(b.timestamp)),
          txs: b.transactions.map((t) => ({ from: t.from, to: t.to, input: t.input, value: t.value, gas: t.gas, nonce: t.nonce, maxFeePerGas: t.maxFeePerGas, maxPriorityFeePerGas: t.maxPriorityFeePerGas, gasPrice: t.maxFeePerGas ? undefined : t.gasPrice })),
        };
        lines += `${JSON.stringify(entry)}\n`;
      }
      if (head > this.last) lines += `${JSON.stringify({ height: head })}\n`;
      if (lines) appendFileSync(this.file, lines);
      this.last = Math.max(this.last, head);
    });
    return this.busy;
  }

  /** Stops recording after a last flush (nothing is written if recording never started, e.g. a failed replay). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.started) await this.flush().catch(() => {});
  }
}
