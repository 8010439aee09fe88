/**
 * `./run start` as an operator meets it: a taken port is refused before anything starts; a second
 * start on the same folder is refused while the first keeps running; a worker killed by a signal
 * does not make Ctrl-C hang; the resume replays every transaction (nothing finalized is redone),
 * re-reports the eval losses the rebuilt indexer lost, and the printed commands work as printed.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createPublicClient, http, keccak256, type Hex } from "viem";
import { readFileSync } from "node:fs";
import { trainingMarketAbi } from "../../shared/abis.ts";
import { rpc } from "../../shared/json-rpc.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const base = 21000 + Math.floor(Math.random() * 15000);
const ports = { chain: base, blob: base + 1, indexer: base + 2, api: base + 3 };
const apiUrl = `http://127.0.0.1:${ports.api}/graphql`;
const chainUrl = `http://127.0.0.1:${ports.chain}`;

interface Started {
  proc: ChildProcess;
  lines: string[];
  exit: Promise<number>;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

function start(dataDir: string, extra: string[] = [], p = ports): Started {
  const proc = spawn(process.execPath, [path.join(root, "cli", "start.ts"), "--model", "tiny", "--rounds", "4", "--inner-steps", "30", "--workers", "2", "--data-dir", dataDir,
    "--port", String(p.chain), "--blob-port", String(p.blob), "--indexer-port", String(p.indexer), "--api-port", String(p.api), ...extra], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const onData = (d: Buffer) => {
    for (const l of d.toString().split("\n").filter(Boolean)) {
      lines.push(l);
      if (process.env.TEST_VERBOSE) process.stderr.write(`${l}\n`);
      for (const w of [...waiters]) if (w.re.test(l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const exit = new Promise<number>((r) => proc.once("exit", (code) => r(code ?? 1)));
  return {
    proc, lines, exit,
    waitFor(re, timeoutMs = 600_000) {
      const hit = lines.find((l) => re.test(l));
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; last lines:\n${lines.slice(-15).join("\n")}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => { clearTimeout(t); resolve(l); } });
        void exit.then((c) => { clearTimeout(t); reject(new Error(`start exited (${c}) before ${re}:\n${lines.slice(-15).join("\n")}`)); });
      });
    },
  };
}

async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(apiUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data!;
}

async function evalLosses(jobId: string): Promise<(number | null)[]> {
  try {
    const d = await gql<{ job: { lossCurve: { evalLoss: number | null }[] } | null }>(`query($id: BigInt!) { job(id: $id) { lossCurve { evalLoss } } }`, { id: jobId });
    return d.job?.lossCurve.map((p) => p.evalLoss) ?? [];
  } catch {
    return [];
  }
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 600_000, everyMs = 500): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const portFree = (port: number) => new Promise<boolean>((resolve) => {
  const s = net.createServer().once("error", () => resolve(false)).listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
});

describe("./run start: ports, lock, clean stop, lossless resume", { timeout: 1_500_000 }, () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "start-ops-"));
  const running: Started[] = [];
  after(async () => {
    for (const s of running) if (s.proc.exitCode === null && s.proc.signalCode === null) {
      s.proc.kill("SIGINT");
      await s.exit;
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(path.join(root, "ignition", "deployments", "local"), { recursive: true, force: true });
  });

  it("refuses a taken port before starting anything, naming the flag", async () => {
    const squatter = net.createServer().listen(ports.api, "127.0.0.1");
    await new Promise((r) => squatter.once("listening", r));
    try {
      const s = start(dataDir);
      assert.equal(await s.exit, 2);
      assert.ok(s.lines.some((l) => l.includes(`port ${ports.api} (the GraphQL API and dashboard) is in use by another program; pass --api-port <port>`)), s.lines.join("\n"));
      assert.equal(await portFree(ports.chain), true, "no chain was started");
      assert.equal(existsSync(path.join(dataDir, "lock")), false, "the lock was released");
    } finally {
      squatter.close();
    }
  });

  let jobId = "";
  let round0Hash: Hex | undefined;
  let createdAt: bigint | undefined;
  it("a second start on the same folder is refused and the first keeps running; a dead worker does not hang Ctrl-C", async () => {
    const a = start(dataDir);
    running.push(a);
    await a.waitFor(/contracts: compiled in \d+ s|contracts: market 0x/);
    await a.waitFor(/workers: 2 worker processes running/);
    jobId = /demo job (\d+)/.exec(await a.waitFor(/demo job \d+:/))![1];

    const other = { chain: base + 10, blob: base + 11, indexer: base + 12, api: base + 13 };
    const b = start(dataDir, [], other);
    assert.equal(await b.exit, 2);
    assert.ok(b.lines.some((l) => /is in use by another \.\/run start \(pid \d+/.test(l) && l.includes("--data-dir")), b.lines.join("\n"));
    const h0 = Number(BigInt(await rpc<string>(chainUrl, "eth_blockNumber")));
    await until("the first chain keeps mining", async () => (Number(BigInt(await rpc<string>(chainUrl, "eth_blockNumber"))) > h0 + 1 ? true : undefined), 60_000);

    // per-worker step progress within a round; as soon as the chain finalized round 0, a worker is
    // killed with a signal (the job then waits for it: nothing more can finalize before the resume;
    // a round of 30 steps lasts far longer than the 100 ms poll)
    await a.waitFor(/round 1: w\d (\d+\/30 steps|trained|committed|voted)/);
    const market = marketAddress(a);
    const chainClient = createPublicClient({ transport: http(chainUrl) });
    await until("round 0 finalized on chain", async () => {
      const logs = await chainClient.getContractEvents({ address: market, abi: trainingMarketAbi, eventName: "RoundFinalized", args: { jobId: BigInt(jobId) }, fromBlock: 0n });
      return logs.length > 0 ? true : undefined;
    }, 600_000, 100);
    const ps = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(a.proc.pid)]).toString();
    const worker = ps.split("\n").find((l) => l.includes("worker/cli.ts run"));
    assert.ok(worker, `a worker process of the orchestrator:\n${ps}`);
    process.kill(Number(worker.trim().split(/\s+/)[0]), "SIGKILL");
    await a.waitFor(/worker-\d stopped unexpectedly \(SIGKILL\)/, 60_000);

    // round 0's eval loss is reported before the stop
    await until("round 0's eval loss in GraphQL", async () => ((await evalLosses(jobId))[0] != null ? true : undefined));
    const client = createPublicClient({ transport: http(chainUrl) });
    const finalized = await client.getContractEvents({ address: marketAddress(a), abi: trainingMarketAbi, eventName: "RoundFinalized", args: { jobId: BigInt(jobId) }, fromBlock: 0n });
    round0Hash = finalized.find((l) => l.args.round === 0)!.args.modelHash!;
    createdAt = ((await client.readContract({ address: marketAddress(a), abi: trainingMarketAbi, functionName: "jobState", args: [BigInt(jobId)] })) as { createdAt: bigint }).createdAt;

    // Ctrl-C with a dead child: the orchestrator stops within seconds
    const t0 = Date.now();
    a.proc.kill("SIGINT");
    assert.equal(await a.exit, 0);
    assert.ok(Date.now() - t0 < 30_000, `stopped in ${Date.now() - t0} ms`);
    assert.ok(a.lines.some((l) => l.includes("stopped; run ./run start again to resume")));
    assert.equal(existsSync(path.join(dataDir, "lock")), false);
  });

  it("resumes without losing or redoing anything; eval losses come back; the printed commands work", async () => {
    const c = start(dataDir);
    running.push(c);
    const restored = await c.waitFor(/chain: restored \((\d+) transactions replayed from the journal\)/);
    assert.ok(Number(/\((\d+) transactions/.exec(restored)![1]) > 10);
    await c.waitFor(/contracts: market 0x/);
    const client = createPublicClient({ transport: http(chainUrl) });
    const finalized = await client.getContractEvents({ address: marketAddress(c), abi: trainingMarketAbi, eventName: "RoundFinalized", args: { jobId: BigInt(jobId) }, fromBlock: 0n });
    assert.equal(finalized.find((l) => l.args.round === 0)?.args.modelHash, round0Hash, "round 0 is still finalized with the same model after the resume");
    const resumedJob = (await client.readContract({ address: marketAddress(c), abi: trainingMarketAbi, functionName: "jobState", args: [BigInt(jobId)] })) as { createdAt: bigint };
    assert.equal(resumedJob.createdAt, createdAt, "replayed blocks keep their timestamps: the job's creation time is unchanged");
    await c.waitFor(/services keep running/);
    assert.ok(!c.lines.some((l) => /job \d+ Running\s+round 1 of 4/.test(l)), "the job never went back to its first round");
    // every round has its eval loss in GraphQL, including round 0 reported before the restart
    const losses = await until("eval losses of every round", async () => {
      const l = await evalLosses(jobId);
      return l.length === 4 && l.every((x) => x !== null) ? l : undefined;
    });
    assert.equal(losses.length, 4);

    // the download command, run exactly as printed
    const printed = c.lines.find((l) => l.includes("download it:"))!.split("download it:")[1].trim();
    assert.match(printed, /^\.\/run market job model \d+ --out model\.bin --network-dir /);
    const out = path.join(dataDir, "model.bin");
    const cmd = printed.replace("--out model.bin", `--out ${out}`);
    const res = execFileSync("bash", ["-c", cmd], { cwd: root, env: { ...process.env, npm_config_loglevel: "error" } }).toString();
    const job = await client.readContract({ address: marketAddress(c), abi: trainingMarketAbi, functionName: "jobState", args: [BigInt(jobId)] }) as { modelHash: Hex };
    assert.equal(keccak256(readFileSync(out)), job.modelHash, res);

    c.proc.kill("SIGINT");
    assert.equal(await c.exit, 0);
  });
});

function marketAddress(s: Started): `0x${string}` {
  return /market (0x[0-9a-fA-F]{40})/.exec(s.lines.find((l) => l.includes("contracts: market"))!)![1] as `0x${string}`;
}
