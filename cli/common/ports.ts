/**
 * Port checks before a service starts, so that a port taken by another program is one clear line
 * ("port 4000 is in use; pass --api-port <n>") instead of a crash in a log file or a URL that points
 * at someone else's server.
 */
import net from "node:net";

/** True when nothing listens on host:port and we may bind it. */
export function portFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export interface PortClaim {
  port: number;
  /** The flag that changes it, e.g. "--api-port". */
  flag: string;
  /** What uses it, e.g. "the GraphQL API". */
  service: string;
}

/** Throws one line per taken port (all of them at once), naming the flag that moves each service. */
export async function assertPortsFree(claims: PortClaim[], host = "127.0.0.1"): Promise<void> {
  const seen = new Map<number, PortClaim>();
  const problems: string[] = [];
  for (const c of claims) {
    const other = seen.get(c.port);
    if (other) problems.push(`${c.flag} and ${other.flag} are both ${c.port}; give ${c.service} its own port`);
    seen.set(c.port, c);
  }
  for (const c of claims) if (!(await portFree(c.port, host))) problems.push(`port ${c.port} (${c.service}) is in use by another program; pass ${c.flag} <port> or stop that program`);
  if (problems.length) throw new PortInUseError(problems.join("; "));
}

export class PortInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PortInUseError";
  }
}
