/**
 * The sync engine: chain → database.
 *
 * - Backfill (blocks at least `finalityDepth` below the head): `eth_getLogs` over adaptive block
 *   ranges (halved when the node says "too many results"/"range too large", doubled while results
 *   are sparse), the next ranges fetched while the current one is written; each range is one
 *   database transaction together with the checkpoint (number and hash of the range's last block).
 *   Each backfill pass starts small (`slowStartBlocks`, doubling per range up to the adaptive
 *   range), so that writing begins while the larger ranges behind are still being fetched.
 * - Live (the last `finalityDepth` blocks): headers are fetched and chained (parent hashes), logs
 *   checked against the headers, and each block written in its own transaction with its hash, the
 *   checkpoint and a journal of the rows' before-images. New blocks are found by polling
 *   `eth_blockNumber` and, when the node offers WebSocket, by an `eth_subscribe("newHeads")` wake-up.
 * - Reorgs: when a block's parent hash is not the stored hash, walk back the stored recent hashes to
 *   the last block still canonical, undo every journaled write after it, and index forward again.
 * - Crash safety: rows and checkpoint commit together, so a killed process resumes from the
 *   checkpoint with nothing lost and nothing doubled.
 */
import { EventEmitter } from "node:events";
import { decodeFunctionResult, encodeFunctionData, getAddress, type Address, type Hex } from "viem";
import { disputeGameAbi, trainingMarketAbi } from "../shared/abis.ts";
import { sqliteFile, type Db } from "./db/index.ts";
import { SqliteWriter } from "./db/sqlite-writer.ts";
import { ph } from "./db/migrate.ts";
import { decode, handleLog, type HandlerContext, type RawLog } from "./handlers.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { RpcClient, RpcFatalError, RpcRangeError, RpcTransientError } from "./rpc.ts";
import { Store, type Tx } from "./store.ts";

/** Blocks in a backfill pass's first `eth_getLogs` range by default; each next range doubles, up to the adaptive range. */
export const SLOW_START_BLOCKS = 64;

export class FatalIndexerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FatalIndexerError";
  }
}

