/** A minimal JSON-RPC client for probing any endpoint (no viem), with one-line errors. */
/**
 * JSON-RPC call helper (no dependency on viem so it can probe any endpoint). Every failure is one
 * line saying what happened: unreachable, timed out, or reachable but not JSON-RPC (with what answered).
 */
export async function rpc<T = unknown>(url: string, method: string, params: unknown[] = [], opts: { timeoutMs?: number } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === "TimeoutError") throw new Error(`${method}: ${url} did not answer within ${opts.timeoutMs ?? 120_000} ms`);
    throw new Error(`${method}: cannot reach ${url} (${e.cause?.code ?? e.cause?.message ?? e.message})`);
  }
  const text = await res.text();
  let body: { result?: T; error?: { message: string } };
  try {
    body = JSON.parse(text);
    if (body === null || typeof body !== "object" || !("result" in body || "error" in body)) throw new Error();
  } catch {
    throw new Error(`${method}: ${url} answered but is not a JSON-RPC endpoint (${describeAnswer(res, text)})`);
  }
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

/** "HTTP 404 text/html: <first words of the body>" — what a non-JSON-RPC server answered. */
export function describeAnswer(res: Response, text: string): string {
  const type = (res.headers.get("content-type") ?? "no content type").split(";")[0];
  const server = res.headers.get("server");
  const snippet = text.replace(/\s+/g, " ").trim().slice(0, 80);
  return `HTTP ${res.status} ${type}${server ? ` from ${server}` : ""}${snippet ? `: "${snippet}"` : ""}`;
}

/**
 * Why `url` is not a usable JSON-RPC endpoint, in one line, or undefined when it answers
 * eth_chainId. Used to turn a client library's generic failure into what actually happened.
 */
export async function diagnoseRpc(url: string, timeoutMs = 10_000): Promise<string | undefined> {
  try {
    await rpc(url, "eth_chainId", [], { timeoutMs });
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^eth_chainId: /, "");
  }
}
