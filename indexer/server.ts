/** The indexer's operational HTTP endpoints: /health, /ready (503 until caught up) and /metrics. */
import http from "node:http";
import type { Indexer } from "./sync.ts";

export function startOpsServer(indexer: Indexer, opts: { port: number; host?: string }): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
    };
    const s = indexer.status();
    if (url.pathname === "/health") {
      if (s.fatal) return json(503, { status: "fatal", error: s.fatal });
      try {
        await indexer.db.prisma.$queryRawUnsafe("SELECT 1");
      } catch (err) {
        return json(503, { status: "db_unreachable", error: (err as Error).message });
      }
      return json(200, { status: "ok", chainId: s.chainId, head: s.head, synced: s.synced });
    }
    if (url.pathname === "/ready") {
      const behind = s.head !== undefined && s.synced !== undefined ? s.head - s.synced : undefined;
      return json(s.ready && !s.fatal ? 200 : 503, { ready: s.ready && !s.fatal, head: s.head, synced: s.synced, blocksBehind: behind });
    }
    if (url.pathname === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      return res.end(indexer.metrics.render());
    }
    json(404, { error: "not found", endpoints: ["/health", "/ready", "/metrics"] });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => resolve(server));
  });
}
