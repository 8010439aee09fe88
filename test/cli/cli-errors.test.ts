/**
 * The command lines as a careless user meets them: every command answers --help; ordinary mistakes
 * (unknown command or flag, wrong password, missing file, unreachable or non-JSON-RPC endpoint,
 * wrong contract address, a spec the network cannot run) give one line naming the problem and the
 * fix, no stack trace, and nothing is created or spent before the input is checked.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hardhatAccount, hardhatKey, PASSWORD, startTestNetwork, type TestNetwork } from "../helpers/network.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { parseJobSpec } from "../../worker/spec/job-spec.ts";
import { packFolder, uploadFolder } from "../../cli/dataset.ts";
import { trainingMarketAbi } from "../../shared/abis.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const WORKER = path.join(root, "worker", "cli.ts");
const MARKET = path.join(root, "cli", "market.ts");
const START = path.join(root, "cli", "start.ts");

interface Result {
  code: number;
  out: string;
  err: string;
}

function run(script: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: root, env: { ...process.env, VERBOSE: "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    child.on("close", (code) => resolve({ code: code ?? 1, out, err }));
  });
}

/** The URL of a port nothing listens on (a server bound it and closed). */
async function closedPortUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return `http://127.0.0.1:${port}`;
}

/** Exactly one line on stderr, no stack trace, matching `re`, with the expected exit code. */
function oneLineError(r: Result, code: number, re: RegExp): void {
  const lines = r.err.trim().split("\n");
  assert.equal(lines.length, 1, `one line expected, got:\n${r.err}`);
  assert.doesNotMatch(r.err, /^\s+at /m, "no stack trace");
  assert.match(lines[0], re);
  assert.equal(r.code, code, r.err);
}

