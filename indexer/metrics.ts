/** A few Prometheus metrics in the text exposition format (no dependency). */
type Labels = Record<string, string>;

function key(labels: Labels | undefined): string {
  if (!labels) return "";
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

class Metric {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  values = new Map<string, number>();
  constructor(name: string, help: string, type: "counter" | "gauge") {
    this.name = name;
    this.help = help;
    this.type = type;
  }
  inc(by = 1, labels?: Labels): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  set(v: number, labels?: Labels): void {
    this.values.set(key(labels), v);
  }
  get(labels?: Labels): number {
    return this.values.get(key(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${v}`);
    return lines.join("\n");
  }
}

export class Metrics {
  readonly headBlock = new Metric("indexer_head_block", "Latest block number seen on the RPC node", "gauge");
  readonly syncedBlock = new Metric("indexer_synced_block", "Last block fully written to the database", "gauge");
  readonly blocksBehind = new Metric("indexer_blocks_behind", "Head block minus synced block", "gauge");
  readonly eventsIndexed = new Metric("indexer_events_indexed_total", "Contract events applied to the database", "counter");
  readonly reorgs = new Metric("indexer_reorgs_total", "Chain reorganisations rolled back", "counter");
  readonly reorgDepth = new Metric("indexer_reorg_blocks_rolled_back_total", "Blocks rolled back by reorgs", "counter");
  readonly rpcRequests = new Metric("indexer_rpc_requests_total", "JSON-RPC requests sent, by method", "counter");
  readonly rpcErrors = new Metric("indexer_rpc_errors_total", "JSON-RPC failures, by kind (timeout, http_429, http_5xx, network, range, rpc)", "counter");
  readonly rangeSize = new Metric("indexer_getlogs_range_blocks", "Current eth_getLogs block range", "gauge");
  readonly ready = new Metric("indexer_ready", "1 when caught up with the head", "gauge");
  readonly flushes = new Metric("indexer_db_transactions_total", "Database transactions committed", "counter");

  render(): string {
    return [this.headBlock, this.syncedBlock, this.blocksBehind, this.eventsIndexed, this.reorgs, this.reorgDepth, this.rpcRequests, this.rpcErrors, this.rangeSize, this.ready, this.flushes]
      .map((m) => m.render())
      .join("\n") + "\n";
  }
}