/** The market named its DisputeGame after the indexer started: index again from the checkpoint with the game's logs. */
class GameDiscovered extends Error {
  readonly game: Address;
  constructor(game: Address) {
    super(`the market named its DisputeGame ${game}: following it`);
    this.name = "GameDiscovered";
    this.game = game;
  }
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

export interface SyncConfig {
  rpcUrl: string;
  /** WebSocket URL for newHeads; "auto" derives it from rpcUrl (ws://same host:port); false disables. */
  wsUrl?: string | "auto" | false;
  /** Expected chain id: a different one is a fatal misconfiguration. */
  chainId?: number;
  registry: Address;
  market: Address;
  startBlock?: bigint;
  finalityDepth?: number;
  pollIntervalMs?: number;
  initialRange?: number;
  maxRange?: number;
  /** Least milliseconds between two eth_getLogs requests (0: none): for RPC providers that limit requests per second. */
  getLogsMinIntervalMs?: number;
  /** Blocks in a backfill pass's first range, doubling per range up to the adaptive range (default SLOW_START_BLOCKS; 0: every range the adaptive range). */
  slowStartBlocks?: number;
  /** Grow the range while a range returns fewer logs than this. */
  targetLogs?: number;
  /** Blocks behind the head still counted as caught up (for /ready). */
  readyLag?: number;
  rpcTimeoutMs?: number;
  rpcMaxRetries?: number;
  /** Give up (fatal) if the RPC stays unreachable this long at start-up. */
  startupTimeoutMs?: number;
  maxCachedRows?: number;
}

interface Header {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  timestamp: bigint;
}

interface RpcHeader {
  number: Hex;
  hash: Hex;
  parentHash: Hex;
  timestamp: Hex;
}
interface RpcLog {
  address: Hex;
  topics: Hex[];
  data: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  logIndex: Hex;
  transactionHash: Hex;
  blockTimestamp?: Hex;
  removed?: boolean;
}

const hex = (n: bigint) => `0x${n.toString(16)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function toHeader(h: RpcHeader | null, n?: bigint): Header {
  if (!h) throw new RpcTransientError(`block ${n ?? "?"} not available yet`, "missing_block");
  return { number: BigInt(h.number), hash: h.hash, parentHash: h.parentHash, timestamp: BigInt(h.timestamp) };
}

function toLog(l: RpcLog): RawLog {
  return {
    address: l.address,
    topics: l.topics,
    data: l.data,
    blockNumber: BigInt(l.blockNumber),
    blockHash: l.blockHash,
    logIndex: Number(l.logIndex),
    transactionHash: l.transactionHash,
    blockTimestamp: l.blockTimestamp ? BigInt(l.blockTimestamp) : undefined,
  };
}

interface FetchedRange {
  from: bigint;
  to: bigint;
  /** The range asked for (to < maxTo when the node refused it and it was halved). */
  maxTo: bigint;
  logs: RawLog[];
  header: Header;
}

export interface SyncStatus {
  chainId: number | undefined;
  head: bigint | undefined;
  synced: bigint | undefined;
  syncedHash: Hex | undefined;
  ready: boolean;
  running: boolean;
  wsConnected: boolean;
  range: number;
  fatal: string | undefined;
}

export class Indexer extends EventEmitter {
  readonly db: Db;
  readonly cfg: Required<Omit<SyncConfig, "chainId" | "wsUrl">> & Pick<SyncConfig, "chainId" | "wsUrl">;
  readonly rpc: RpcClient;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly store: Store;
  chainId: number | undefined;
  token: Address | undefined;
  /** The market's DisputeGame (TrainingMarket.disputeGame()), followed with the market once set. */
  game: Address | undefined;
  #moveWindow: bigint | undefined;
  /** A game named after start-up whose logs up to the checkpoint are not indexed yet. */
  #gameCatchUp: Address | undefined;
  /** Milliseconds spent applying events and committing them (backfill), for benchmarks. */
  readonly timings = { wait: 0, timestamps: 0, apply: 0, commit: 0 };
  head: bigint | undefined;
  #cp: { number: bigint; hash: Hex | undefined; finalized: bigint } = { number: -1n, hash: undefined, finalized: -1n };
  #range: number;
  /** When the last eth_getLogs request went out (for getLogsMinIntervalMs). */
  #lastGetLogs = 0;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #ws: WebSocket | undefined;
  #wsConnected = false;
  #ready = false;
  #fatal: string | undefined;
  #blocksSincePrune = 0;
  /** SQLite: the commits' own connection (created at start, closed at stop). */
  #writer: SqliteWriter | undefined;

  constructor(db: Db, cfg: SyncConfig, deps: { log: Logger; metrics: Metrics }) {
    super();
    this.db = db;
    this.cfg = {
      startBlock: 0n,
      finalityDepth: 12,
      pollIntervalMs: 1000,
      initialRange: 2_000,
      maxRange: 100_000,
      targetLogs: 10_000,
      slowStartBlocks: SLOW_START_BLOCKS,
      readyLag: 1,
      rpcTimeoutMs: 15_000,
      rpcMaxRetries: 6,
      startupTimeoutMs: 60_000,
      maxCachedRows: 250_000,
      ...Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== undefined)),
    } as Indexer["cfg"];
    this.cfg.registry = getAddress(cfg.registry);
    this.cfg.market = getAddress(cfg.market);
    this.log = deps.log;
    this.metrics = deps.metrics;
    this.rpc = new RpcClient(cfg.rpcUrl, { timeoutMs: this.cfg.rpcTimeoutMs, maxRetries: this.cfg.rpcMaxRetries, log: deps.log, metrics: deps.metrics });
    this.store = new Store(db, { maxCachedRows: this.cfg.maxCachedRows });
    this.#range = this.cfg.initialRange;
  }

  status(): SyncStatus {
    return {
      chainId: this.chainId,
      head: this.head,
      synced: this.#cp.number >= 0n ? this.#cp.number : undefined,
      syncedHash: this.#cp.hash,
      ready: this.#ready,
      running: this.#loop !== undefined && !this.#stopping,
      wsConnected: this.#wsConnected,
      range: this.#range,
      fatal: this.#fatal,
    };
  }

  /** Checks the configuration against the chain and the database, then starts syncing in the background. */
  async start(): Promise<void> {
    await this.#preflight();
    if (this.db.provider === "sqlite" && sqliteFile(this.db.url) !== ":memory:") this.#writer ??= new SqliteWriter(sqliteFile(this.db.url));
    await this.store.init();
    await this.#loadCheckpoint();
    this.#connectWs();
    this.#loop = this.#run();
    this.#loop.catch(() => {}); // observed through `done` and the "fatal" event
  }

  /** Resolves when the loop ends (after stop(), or rejects on a fatal error). */
  get done(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    try {
      this.#ws?.close();
    } catch {}
    await this.#loop?.catch(() => {});
    this.#writer?.close();
    this.#writer = undefined;
  }

  /** Resolves once the synced block is at least `block` (or the indexer stopped). */
  async waitFor(block: bigint, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.#cp.number < block) {
      if (this.#fatal) throw new FatalIndexerError(this.#fatal);
      if (Date.now() > until) throw new Error(`indexer did not reach block ${block} in ${timeoutMs} ms (at ${this.#cp.number})`);
      await new Promise<void>((r) => {
        const done = () => {
          clearTimeout(t);
          this.off("blocks", done);
          r();
        };
        const t = setTimeout(done, 50);
        this.on("blocks", done);
      });
    }
  }

