/**
 * The live dashboard: three static files (api/dashboard/index.html, app.js, style.css), no build
 * step and no framework. The page talks to the same server's GraphQL endpoint: queries for the data,
 * and Server-Sent Events subscriptions (jobChanged, roundFinalized, newCommitment,
 * evalLossReported) to know when to fetch again.
 *
 *   GET /  and  GET /dashboard       the page
 *   GET /dashboard/app.js, /dashboard/style.css
 */
import { readFileSync } from "node:fs";
import type http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "dashboard");

interface Asset {
  type: string;
  body: Buffer;
}

let assets: Map<string, Asset> | undefined;

function load(): Map<string, Asset> {
  const file = (name: string, type: string): Asset => ({ type, body: readFileSync(path.join(dir, name)) });
  const html = file("index.html", "text/html; charset=utf-8");
  return new Map([
    ["/", html],
    ["/dashboard", html],
    ["/dashboard/", html],
    ["/dashboard/app.js", file("app.js", "text/javascript; charset=utf-8")],
    ["/dashboard/style.css", file("style.css", "text/css; charset=utf-8")],
  ]);
}

/** Answers GET/HEAD requests for the dashboard's files; false for anything else. */
export function serveDashboard(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const pathname = (req.url ?? "/").split("?")[0];
  assets ??= load();
  const asset = assets.get(pathname);
  if (!asset) return false;
  res.writeHead(200, {
    "content-type": asset.type,
    "content-length": asset.body.length,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'",
  });
  res.end(req.method === "HEAD" ? undefined : asset.body);
  return true;
}
