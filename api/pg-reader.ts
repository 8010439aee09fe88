/**
 * The API's PostgreSQL reads: a few connections in pg's pipeline mode. The statements issued during
 * one turn of the event loop (every resolver level of every request being served) are written to a
 * connection together, in one socket write, and PostgreSQL answers them in order without waiting
 * for the client between them. A pool that lends a connection per statement costs a write, a wake-up
 * of the server and a round trip per statement; under load that dominated the API's CPU profile.
 *
 * Each statement keeps its own Sync, so an error fails that statement only. A connection that breaks
 * fails its statements (pg rejects them) and is replaced by the next batch.
 *
 * Statements are prepared once per connection (named after their text, up to `maxPrepared` distinct
 * texts; the rest run unnamed): the API issues the same few statement shapes again and again, and
 * parsing and planning each one again cost PostgreSQL more CPU than running it. A connection whose
 * prepared statements went stale (a migration changed a table's columns) is dropped and replaced.
 */
import pg from "pg";

type Row = Record<string, unknown>;

interface Pending {
  text: string;
  values: unknown[];
  resolve: (rows: Row[]) => void;
  reject: (err: Error) => void;
}

interface Conn {
  client: pg.Client;
  /** Statements written and not answered yet. */
  inFlight: number;
  dead: boolean;
}

export interface ReaderOptions {
  connectionString: string;
  /** Connections at most (each carries many statements at once). */
  size: number;
  types?: pg.CustomTypesConfig;
  /** Distinct statement texts prepared by name (default 500); further texts run unnamed. */
  maxPrepared?: number;
}

/** PostgreSQL errors after which a connection's prepared statements cannot be trusted (cached plan changed, statement missing). */
const STALE_PREPARED = new Set(["0A000", "26000"]);

export class PgReader {
  readonly #opts: ReaderOptions;
  #conns: Conn[] = [];
  #pending: Pending[] = [];
  #scheduled = false;
  #closed = false;
  /** Statement names by text (the same name on every connection; pg prepares it on each once). */
  #names = new Map<string, string>();

  constructor(opts: ReaderOptions) {
    if (!(opts.size >= 1)) throw new Error(`the API's PostgreSQL reader needs at least one connection (got ${opts.size})`);
    this.#opts = opts;
  }

  /** Rows of one statement; written with the others of this event-loop turn. */
  query(text: string, values: unknown[]): Promise<Row[]> {
    if (this.#closed) return Promise.reject(new Error("the API's PostgreSQL reader is closed"));
    return new Promise<Row[]>((resolve, reject) => {
      this.#pending.push({ text, values, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const conns = this.#conns;
    this.#conns = [];
    await Promise.all(conns.map((c) => c.client.end().catch(() => {})));
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (this.#closed) {
      for (const p of batch) p.reject(new Error("the API's PostgreSQL reader is closed"));
      return;
    }
    // spread a large batch over the connections (PostgreSQL runs one statement at a time per connection)
    const chunk = Math.max(4, Math.ceil(batch.length / this.#opts.size));
    for (let i = 0; i < batch.length; i += chunk) this.#send(this.#pick(), batch.slice(i, i + chunk));
  }

  #name(text: string): string | undefined {
    let name = this.#names.get(text);
    if (name === undefined && this.#names.size < (this.#opts.maxPrepared ?? 500)) this.#names.set(text, (name = `api_${this.#names.size}`));
    return name;
  }

  /** An idle connection, else a new one while under the limit, else the least loaded. */
  #pick(): Conn {
    this.#conns = this.#conns.filter((c) => !c.dead);
    let best: Conn | undefined;
    for (const c of this.#conns) if (!best || c.inFlight < best.inFlight) best = c;
    if (best && (best.inFlight === 0 || this.#conns.length >= this.#opts.size)) return best;
    return this.#open();
  }

  #open(): Conn {
    const client = new pg.Client({ connectionString: this.#opts.connectionString, pipeline: true });
    const conn: Conn = { client, inFlight: 0, dead: false };
    // a broken connection: pg fails its statements; the next batch opens another
    client.on("error", () => (conn.dead = true));
    client.on("end", () => (conn.dead = true));
    client.connect().catch(() => (conn.dead = true));
    this.#conns.push(conn);
    return conn;
  }

  #send(conn: Conn, batch: Pending[]): void {
    const stream = (conn.client as unknown as { connection: { stream: { cork?: () => void; uncork?: () => void } } }).connection.stream;
    stream.cork?.();
    try {
      for (const p of batch) {
        let sent: Promise<pg.QueryResult>;
        try {
          sent = conn.client.query({ text: p.text, values: p.values, types: this.#opts.types, name: this.#name(p.text) });
        } catch (err) {
          // (pg reports its errors through the promise; anything thrown fails this statement only)
          p.reject(err as Error);
          continue;
        }
        conn.inFlight++;
        sent.then(
          (r) => {
            conn.inFlight--;
            p.resolve(r.rows as Row[]);
          },
          (err: Error & { code?: string }) => {
            conn.inFlight--;
            if (err.code && STALE_PREPARED.has(err.code) && !conn.dead) {
              conn.dead = true;
              conn.client.end().catch(() => {});
            }
            p.reject(err);
          },
        );
      }
    } finally {
      stream.uncork?.();
    }
  }
}
