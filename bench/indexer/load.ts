/** One autocannon load of the GraphQL API: 50 connections cycling through `bodies` for `duration` seconds. */
import autocannon from "autocannon";

export interface Load {
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}

export async function load(url: string, bodies: string[], duration: number): Promise<Load> {
  let i = 0;
  const res = await autocannon({
    url,
    connections: 50,
    duration,
    method: "POST",
    headers: { "content-type": "application/json" },
    requests: [{ method: "POST", headers: { "content-type": "application/json" }, setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[i++ % bodies.length] }) }],
  });
  return { p50: res.latency.p50, p99: res.latency.p99, rps: Math.round(res.requests.average), errors: res.errors + res.non2xx };
}
