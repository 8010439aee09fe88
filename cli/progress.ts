/** A one-line progress bar on a TTY; plain lines otherwise (logs, CI). */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  let last = "";
  return (step: string, done: number, total: number) => {
    const width = 24;
    const filled = total > 0 ? Math.round((done / total) * width) : 0;
    const line = `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${step}`;
    if (stream.isTTY) {
      stream.write(`\r${line.padEnd(last.length)}`);
      if (done >= total) stream.write("\n");
    } else if (line !== last) stream.write(`${line}\n`);
    last = line;
  };
}

/**
 * Per-worker progress within a round, from the workers' JSON log lines ("training" step k/H,
 * "trained", "committed", "voted"): one line at most every `everyMs` while something changed, e.g.
 *   round 2: w2 24/40 steps · w3 committed · w4 20/40 steps
 */
export class WorkerProgress {
  /** The round in progress (set by the caller); lines about other rounds are ignored. */
  round: number | undefined;
  private readonly say: (line: string) => void;
  private readonly everyMs: number;
  private readonly phase = new Map<string, { round: number; text: string }>();
  private lastPrinted = "";
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(say: (line: string) => void, everyMs = 5000) {
    this.say = say;
    this.everyMs = everyMs;
  }

  onLogLine(worker: string, line: string): void {
    if (!line.startsWith("{")) return;
    let e: { msg?: string; round?: number | string; step?: number; steps?: number };
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    if (e.round === undefined) return;
    const round = Number(e.round);
    const text = e.msg === "training" ? `${e.step}/${e.steps} steps` : e.msg === "trained" || e.msg === "committed" || e.msg === "voted" ? e.msg : undefined;
    if (!text) return;
    this.phase.set(worker, { round, text });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastAt + this.everyMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.print();
    }, wait);
    this.timer.unref();
  }

  private print(): void {
    if (this.round === undefined) return;
    const parts = [...this.phase.entries()].filter(([, p]) => p.round === this.round).sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })).map(([w, p]) => `${w} ${p.text}`);
    if (parts.length === 0) return;
    const line = `  round ${this.round + 1}: ${parts.join(" · ")}`;
    if (line === this.lastPrinted) return;
    this.lastPrinted = line;
    this.lastAt = Date.now();
    this.say(line);
  }
}