describe("command lines: help and one-line errors", { timeout: 600_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "cli-errors-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("every command and sub-command answers --help with its options", async () => {
    const cases: [string, string[], RegExp][] = [
      [WORKER, ["--help"], /commands:[\s\S]*keys new[\s\S]*audit/],
      [WORKER, ["keys", "new", "--help"], /--out <file>[\s\S]*--force/],
      [WORKER, ["register", "--help"], /--stake <tokens>[\s\S]*--rpc-url <url>/],
      [WORKER, ["run", "--help"], /--job <id>[\s\S]*--once[\s\S]*--market <address>/],
      [WORKER, ["withdraw", "--help"], /usage: worker withdraw/],
      [WORKER, ["status", "--help"], /usage: worker status/],
      [WORKER, ["audit", "--help"], /--round <n>[\s\S]*--challenge/],
      [MARKET, ["--help"], /no arbiter[\s\S]*job create[\s\S]*withdraw/],
      [MARKET, ["job", "create", "--help"], /--spec <file.json>/],
      [MARKET, ["job", "status", "--help"], /usage: market job status <job id>/],
      [MARKET, ["job", "cancel", "--help"], /usage: market job cancel <job id>/],
      [MARKET, ["job", "model", "--help"], /--out <file>/],
      [MARKET, ["withdraw", "--help"], /usage: market withdraw/],
      [START, ["--help"], /--api-port <n>[\s\S]*default 4000/],
    ];
    for (const [script, args, re] of cases) {
      const r = await run(script, args);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.err}`);
      assert.match(r.out, re, args.join(" "));
      assert.match(r.out, /--help/);
    }
    // the start help no longer claims ports follow each other: each has its own fixed default
    const start = await run(START, ["--help"]);
    assert.doesNotMatch(start.out, /next ones/);
    assert.match(start.out, /--blob-port <n>\s+blob store port \(default 8700\)/);
  });

  it("unknown commands and flags, bad values: one line naming the problem, exit 2", async () => {
    oneLineError(await run(WORKER, ["bogus"]), 2, /^worker: unknown command "bogus"; commands: keys new, keys import, register/);
    oneLineError(await run(WORKER, ["run", "--jobb", "3"]), 2, /unknown option --jobb; did you mean --job\?/);
    oneLineError(await run(WORKER, ["keys", "old"]), 2, /unknown command "keys old"; did you mean "keys new"\?/);
    oneLineError(await run(MARKET, ["job", "bogus"]), 2, /^market: unknown command "job bogus"/);
    // issue 13 removed the poster-chosen arbiter: disputes go to the DisputeGame, not to a CLI command
    oneLineError(await run(MARKET, ["arbiter", "resolve", "3"]), 2, /^market: unknown command "arbiter"/);
    oneLineError(await run(MARKET, ["job", "status", "abc"]), 2, /job id must be a positive integer id, got abc/);
    oneLineError(await run(START, ["--foo"]), 2, /^start: unknown option --foo \(see \.\/run start --help\)/);
    oneLineError(await run(START, ["--rounds", "-1"]), 2, /--rounds must be an integer between 1 and 1000, got -1/);
    oneLineError(await run(START, ["--model", "huge"]), 2, /--model must be "default" or "tiny"/);
  });

  it("./run with an unknown script names it and lists the scripts, exit 2", async () => {
    const r = await new Promise<Result>((resolve) => {
      const child = spawn("bash", [path.join(root, "run"), "nosuchscript"], { cwd: root, env: process.env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d));
      child.stderr.on("data", (d: Buffer) => (err += d));
      child.on("close", (code) => resolve({ code: code ?? 1, out, err }));
    });
    oneLineError(r, 2, /^\.\/run: unknown script "nosuchscript"; scripts: .*\bstart\b.*\bmarket\b.*\bworker\b.*\btest\b/);
    assert.equal(r.out, "", "nothing on stdout");
  });

  it("keys new refuses to replace a keystore unless --force", async () => {
    const file = path.join(dir, "k.json");
    const env = { WORKER_PASSWORD: "pw" };
    const first = await run(WORKER, ["keys", "new", "--out", file, "--scrypt-n", "16"], env);
    assert.equal(first.code, 0, first.err);
    const before = readFileSync(file, "utf8");
    oneLineError(await run(WORKER, ["keys", "new", "--out", file, "--scrypt-n", "16"], env), 2, /already exists; .*pass --force/);
    assert.equal(readFileSync(file, "utf8"), before, "the key the stake is tied to is untouched");
    const forced = await run(WORKER, ["keys", "new", "--out", file, "--scrypt-n", "16", "--force"], env);
    assert.equal(forced.code, 0, forced.err);
    assert.notEqual(readFileSync(file, "utf8"), before);
  });

  describe("against a real chain", () => {
    let net: TestNetwork;
    let key: string;
    let htmlServer: Server;
    let htmlUrl: string;
    const common = () => ["--rpc-url", net.chain.url, "--market", net.addresses.market, "--registry", net.addresses.registry, "--token", net.addresses.token, "--blob-url", net.blob.url];
    before(async () => {
      net = await startTestNetwork();
      key = await net.keystore(hardhatKey(2), "w2");
      await net.mint(hardhatAccount(2).address, "1000");
      htmlServer = createServer((_, res) => {
        res.writeHead(404, { "content-type": "text/html" });
        res.end("<html><body>Not Found</body></html>");
      });
      await new Promise<void>((r) => htmlServer.listen(0, "127.0.0.1", r));
      htmlUrl = `http://127.0.0.1:${(htmlServer.address() as { port: number }).port}`;
    });
    after(async () => {
      htmlServer?.close();
      await net?.stop();
    });

    it("wrong password, missing key file, unreachable and non-JSON-RPC endpoints", async () => {
      const pwFile = path.join(dir, "wrong-pw");
      writeFileSync(pwFile, "not-the-password");
      oneLineError(await run(WORKER, ["status", ...common(), "--key-file", key, "--password-file", pwFile]), 1, /keystore password is wrong/);
      oneLineError(await run(WORKER, ["status", ...common(), "--key-file", path.join(dir, "nope.json")], { WORKER_PASSWORD: PASSWORD }), 1, /keystore file not found: .*nope\.json/);
      const closed = await closedPortUrl();
      const unreachable = await run(MARKET, ["job", "status", "1", ...common(), "--rpc-url", closed]);
      oneLineError(unreachable, 1, /--rpc-url http:\/\/127\.0\.0\.1:\d+: cannot reach .*ECONNREFUSED/);
      const html = await run(MARKET, ["job", "status", "1", ...common(), "--rpc-url", htmlUrl]);
      oneLineError(html, 1, /answered but is not a JSON-RPC endpoint \(HTTP 404 text\/html: "<html><body>Not Found/);
      // --verbose adds the trace
      const verbose = await run(MARKET, ["job", "status", "1", ...common(), "--rpc-url", closed, "--verbose"]);
      assert.match(verbose.err, /^\s+at /m);
    });

    it("register --stake abc is rejected before the attestation key is created", async () => {
      const dataDir = path.join(dir, "w2-data");
      const r = await run(WORKER, ["register", "--stake", "abc", ...net.workerArgs("w2", key)]);
      oneLineError(r, 2, /--stake must be a decimal number of tokens, got abc/);
      assert.equal(existsSync(path.join(net.dir, "workers", "w2", "attestor.keystore.json")), false);
      assert.equal(existsSync(path.join(dataDir, "attestor.keystore.json")), false);
    });

    it("a contract address that holds something else names the wrong flag", async () => {
      const wrongMarket = ["--rpc-url", net.chain.url, "--market", net.addresses.token, "--registry", net.addresses.registry, "--token", net.addresses.token];
      oneLineError(await run(WORKER, ["status", ...wrongMarket, "--key-file", key], { WORKER_PASSWORD: PASSWORD }), 2, /--market 0x[0-9a-fA-F]{40} is not a TrainingMarket on chain 31337: it holds an ERC-20 token/);
      oneLineError(await run(MARKET, ["job", "status", "1", ...wrongMarket]), 2, /--market .* is not a TrainingMarket/);
      const wrongRegistry = ["--rpc-url", net.chain.url, "--market", net.addresses.market, "--registry", net.addresses.market, "--token", net.addresses.token];
      oneLineError(await run(MARKET, ["job", "status", "1", ...wrongRegistry]), 2, /--registry .* is not the registry of market .*it holds a TrainingMarket/);
    });

    it("spec init --dataset writes a runnable spec for an uploaded dataset (README's poster path)", async () => {
      const texts = path.join(dir, "texts");
      mkdirSync(texts, { recursive: true });
      for (let i = 0; i < 6; i++) writeFileSync(path.join(texts, `doc${i}.txt`), `Document ${i}: the quick brown fox jumps over the lazy dog.\n`.repeat(20));
      const packed = await packFolder({ inputs: [texts], tokenizer: "char", out: path.join(dir, "packed"), shardTokens: 256, evalEvery: 3 });
      const up = await uploadFolder(path.join(dir, "packed"), net.blobs);
      const file = path.join(dir, "dataset-job.json");
      const r = await run(MARKET, ["spec", "init", "--dataset", up.manifestHash, "--blob-url", net.blob.url, "--model", "llama-0.43m", "--rounds", "2", "--workers", "2", "--inner-steps", "4", "--shards-per-round", "2", "--name", "llama on my texts", "--out", file]);
      assert.equal(r.code, 0, r.err);
      const spec = parseJobSpec(JSON.parse(readFileSync(file, "utf8")));
      assert.deepEqual(spec.data, { dataset: up.manifestHash, shardsPerRound: 2 });
      assert.equal(spec.model.family, "llama");
      assert.equal(spec.model.vocabSize, packed.manifest.tokenizer.vocabSize);
      assert.equal(spec.name, "llama on my texts");
      oneLineError(await run(MARKET, ["spec", "init", "--dataset", `0x${"ab".repeat(32)}`, "--blob-url", net.blob.url, "--out", path.join(dir, "nope.json")]), 2, /--dataset 0x(ab){32}: cannot read its manifest from the blob store/);
      assert.equal(existsSync(path.join(dir, "nope.json")), false);
    });

    it("a spec the network cannot run is refused before any upload or gas", async () => {
      const poster = hardhatAccount(1);
      await net.mint(poster.address, "10000");
      const posterKey = await net.keystore(hardhatKey(1), "poster");
      const base = JSON.parse(JSON.stringify(makeSpec({ model: "tiny", rounds: 2, innerSteps: 4, workers: 2 })));
      const cases: [string, (s: typeof base) => void, RegExp][] = [
        ["left-pad", (s) => (s.data.corpus = "left-pad"), /\$\.data\.corpus is "left-pad", a dataset this software does not know/],
        // above the workers' 50M, below the spec's protocol cap of 10⁹ parameters
        ["huge", (s) => Object.assign(s.model, { dModel: 2048, nHeads: 16, nLayers: 8, dMlp: 8192 }), /\$\.model has [0-9,]+ parameters; workers accept at most 50,000,000/],
      ];
      const jobsBefore = await net.reader.client.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "JobCreated", fromBlock: 0n });
      const nonceBefore = await net.reader.client.getTransactionCount({ address: poster.address });
      for (const [name, edit, re] of cases) {
        const spec = JSON.parse(JSON.stringify(base));
        edit(spec);
        const file = path.join(dir, `${name}.json`);
        writeFileSync(file, JSON.stringify(spec));
        oneLineError(await run(MARKET, ["job", "create", "--spec", file, ...common(), "--key-file", posterKey], { WORKER_PASSWORD: PASSWORD }), 2, re);
      }
      const jobsAfter = await net.reader.client.getContractEvents({ address: net.addresses.market, abi: trainingMarketAbi, eventName: "JobCreated", fromBlock: 0n });
      assert.equal(jobsAfter.length, jobsBefore.length, "no job created");
      assert.equal(await net.reader.client.getTransactionCount({ address: poster.address }), nonceBefore, "no transaction sent");
    });
  });
});
