/**
 * A small JSON-RPC client for the indexer: HTTP with timeouts, retries with exponential backoff and
 * jitter for transient faults (timeouts, connection errors, HTTP 429 — honouring Retry-After —,
 * HTTP 5xx, "try again" style node errors), JSON-RPC batches, and typed errors so the sync engine
 * can tell a range that is too large (halve it) from a misconfiguration (stop with a clear message).
 */
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

export class RpcError extends Error {
  readonly code: number | undefined;
  readonly data: unknown;
  constructor(message: string, code?: number, data?: unknown) {
    super(message);
    this.name = "RpcError";
    this.code = code;
    this.data = data;
  }
}
/** Worth retrying: the node is slow, busy, rate limiting or briefly unreachable. */
export class RpcTransientError extends RpcError {
  readonly kind: string;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, kind: string, retryAfterMs?: number) {
    super(message);
    this.name = "RpcTransientError";
    this.kind = kind;
    this.retryAfterMs = retryAfterMs;
  }
}
/** eth_getLogs asked for too much (too many results, range too wide, response too big). */
export class RpcRangeError extends RpcError {
  constructor(message: string, code?: number) {
    super(message, code);
    this.name = "RpcRangeError";
  }
}
/** Nothing to retry: wrong URL, authentication, method missing... */
export class RpcFatalError extends RpcError {
  constructor(message: string, code?: number) {
    super(message, code);
    this.name = "RpcFatalError";
  }
}

const RANGE_RE = /too many (results|logs|blocks)|query returned more than|limit exceeded|range (is )?too (large|wide|big)|block range|response size|exceed(s|ed)? (the )?(max|maximum)|max results|more than \d+ (results|logs)/i;
const TRANSIENT_RE = /rate.?limit|too many requests|timeout|timed out|try again|temporarily|header not found|busy|overload|unavailable|capacity/i;

export function classifyRpcError(code: number | undefined, message: string): RpcError {
  if (RANGE_RE.test(message)) return new RpcRangeError(message, code);
  if (code === 429 || TRANSIENT_RE.test(message)) return new RpcTransientError(message, "rpc_transient");
  if (code === -32601) return new RpcFatalError(`method not supported by the RPC node: ${message}`, code);
  return new RpcError(message, code);
}

export interface RpcOptions {
  timeoutMs?: number;
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  batchSize?: number;
  log?: Logger;
  metrics?: Metrics;
}

interface JsonRpcResponse {
  id: number;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RpcClient {
  readonly url: string;
  readonly opts: Required<Omit<RpcOptions, "log" | "metrics">>;
  readonly log: Logger | undefined;
  readonly metrics: Metrics | undefined;
  #id = 0;

  constructor(url: string, opts: RpcOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new RpcFatalError(`RPC_URL is not a URL: "${url}"`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new RpcFatalError(`RPC_URL must be http(s)://, got "${url}"`);
    this.url = url;
    this.opts = {
      timeoutMs: opts.timeoutMs ?? 15_000,
      maxRetries: opts.maxRetries ?? 6,
      baseDelayMs: opts.baseDelayMs ?? 100,
      maxDelayMs: opts.maxDelayMs ?? 5_000,
      batchSize: opts.batchSize ?? 100,
    };
    this.log = opts.log;
    this.metrics = opts.metrics;
  }

  async request<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    const [res] = await this.#withRetry(method, [{ method, params }]);
    return res as T;
  }

  /** Sends the calls as JSON-RPC batches of `batchSize`; results in call order. */
  async batch<T = unknown>(calls: { method: string; params: unknown[] }[]): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < calls.length; i += this.opts.batchSize) {
      const chunk = calls.slice(i, i + this.opts.batchSize);
      out.push(...((await this.#withRetry(chunk[0].method, chunk)) as T[]));
    }
    return out;
  }

  async #withRetry(label: string, calls: { method: string; params: unknown[] }[]): Promise<unknown[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#send(calls);
      } catch (err) {
        if (!(err instanceof RpcTransientError) || attempt >= this.opts.maxRetries) throw err;
        const backoff = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** attempt);
        const delay = Math.max(err.retryAfterMs ?? 0, backoff * (0.5 + Math.random() / 2));
        this.log?.warn("rpc retry", { method: label, attempt: attempt + 1, kind: err.kind, error: err.message, delayMs: Math.round(delay) });
        await sleep(delay);
      }
    }
  }

  async #send(calls: { method: string; params: unknown[] }[]): Promise<unknown[]> {
    const single = calls.length === 1;
    const bodies = calls.map((c) => ({ jsonrpc: "2.0", id: ++this.#id, method: c.method, params: c.params }));
    for (const c of calls) this.metrics?.rpcRequests.inc(1, { method: c.method });
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(single ? bodies[0] : bodies),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const timeout = e.name === "TimeoutError" || e.name === "AbortError";
      const kind = timeout ? "timeout" : "network";
      this.metrics?.rpcErrors.inc(1, { kind });
      throw new RpcTransientError(timeout ? `RPC request timed out after ${this.opts.timeoutMs} ms` : `RPC unreachable: ${e.cause?.code ?? e.message}`, kind);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      this.metrics?.rpcErrors.inc(1, { kind: "network" });
      throw new RpcTransientError(`RPC response aborted: ${(err as Error).message}`, "network");
    }
    if (res.status === 429) {
      this.metrics?.rpcErrors.inc(1, { kind: "http_429" });
      const ra = Number(res.headers.get("retry-after"));
      throw new RpcTransientError("RPC rate limited (HTTP 429)", "http_429", Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 30_000) : undefined);
    }
    let json: JsonRpcResponse | JsonRpcResponse[] | undefined;
    try {
      json = JSON.parse(text) as JsonRpcResponse | JsonRpcResponse[];
    } catch {
      json = undefined;
    }
    if (res.status >= 500) {
      const msg = (!Array.isArray(json) && json?.error?.message) || text.slice(0, 200);
      if (RANGE_RE.test(msg)) {
        this.metrics?.rpcErrors.inc(1, { kind: "range" });
        throw new RpcRangeError(msg);
      }
      this.metrics?.rpcErrors.inc(1, { kind: "http_5xx" });
      throw new RpcTransientError(`RPC server error (HTTP ${res.status}): ${msg}`, "http_5xx");
    }
    if (res.status >= 400 && json === undefined) {
      this.metrics?.rpcErrors.inc(1, { kind: "http_4xx" });
      throw new RpcFatalError(`RPC refused the request (HTTP ${res.status}): ${text.slice(0, 200)} — check RPC_URL`);
    }
    if (json === undefined) {
      this.metrics?.rpcErrors.inc(1, { kind: "bad_response" });
      throw new RpcTransientError(`RPC answered with something that is not JSON: ${text.slice(0, 120)}`, "bad_response");
    }
    const list = Array.isArray(json) ? json : [json];
    const byId = new Map(list.map((r) => [r.id, r]));
    const out: unknown[] = [];
    for (const b of bodies) {
      const r = byId.get(b.id);
      if (!r) {
        this.metrics?.rpcErrors.inc(1, { kind: "bad_response" });
        throw new RpcTransientError(`RPC response lacks id ${b.id}`, "bad_response");
      }
      if (r.error) {
        const err = classifyRpcError(r.error.code, r.error.message ?? "unknown error");
        this.metrics?.rpcErrors.inc(1, { kind: err instanceof RpcRangeError ? "range" : err instanceof RpcTransientError ? "rpc_transient" : "rpc" });
        throw err;
      }
      out.push(r.result);
    }
    return out;
  }
}