  // ------------------------------------------------------------------ start-up checks

  async #preflight(): Promise<void> {
    const deadline = Date.now() + this.cfg.startupTimeoutMs;
    for (;;) {
      try {
        await this.#checkChain();
        return;
      } catch (err) {
        if (err instanceof RpcTransientError && Date.now() < deadline) {
          this.log.warn("rpc not reachable yet, retrying", { error: err.message });
          await sleep(1000);
          continue;
        }
        if (err instanceof RpcTransientError) throw new FatalIndexerError(`RPC ${this.cfg.rpcUrl} unreachable for ${this.cfg.startupTimeoutMs} ms: ${err.message}`);
        if (err instanceof RpcFatalError) throw new FatalIndexerError(err.message);
        throw err;
      }
    }
  }

  async #checkChain(): Promise<void> {
    const chainId = Number(BigInt(await this.rpc.request<Hex>("eth_chainId")));
    if (this.cfg.chainId !== undefined && chainId !== this.cfg.chainId) {
      throw new FatalIndexerError(`wrong chain: the RPC node at ${this.cfg.rpcUrl} is on chain ${chainId}, but CHAIN_ID is ${this.cfg.chainId}`);
    }
    this.chainId = chainId;
    for (const [name, address] of [["REGISTRY_ADDRESS", this.cfg.registry], ["MARKET_ADDRESS", this.cfg.market]] as const) {
      const code = await this.rpc.request<Hex>("eth_getCode", [address, "latest"]);
      if (!code || code === "0x") throw new FatalIndexerError(`no contract at ${name} ${address} on chain ${chainId} (wrong address or wrong network?)`);
    }
    const call = async (functionName: "registry" | "token") => {
      const data = encodeFunctionData({ abi: trainingMarketAbi, functionName });
      let out: Hex;
      try {
        out = await this.rpc.request<Hex>("eth_call", [{ to: this.cfg.market, data }, "latest"]);
      } catch (err) {
        if (err instanceof RpcTransientError) throw err;
        throw new FatalIndexerError(`the contract at MARKET_ADDRESS ${this.cfg.market} is not a TrainingMarket (${functionName}() failed: ${(err as Error).message})`);
      }
      return getAddress(decodeFunctionResult({ abi: trainingMarketAbi, functionName, data: out }) as Address);
    };
    const registry = await call("registry");
    if (registry !== this.cfg.registry) {
      throw new FatalIndexerError(`MARKET_ADDRESS ${this.cfg.market} belongs to registry ${registry}, not REGISTRY_ADDRESS ${this.cfg.registry}`);
    }
    this.token = await call("token");
    const game = getAddress(decodeFunctionResult({ abi: trainingMarketAbi, functionName: "disputeGame", data: await this.rpc.request<Hex>("eth_call", [{ to: this.cfg.market, data: encodeFunctionData({ abi: trainingMarketAbi, functionName: "disputeGame" }) }, "latest"]) }) as Address);
    if (game !== ZERO_ADDRESS) await this.#followGame(game);
    const contracts = `${this.cfg.registry},${this.cfg.market}`;
    const cps = await this.db.prisma.syncCheckpoint.findMany();
    for (const cp of cps) {
      if (cp.chainId !== chainId) throw new FatalIndexerError(`the database at ${this.db.safeUrl} holds chain ${cp.chainId}, not chain ${chainId}: use another DATABASE_URL`);
      if (cp.contracts !== contracts) throw new FatalIndexerError(`the database at ${this.db.safeUrl} was built from contracts ${cp.contracts}, not ${contracts}: use another DATABASE_URL`);
    }
    this.log.info("preflight ok", { chainId, registry: this.cfg.registry, market: this.cfg.market, token: this.token, game: this.game ?? null, db: this.db.safeUrl });
  }

  /** Adds the market's DisputeGame to the logs followed; its move window (an immutable) dates the moves. */
  async #followGame(game: Address): Promise<void> {
    const read = async (functionName: "market" | "moveWindow") => {
      const data = encodeFunctionData({ abi: disputeGameAbi, functionName });
      let out: Hex;
      try {
        out = await this.rpc.request<Hex>("eth_call", [{ to: game, data }, "latest"]);
      } catch (err) {
        if (err instanceof RpcTransientError) throw err;
        throw new FatalIndexerError(`the market's disputeGame ${game} is not a DisputeGame (${functionName}() failed: ${(err as Error).message})`);
      }
      return decodeFunctionResult({ abi: disputeGameAbi, functionName, data: out });
    };
    const market = getAddress((await read("market")) as Address);
    if (market !== this.cfg.market) throw new FatalIndexerError(`the market's disputeGame ${game} judges market ${market}, not MARKET_ADDRESS ${this.cfg.market}`);
    this.#moveWindow = BigInt((await read("moveWindow")) as number);
    this.game = game;
  }

  async #loadCheckpoint(): Promise<void> {
    const cp = await this.db.prisma.syncCheckpoint.findUnique({ where: { chainId: this.chainId! } });
    if (cp) {
      this.#cp = { number: cp.blockNumber, hash: cp.blockHash as Hex, finalized: cp.finalizedBlock };
      this.log.info("resuming from checkpoint", { block: cp.blockNumber, hash: cp.blockHash });
    } else {
      this.#cp = { number: this.cfg.startBlock - 1n, hash: undefined, finalized: this.cfg.startBlock - 1n };
      this.log.info("starting from scratch", { startBlock: this.cfg.startBlock });
    }
    this.metrics.syncedBlock.set(Number(this.#cp.number));
  }

  // ------------------------------------------------------------------ the loop

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      try {
        if (this.#gameCatchUp) await this.#catchUpGame(this.#gameCatchUp);
        const head = BigInt(await this.rpc.request<Hex>("eth_blockNumber"));
        this.#setHead(head);
        const next = this.#cp.number + 1n;
        if (next > head) {
          // idle: make sure the block we stopped at is still canonical (a reorg to a chain that is
          // not longer yet would otherwise go unnoticed until it grows past us)
          if (this.#cp.hash !== undefined && this.#cp.number > this.#cp.finalized) {
            const h = await this.rpc.request<RpcHeader | null>("eth_getBlockByNumber", [hex(this.#cp.number), false]);
            if (!h || h.hash !== this.#cp.hash) {
              await this.#reorg(this.#cp.number + 1n, h ? toHeader(h) : undefined);
              continue;
            }
          }
          this.#setReady(true);
          await this.#sleepUntilWake(this.cfg.pollIntervalMs);
        } else if (next <= head - BigInt(this.cfg.finalityDepth)) {
          await this.#backfill(head - BigInt(this.cfg.finalityDepth));
        } else {
          await this.#live(head);
        }
        failures = 0;
      } catch (err) {
        if (err instanceof GameDiscovered) {
          // rows applied from logs fetched without the game's are dropped: the game's logs up to the
          // checkpoint are indexed first (referees may register before the market names the game),
          // then the blocks after it again, with the game's logs
          this.log.info("following the dispute game", { game: err.game });
          await this.store.reset();
          await this.#loadCheckpoint();
          this.#gameCatchUp = err.game;
          continue;
        }
        if (err instanceof FatalIndexerError) {
          this.#fatal = err.message;
          this.log.error("fatal", { error: err.message });
          this.emit("fatal", err);
          throw err;
        }
        failures++;
        const delay = Math.min(10_000, 200 * 2 ** Math.min(failures, 6));
        this.log.warn("sync step failed, retrying", { error: (err as Error).message, kind: (err as Error).name, failures, delayMs: delay });
        if (!(err instanceof RpcTransientError) && !(err instanceof RpcRangeError)) {
          // the database may hold less than memory: start again from what is committed
          await this.store.reset().catch(() => {});
          await this.#loadCheckpoint().catch(() => {});
        }
        await this.#sleepUntilWake(delay);
      }
    }
  }

  #setHead(head: bigint): void {
    this.head = head;
    this.metrics.headBlock.set(Number(head));
    this.metrics.blocksBehind.set(Math.max(0, Number(head - this.#cp.number)));
    if (head - this.#cp.number > BigInt(this.cfg.readyLag)) this.#setReady(false);
  }

  #setReady(ready: boolean): void {
    if (ready === this.#ready) return;
    this.#ready = ready;
    this.metrics.ready.set(ready ? 1 : 0);
    this.log.info(ready ? "caught up" : "catching up", { synced: this.#cp.number, head: this.head });
    if (ready) this.emit("ready");
  }

  #sleepUntilWake(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }

  /** Indexes the game's logs from the start block to the checkpoint (a game named after start-up). */
  async #catchUpGame(game: Address): Promise<void> {
    const to = this.#cp.number;
    const logs: RawLog[] = [];
    let from = this.cfg.startBlock;
    let span = BigInt(Math.max(1, this.#range));
    while (from <= to) {
      const end = from + span - 1n < to ? from + span - 1n : to;
      try {
        const raw = await this.rpc.request<RpcLog[]>("eth_getLogs", [{ fromBlock: hex(from), toBlock: hex(end), address: [game] }]);
        logs.push(...raw.map(toLog));
        from = end + 1n;
      } catch (err) {
        if (!(err instanceof RpcRangeError) || span === 1n) throw err;
        span /= 2n;
      }
    }
    if (logs.length > 0) {
      await this.#fillTimestamps(logs);
      // blocks above the last final one are journaled under their own number, so a reorg undoes them
      let events = 0;
      for (const l of logs) {
        const journal = l.blockNumber > this.#cp.finalized ? l.blockNumber : undefined;
        if (journal !== this.store.journalBlock) this.store.setJournalBlock(journal);
        events += await this.#apply([l]);
      }
      this.store.setJournalBlock(undefined);
      try {
        await this.db.prisma.$transaction((tx) => this.store.flush(tx), { timeout: 300_000, maxWait: 60_000 });
      } catch (err) {
        await this.store.reset().catch(() => {});
        throw err;
      }
      this.store.afterCommit();
      this.metrics.eventsIndexed.inc(events);
    }
    this.#gameCatchUp = undefined;
    this.log.info("dispute game caught up", { game, to, logs: logs.length });
  }

  // ------------------------------------------------------------------ backfill

  #logFilter(from: bigint, to: bigint) {
    return { fromBlock: hex(from), toBlock: hex(to), address: this.game ? [this.cfg.registry, this.cfg.market, this.game] : [this.cfg.registry, this.cfg.market] };
  }

  async #fetchRange(from: bigint, maxTo: bigint): Promise<FetchedRange> {
    let to = maxTo;
    for (;;) {
      const wait = this.#lastGetLogs + (this.cfg.getLogsMinIntervalMs ?? 0) - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.#lastGetLogs = Date.now();
      try {
        const [logs, header] = await this.rpc.batch<unknown>([
          { method: "eth_getLogs", params: [this.#logFilter(from, to)] },
          { method: "eth_getBlockByNumber", params: [hex(to), false] },
        ]);
        const raw = (logs as RpcLog[]).map(toLog);
        if (raw.length < this.cfg.targetLogs / 2 && this.#range < this.cfg.maxRange) this.#range = Math.min(this.cfg.maxRange, this.#range * 2);
        else if (raw.length > this.cfg.targetLogs * 2) this.#range = Math.max(1, Math.floor(this.#range / 2));
        this.metrics.rangeSize.set(this.#range);
        return { from, to, maxTo, logs: raw, header: toHeader(header as RpcHeader, to) };
      } catch (err) {
        if (!(err instanceof RpcRangeError)) throw err;
        if (to === from) throw new FatalIndexerError(`eth_getLogs fails even for a single block (${from}): ${err.message}`);
        this.#range = Math.max(1, Math.floor(Number(to - from + 1n) / 2));
        to = from + BigInt(this.#range) - 1n;
        this.metrics.rangeSize.set(this.#range);
        this.log.info("getLogs range too large, halving", { from, to, range: this.#range, error: err.message });
      }
    }
  }

  async #backfill(finalTarget: bigint): Promise<void> {
    // up to `prefetch` ranges in flight while the oldest one is written
    const prefetch = 3;
    const queue: Promise<FetchedRange>[] = [];
    let nextFrom = this.#cp.number + 1n;
    let issued = 0;
    const fill = () => {
      while (queue.length < prefetch && nextFrom <= finalTarget) {
        const from = nextFrom;
        // slow start: a pass's first ranges are small, so writing starts while the next ones are fetched (a few more requests per pass, at most log2(maxRange / SLOW_START_BLOCKS))
        const slow = this.cfg.slowStartBlocks;
        const span = BigInt(slow > 0 ? Math.min(this.#range, slow * 2 ** Math.min(issued++, 30)) : this.#range);
        const to = from + span - 1n < finalTarget ? from + span - 1n : finalTarget;
        const p = this.#fetchRange(from, to);
        p.catch(() => {});
        queue.push(p);
        nextFrom = to + 1n;
      }
    };
    try {
      fill();
      while (queue.length > 0 && !this.#stopping) {
        const tW = performance.now();
        const r = await queue.shift()!;
        this.timings.wait += performance.now() - tW;
        if (r.from !== this.#cp.number + 1n) throw new Error(`internal: range ${r.from} does not follow checkpoint ${this.#cp.number}`);
        if (r.to < r.maxTo) {
          // the node refused the whole range and a smaller one was fetched: refetch the rest in order
          for (const q of queue.splice(0)) await q.catch(() => {});
          nextFrom = r.to + 1n;
        }
        fill();
        const tA = performance.now();
        await this.#fillTimestamps(r.logs);
        this.timings.timestamps += performance.now() - tA;
        this.store.setJournalBlock(undefined);
        const events = await this.#apply(r.logs);
        const tB = performance.now();
        await this.#commit(r.header, { final: true, storeBlock: true });
        this.timings.apply += tB - tA;
        this.timings.commit += performance.now() - tB;
        this.metrics.eventsIndexed.inc(events);
        this.log.debug("backfilled", { from: r.from, to: r.to, logs: r.logs.length, range: this.#range });
        this.emit("blocks", { from: r.from, to: r.to });
      }
    } finally {
      for (const q of queue) await q.catch(() => {});
    }
  }

  async #fillTimestamps(logs: RawLog[]): Promise<void> {
    const missing = [...new Set(logs.filter((l) => l.blockTimestamp === undefined).map((l) => l.blockNumber))];
    if (missing.length === 0) return;
    const headers = await this.rpc.batch<RpcHeader>(missing.map((n) => ({ method: "eth_getBlockByNumber", params: [hex(n), false] })));
    const ts = new Map(headers.map((h, i) => [missing[i], toHeader(h, missing[i])]));
    for (const l of logs) {
      if (l.blockTimestamp !== undefined) continue;
      const h = ts.get(l.blockNumber)!;
      if (h.hash !== l.blockHash) throw new RpcTransientError(`block ${l.blockNumber} changed while fetching (reorg in progress)`, "reorg_race");
      l.blockTimestamp = h.timestamp;
    }
  }

  async #apply(logs: RawLog[]): Promise<number> {
    const ctx: HandlerContext = { store: this.store, token: this.token!, registry: this.cfg.registry, market: this.cfg.market, game: this.game, moveWindow: this.#moveWindow };
    let n = 0;
    for (const l of logs) {
      const name = await handleLog(ctx, l, l.blockTimestamp ?? 0n);
      if (name !== undefined) n++;
      if (name === "DisputeGameUpdated") {
        // the game is set once; when that happens after start-up, its logs were not fetched: start over from the checkpoint
        const game = getAddress(decode(l, "market")!.args.game as Address);
        if (game !== this.game && game !== ZERO_ADDRESS) {
          await this.#followGame(game);
          throw new GameDiscovered(game);
        }
      }
    }
    return n;
  }

  /** Writes what the store holds with the checkpoint at `header`; `blocks`: the headers to keep for reorg checks (default: `header`). */
  async #commit(header: Header, opts: { final: boolean; storeBlock: boolean; blocks?: Header[] }): Promise<void> {
    const finalized = opts.final ? header.number : this.#cp.finalized;
    const contracts = `${this.cfg.registry},${this.cfg.market}`;
    const prune = !opts.final && ++this.#blocksSincePrune >= 32;
    // rows, reorg journal, block hashes and checkpoint: one transaction
    const write = async (tx: Tx) => {
      await this.store.flush(tx);
      if (opts.storeBlock) {
        for (const h of opts.blocks ?? [header]) {
          await tx.$executeRawUnsafe(
            `INSERT INTO ${this.db.table("block")} ("number", "hash", "parentHash", "timestamp") VALUES (${ph(this.db, 1)}, ${ph(this.db, 2)}, ${ph(this.db, 3)}, ${ph(this.db, 4)}) ON CONFLICT ("number") DO UPDATE SET "hash" = excluded."hash", "parentHash" = excluded."parentHash", "timestamp" = excluded."timestamp"`,
            h.number,
            h.hash,
            h.parentHash,
            h.timestamp,
          );
        }
      }
      const cp = [this.chainId!, header.number, header.hash, contracts, this.cfg.startBlock, finalized, BigInt(Date.now())];
      const cols = ["chainId", "blockNumber", "blockHash", "contracts", "startBlock", "finalizedBlock", "syncedAt"];
      await tx.$executeRawUnsafe(
        `INSERT INTO ${this.db.table("sync_checkpoint")} (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols.map((_, i) => ph(this.db, i + 1)).join(", ")}) ON CONFLICT ("chainId") DO UPDATE SET ${cols
          .slice(1)
          .map((c) => `"${c}" = excluded."${c}"`)
          .join(", ")}`,
        ...cp,
      );
      if (opts.final || prune) {
        const keepFrom = header.number - BigInt(this.cfg.finalityDepth) - 16n;
        await tx.$executeRawUnsafe(`DELETE FROM ${this.db.table("reorg_journal")} WHERE "block" < ${ph(this.db, 1)}`, keepFrom);
        await tx.$executeRawUnsafe(`DELETE FROM ${this.db.table("block")} WHERE "number" < ${ph(this.db, 1)}`, keepFrom);
      }
    };
    try {
      if (this.#writer) await this.#writer.transaction(write);
      else await this.db.prisma.$transaction((tx) => write(tx), { timeout: 300_000, maxWait: 60_000 });
    } catch (err) {
      await this.store.reset().catch(() => {});
      throw err;
    }
    if (prune) this.#blocksSincePrune = 0;
    this.store.afterCommit();
    this.metrics.flushes.inc();
    this.#cp = { number: header.number, hash: header.hash, finalized };
    this.metrics.syncedBlock.set(Number(header.number));
    if (this.head !== undefined) this.metrics.blocksBehind.set(Math.max(0, Number(this.head - header.number)));
  }

  // ------------------------------------------------------------------ live blocks

  async #live(head: bigint): Promise<void> {
    const from = this.#cp.number + 1n;
    const to = head - from > 63n ? from + 63n : head;
    const nums: bigint[] = [];
    for (let n = from; n <= to; n++) nums.push(n);
    const [rawLogs, ...rawHeaders] = await this.rpc.batch<unknown>([
      { method: "eth_getLogs", params: [this.#logFilter(from, to)] },
      ...nums.map((n) => ({ method: "eth_getBlockByNumber", params: [hex(n), false] })),
    ]);
    const headers = rawHeaders.map((h, i) => toHeader(h as RpcHeader, nums[i]));
    if (this.#cp.hash !== undefined && headers[0].parentHash !== this.#cp.hash) {
      await this.#reorg(headers[0].number, headers[0]);
      return;
    }
    for (let i = 1; i < headers.length; i++) {
      if (headers[i].parentHash !== headers[i - 1].hash) throw new RpcTransientError(`block ${headers[i].number} does not extend ${headers[i - 1].number} (chain moving)`, "reorg_race");
    }
    const byBlock = new Map<bigint, RawLog[]>();
    for (const l of (rawLogs as RpcLog[]).map(toLog)) {
      const h = headers[Number(l.blockNumber - from)];
      if (!h || h.hash !== l.blockHash) throw new RpcTransientError(`logs of block ${l.blockNumber} are from another fork (chain moving)`, "reorg_race");
      l.blockTimestamp ??= h.timestamp;
      const list = byBlock.get(l.blockNumber);
      if (list) list.push(l);
      else byBlock.set(l.blockNumber, [l]);
    }
    // every block journaled under its own number (a reorg undoes them one by one), all of them
    // committed in one transaction with the checkpoint at the last: one block when following the
    // head, up to 64 when catching up on the blocks that are not final yet
    const done: Header[] = [];
    let events = 0;
    try {
      for (const h of headers) {
        if (this.#stopping) break;
        this.store.setJournalBlock(h.number);
        events += await this.#apply(byBlock.get(h.number) ?? []);
        done.push(h);
      }
    } finally {
      this.store.setJournalBlock(undefined);
    }
    if (done.length === 0) return;
    await this.#commit(done[done.length - 1], { final: false, storeBlock: true, blocks: done });
    this.metrics.eventsIndexed.inc(events);
    this.emit("blocks", { from: done[0].number, to: done[done.length - 1].number });
    if (this.head !== undefined && this.head - this.#cp.number <= BigInt(this.cfg.readyLag)) this.#setReady(true);
  }

  /** Rolls back to the newest kept block below `below` that is still canonical. */
  async #reorg(below: bigint, newHeader: Header | undefined): Promise<void> {
    const stored = await this.db.prisma.block.findMany({ where: { number: { lt: below } }, orderBy: { number: "desc" } });
    let ancestor: { number: bigint; hash: string } | undefined;
    for (const b of stored) {
      const raw = await this.rpc.request<RpcHeader | null>("eth_getBlockByNumber", [hex(b.number), false]);
      if (raw && toHeader(raw).hash === b.hash) {
        ancestor = b;
        break;
      }
    }
    if (!ancestor || ancestor.number < this.#cp.finalized) {
      throw new FatalIndexerError(
        `reorg deeper than the indexer can undo: block ${below - 1n} changed and no kept block at or above ${this.#cp.finalized} (the last final block) is still canonical; raise FINALITY_DEPTH and re-index into a fresh database`,
      );
    }
    const depth = this.#cp.number - ancestor.number;
    let undone = 0;
    await this.db.prisma.$transaction(
      async (tx) => {
        undone = await this.store.rollback(tx, ancestor.number);
        await tx.$executeRawUnsafe(`DELETE FROM ${this.db.table("block")} WHERE "number" > ${ph(this.db, 1)}`, ancestor.number);
        await tx.syncCheckpoint.update({ where: { chainId: this.chainId! }, data: { blockNumber: ancestor.number, blockHash: ancestor.hash, syncedAt: BigInt(Date.now()) } });
      },
      { timeout: 300_000, maxWait: 60_000 },
    );
    await this.store.reset();
    this.#cp = { number: ancestor.number, hash: ancestor.hash as Hex, finalized: this.#cp.finalized };
    this.metrics.reorgs.inc();
    this.metrics.reorgDepth.inc(Number(depth));
    this.metrics.syncedBlock.set(Number(ancestor.number));
    this.log.warn("reorg: rolled back", { ancestor: ancestor.number, depth: Number(depth), rowsRestored: undone, newBlock: newHeader?.number, newHash: newHeader?.hash });
    this.emit("reorg", { ancestor: ancestor.number, depth: Number(depth) });
  }

  // ------------------------------------------------------------------ WebSocket wake-ups

  #connectWs(attempt = 0): void {
    if (this.#stopping || this.cfg.wsUrl === false) return;
    const url = this.cfg.wsUrl === undefined || this.cfg.wsUrl === "auto" ? this.cfg.rpcUrl.replace(/^http/, "ws") : this.cfg.wsUrl;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      this.log.info("websocket unavailable, polling only", { url, error: (err as Error).message });
      return;
    }
    this.#ws = ws;
    let subscribed = false;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
    });
    ws.addEventListener("message", (ev) => {
      let msg: { id?: number; result?: unknown; error?: unknown; method?: string };
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (msg.id === 1) {
        if (msg.error) {
          this.log.info("websocket has no newHeads subscription, polling only", { url });
          ws.close();
          return;
        }
        subscribed = true;
        this.#wsConnected = true;
        this.log.info("websocket newHeads subscribed", { url });
      } else if (msg.method === "eth_subscription") {
        this.#wake?.();
      }
    });
    ws.addEventListener("error", () => {});
    ws.addEventListener("close", () => {
      const was = this.#wsConnected;
      this.#wsConnected = false;
      if (this.#stopping) return;
      if (!subscribed && !was && attempt === 0) {
        this.log.info("websocket not offered by the RPC, polling only", { url });
      }
      // retry later (the node may restart); polling covers the gap
      if (subscribed || attempt < 3) setTimeout(() => this.#connectWs(subscribed ? 0 : attempt + 1), Math.min(30_000, 1000 * 2 ** attempt)).unref();
    });
  }
}
