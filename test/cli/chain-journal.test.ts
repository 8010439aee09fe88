/**
 * The chain journal (cli/chain-journal.ts) never stops silently: connections between the journal
 * and the node are dropped again and again while transactions are mined, and a replay on a fresh
 * node must still restore every transaction; an outage that lasts too long stops it loudly.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { mkdtempSync, rmSync, readFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startHardhatNode, rpc, type RunningChain } from "../../cli/chain.ts";
import { ChainJournal } from "../../cli/chain-journal.ts";

/** A TCP proxy in front of the node that can drop every connection (and refuse new ones) on demand. */
function startProxy(targetPort: number): Promise<{ url: string; setDown(down: boolean): void; close(): void }> {
  let down = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    const upstream = net.connect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as net.AddressInfo).port;
    resolve({
      url: `http://127.0.0.1:${port}`,
      setDown(d) {
        down = d;
        if (d) for (const s of sockets) s.destroy();
      },
      close() {
        for (const s of sockets) s.destroy();
        server.close();
      },
    });
  }));
}

const port = () => 20000 + Math.floor(Math.random() * 20000);
const hex = (n: bigint) => `0x${n.toString(16)}`;

describe("chain journal", { timeout: 600_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "journal-"));
  const chains: RunningChain[] = [];
  after(async () => {
    for (const c of chains) await c.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps recording through dropped connections, and a replay restores every transaction", async () => {
    const chain = await startHardhatNode({ port: port(), intervalMs: 200 });
    chains.push(chain);
    const proxy = await startProxy(chain.port);
    const file = path.join(dir, "journal.jsonl");
    let retries = 0;
    let fatal: Error | undefined;
    const journal = new ChainJournal(file, proxy.url, { maxOutageMs: 120_000, onRetry: (e) => { retries += 1; if (process.env.TEST_VERBOSE) console.log("retry", e.message); }, onFatal: (e) => (fatal = e) });
    journal.start(100);

    const accounts = await rpc<string[]>(chain.url, "eth_accounts");
    const senders = accounts.slice(0, 4);
    const recipients = Array.from({ length: 4 }, (_, i) => `0x${(0xabc0 + i).toString(16).padStart(40, "0")}`);
    const TXS = 48;
    for (let i = 0; i < TXS; i++) {
      // every fourth transaction, the journal's connections are dropped and refused for a while
      if (i % 4 === 0) proxy.setDown(true);
      if (i % 4 === 2) proxy.setDown(false);
      await rpc(chain.url, "eth_sendTransaction", [{ from: senders[i % 4], to: recipients[i % 4], value: hex(BigInt(i + 1) * 1000n) }]);
      await new Promise((r) => setTimeout(r, 120));
    }
    proxy.setDown(false);
    await journal.stop();
    proxy.close();
    assert.equal(fatal, undefined);
    assert.ok(retries > 0, "the proxy did make the journal's requests fail");
    assert.equal(journal.recorded, TXS, "every mined transaction was recorded");
    const original = {
      nonces: await Promise.all(senders.map((a) => rpc<string>(chain.url, "eth_getTransactionCount", [a, "latest"]))),
      balances: await Promise.all(recipients.map((a) => rpc<string>(chain.url, "eth_getBalance", [a, "latest"]))),
    };
    await chain.stop();

    // a torn last line (a crash mid-write) does not hide anything written before it
    appendFileSync(file, '{"number":99999,"timest');
    const fresh = await startHardhatNode({ port: port(), intervalMs: 0 });
    chains.push(fresh);
    const replayer = new ChainJournal(file, fresh.url);
    assert.equal(await replayer.replay(), TXS);
    assert.deepEqual(await Promise.all(senders.map((a) => rpc<string>(fresh.url, "eth_getTransactionCount", [a, "latest"]))), original.nonces);
    assert.deepEqual(await Promise.all(recipients.map((a) => rpc<string>(fresh.url, "eth_getBalance", [a, "latest"]))), original.balances);
    assert.ok(readFileSync(file, "utf8").endsWith("\n"));
  });

  it("an outage longer than the limit stops it loudly, with the reason", async () => {
    const chain = chains[1];
    const proxy = await startProxy(chain.port);
    let fatal: Error | undefined;
    const journal = new ChainJournal(path.join(dir, "journal-2.jsonl"), proxy.url, { maxOutageMs: 1500, onFatal: (e) => (fatal = e) });
    journal.start(100);
    proxy.setDown(true);
    const t0 = Date.now();
    while (!fatal && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 100));
    proxy.close();
    assert.ok(fatal, "onFatal was called");
    assert.match(fatal.message, /could not record blocks for \d+ s \(last error: .*cannot reach/);
    assert.equal(journal.failed, fatal);
  });
});
