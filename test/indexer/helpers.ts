/**
 * Shared by test/indexer and test/api: a real Hardhat chain served over HTTP and WebSocket by
 * Hardhat's own JSON-RPC server (the one `hardhat node` runs) on a free port, the market deployed on
 * it with the contracts' test fixture; the databases to run against (SQLite always, PostgreSQL when
 * reachable, said clearly when not); the indexer in-process or as a child process; a faulty
 * JSON-RPC proxy.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Address } from "viem";
import { network } from "hardhat";
import { deployMarket, type Ctx } from "../helpers/market.ts";
import { openDb, type Db } from "../../indexer/db/index.ts";
import { createLogger } from "../../indexer/log.ts";
import { Metrics } from "../../indexer/metrics.ts";
import { Indexer, type SyncConfig } from "../../indexer/sync.ts";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

// ------------------------------------------------------------------ chain

export interface Chain {
  ctx: Ctx;
  url: string;
  wsUrl: string;
  request<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  mine(n?: number): Promise<void>;
  blockNumber(): Promise<bigint>;
  close(): Promise<void>;
}

/** A Hardhat chain served over HTTP, with the market deployed by `deploy` (default: the Ignition module). */
export async function startChain(
  deploy: (conn: Awaited<ReturnType<typeof network.create>>) => Promise<Ctx> = (conn) => deployMarket(conn as never),
  opts: { accounts?: number } = {},
): Promise<Chain> {
  // more funded accounts than Hardhat's default 20 when a caller needs them (same mnemonic)
  const conn = opts.accounts
    ? await network.create({ override: { accounts: { mnemonic: "test test test test test test test test test test test junk", count: opts.accounts } } } as never)
    : await network.create();
  const ctx = await deploy(conn);
  const serverPath = path.join(root, "node_modules/hardhat/dist/src/internal/builtin-plugins/node/json-rpc/server.js");
  const { JsonRpcServerImplementation } = (await import(pathToFileURL(serverPath).href)) as {
    JsonRpcServerImplementation: new (c: { hostname: string; port: number; provider: unknown }) => { listen(): Promise<{ port: number }>; close(): Promise<void> };
  };
  const server = new JsonRpcServerImplementation({ hostname: "127.0.0.1", port: 0, provider: conn.provider });
  const { port } = await server.listen();
  const request = <T>(method: string, params: unknown[] = []) => conn.provider.request({ method, params }) as Promise<T>;
  return {
    ctx,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    request,
    mine: async (n = 1) => {
      for (let i = 0; i < n; i++) await request("evm_mine");
    },
    blockNumber: async () => BigInt(await request<string>("eth_blockNumber")),
    close: async () => {
      await server.close().catch(() => {});
      await conn.close?.();
    },
  };
}

// ------------------------------------------------------------------ databases

const PG_BASE = process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";

let pgChecked: boolean | undefined;
export async function postgresAvailable(): Promise<boolean> {
  if (pgChecked !== undefined) return pgChecked;
  const u = new URL(PG_BASE);
  const reachable = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 5432) });
    s.setTimeout(1000);
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
    s.once("timeout", () => (s.destroy(), resolve(false)));
  });
  if (reachable) {
    try {
      const db = await openDb(`${PG_BASE}?schema=probe_${process.pid}`, { migrate: false });
      await db.prisma.$queryRawUnsafe("SELECT 1");
      await db.prisma.$executeRawUnsafe(`DROP SCHEMA IF EXISTS "probe_${process.pid}" CASCADE`);
      await db.close();
      pgChecked = true;
    } catch (err) {
      console.log(`# PostgreSQL at ${u.host} answered but is not usable (${(err as Error).message}): PostgreSQL variant SKIPPED`);
      pgChecked = false;
    }
  } else {
    console.log(`# PostgreSQL is not reachable at ${u.host}: the PostgreSQL variant of this test is SKIPPED (SQLite only)`);
    pgChecked = false;
  }
  return pgChecked;
}

export interface TestDb {
  kind: "sqlite" | "postgresql";
  url: string;
  open(opts?: Parameters<typeof openDb>[1]): Promise<Db>;
  drop(): Promise<void>;
}

/** A fresh, empty database of each available kind. */
export async function testDatabases(label: string): Promise<TestDb[]> {
  const out: TestDb[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), `idx-${label}-`));
  const sqliteUrl = `file:${path.join(dir, "indexer.db")}`;
  out.push({ kind: "sqlite", url: sqliteUrl, open: (o) => openDb(sqliteUrl, o), drop: async () => rmSync(dir, { recursive: true, force: true }) });
  if (await postgresAvailable()) {
    const schema = `t_${label.replace(/[^a-z0-9]/gi, "_").toLowerCase()}_${process.pid}_${Date.now() % 100000}`;
    const url = `${PG_BASE}?schema=${schema}`;
    out.push({
      kind: "postgresql",
      url,
      open: (o) => openDb(url, o),
      drop: async () => {
        const db = await openDb(url, { migrate: false });
        await db.prisma.$executeRawUnsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await db.close();
      },
    });
  }
  return out;
}

// ------------------------------------------------------------------ indexer

export const quietLog = createLogger({ svc: "test" }, (process.env.TEST_LOG_LEVEL ?? "silent") as "info");

export function indexerConfig(chain: Chain, overrides: Partial<SyncConfig> = {}): SyncConfig {
  return {
    rpcUrl: chain.url,
    wsUrl: false,
    registry: (chain.ctx as unknown as { registry: { address: Address } }).registry.address,
    market: (chain.ctx as unknown as { market: { address: Address } }).market.address,
    finalityDepth: 4,
    pollIntervalMs: 50,
    rpcTimeoutMs: 5_000,
    rpcMaxRetries: 8,
    startupTimeoutMs: 5_000,
    ...overrides,
  };
}

export async function startIndexer(db: Db, chain: Chain, overrides: Partial<SyncConfig> = {}): Promise<Indexer> {
  const ix = new Indexer(db, indexerConfig(chain, overrides), { log: quietLog, metrics: new Metrics() });
  await ix.start();
  return ix;
}

/** Waits until the indexer has synced the chain's current head. */
export async function synced(ix: Indexer, chain: Chain, timeoutMs = 60_000): Promise<void> {
  await ix.waitFor(await chain.blockNumber(), timeoutMs);
}

export interface ChildIndexer {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

/** `node indexer/main.ts` as a child process. */
export function spawnIndexer(env: Record<string, string>): ChildIndexer {
  let out = "";
  const proc = spawn(process.execPath, [path.join(root, "indexer", "main.ts")], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { proc, out: () => out, exited };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitUntil(fn: () => Promise<boolean> | boolean, timeoutMs = 30_000, what = "condition"): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ------------------------------------------------------------------ faulty proxy

export interface Fault {
  /** Decides what to do with one request (method is the first call's in a batch). */
  (req: { method: string; body: unknown; n: number }): "pass" | "timeout" | "429" | "500" | "reset" | { rangeError: string } | undefined;
}

/**
 * A JSON-RPC proxy in front of the real node that injects faults: hangs (client timeouts), HTTP 429,
 * HTTP 500, dropped connections, and "too many results" errors for eth_getLogs.
 */
export async function faultyProxy(target: string, fault: Fault): Promise<{ url: string; count: Record<string, number>; close(): Promise<void> }> {
  const count: Record<string, number> = {};
  let n = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const body = JSON.parse(raw) as { method: string; id: number } | { method: string; id: number }[];
    const first = Array.isArray(body) ? body[0] : body;
    const action = fault({ method: first.method, body, n: n++ }) ?? "pass";
    const kind = typeof action === "string" ? action : "range";
    count[kind] = (count[kind] ?? 0) + 1;
    if (action === "timeout") return; // never answer: the client's timeout fires
    if (action === "reset") return req.socket.destroy();
    if (action === "429") {
      res.writeHead(429, { "retry-after": "0" });
      return res.end("rate limited");
    }
    if (action === "500") {
      res.writeHead(502);
      return res.end("bad gateway");
    }
    if (typeof action === "object") {
      const err = (id: number) => ({ jsonrpc: "2.0", id, error: { code: -32005, message: action.rangeError } });
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify(Array.isArray(body) ? body.map((b) => err(b.id)) : err(first.id)));
    }
    const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: raw });
    res.writeHead(upstream.status, { "content-type": "application/json" });
    res.end(await upstream.text());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    count,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// ------------------------------------------------------------------ comparing databases

import { TABLES, type TableName } from "../../indexer/store.ts";

/** Every indexed row (not the checkpoint, journal or block hashes), as comparable JSON per table. */
export async function dumpTables(db: Db): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of Object.keys(TABLES) as TableName[]) {
    const def = TABLES[t];
    const rows = (await (db.prisma as unknown as Record<string, { findMany(a: unknown): Promise<Record<string, unknown>[]> }>)[def.model].findMany({ orderBy: { [def.pk]: "asc" } })) as Record<string, unknown>[];
    out[t] = rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).sort();
  }
  return out;
}

/** Indexes the chain from scratch into a fresh SQLite database and returns its dump. */
export async function referenceDump(chain: Chain): Promise<Record<string, string[]>> {
  const [ref] = await testDatabases(`ref${Date.now() % 1000}`);
  const db = await ref.open();
  const ix = await startIndexer(db, chain, { finalityDepth: 0 });
  try {
    await synced(ix, chain);
    return await dumpTables(db);
  } finally {
    await ix.stop();
    await db.close();
    await ref.drop();
  }
}
