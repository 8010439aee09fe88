/**
 * The dashboard in a real browser (Debian's Chromium, headless, driven by playwright-core) over the
 * whole stack: a Hardhat node with the Ignition deployment, the blob service, the indexer and the API
 * over a SQLite file, and three real worker processes training a tiny model for three rounds. The
 * page is opened before training starts and never reloaded: the job row, the train-loss points
 * (one per finalized round) and the eval-loss points (one per report through the mutation) must
 * appear through the GraphQL SSE subscriptions alone.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Hex } from "viem";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { startApi, type Api } from "../../api/server.ts";
import { trainingMarketAbi } from "../../shared/abis.ts";
import { openDb, type Db } from "../../indexer/db/index.ts";
import { createLogger } from "../../indexer/log.ts";
import { Metrics } from "../../indexer/metrics.ts";
import { Indexer } from "../../indexer/sync.ts";
import { createJobFromSpec } from "../../cli/poster/actions.ts";
import { ApiError, evaluateModel, reportEvalLoss } from "../../cli/poster/eval-report.ts";
import { publishJobSpec, reportJobSample, sampleJobModel } from "../../cli/poster/job-notes.ts";
import { makeSpec } from "../../worker/spec/presets.ts";
import { hardhatAccount, hardhatKey, startTestNetwork, type TestNetwork, type WorkerProcess } from "../helpers/network.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ROUNDS = 3;

async function waitUntilApi(fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error("timed out waiting for the indexer");
    await new Promise((r) => setTimeout(r, 200));
  }
}

const count = (page: Page, testid: string) => page.locator(`[data-testid="${testid}"]`).count();

/** Waits (in the page, without reloading it) until `testid` matches at least `n` elements. */
async function waitForCount(page: Page, testid: string, n: number, timeout = 180_000): Promise<void> {
  await page.waitForFunction(([t, k]) => document.querySelectorAll(`[data-testid="${t}"]`).length >= k, [testid, n] as const, { timeout, polling: 100 });
}

describe("dashboard (headless Chromium over the full local stack)", { timeout: 900_000 }, () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  });

  it("shows the job, its loss curve growing one point per finalized round, and reported eval losses, live", async (t) => {
    const t0 = Date.now();
    const step = (what: string) => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: this test drives Debian's Chromium through playwright-core. Install it with \`apt-get update && apt-get install -y chromium\` (.ci/run does this), or point CHROMIUM_PATH at a Chromium binary.`,
    );

    // ---- chain, contracts, blob store; indexer + API over a SQLite file
    const net: TestNetwork = await startTestNetwork();
    cleanups.push(() => net.stop());
    const dir = mkdtempSync(path.join(tmpdir(), "dashboard-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const db: Db = await openDb(`file:${path.join(dir, "indexer.db")}`);
    cleanups.push(() => db.close());
    const log = createLogger({ svc: "test" }, (process.env.TEST_LOG_LEVEL ?? "silent") as "info");
    const ix = new Indexer(db, { rpcUrl: net.chain.url, wsUrl: false, chainId: 31337, registry: net.addresses.registry, market: net.addresses.market, finalityDepth: 2, pollIntervalMs: 100 }, { log, metrics: new Metrics() });
    await ix.start();
    cleanups.push(() => ix.stop());
    const api: Api = await startApi({ db, port: 0, log, indexer: ix });
    cleanups.push(() => api.close());
    step(`chain, blob store, indexer and API up (${api.dashboardUrl})`);

    // ---- providers and the job (no worker runs yet)
    const poster = hardhatAccount(1);
    await net.mint(poster.address, "10000");
    const providers = [2, 3, 4];
    for (const i of providers) {
      await net.mint(hardhatAccount(i).address, "1000");
      const key = await net.keystore(hardhatKey(i), `w${i}`);
      const reg = net.spawnWorker(`reg${i}`, ["register", "--stake", "500", ...net.workerArgs(`w${i}`, key)]);
      assert.equal(await reg.exited, 0, reg.lines.join("\n"));
    }
    const spec = makeSpec({ model: "tiny", rounds: ROUNDS, innerSteps: 8, workers: 3, commitWindow: 300, voteWindow: 300 });
    const { jobId, specHash } = await createJobFromSpec({ reader: net.reader, sender: net.senderFor(poster), blobs: net.blobs, me: poster.address }, spec);

    step(`job ${jobId} created`);

    // ---- the page, opened once
    // a fresh profile; without the background-networking flags Chromium's connections get refused on a closed network
    const browser: BrowserContext = await chromium.launchPersistentContext(path.join(dir, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1400, height: 1000 },
    });
    cleanups.push(() => browser.close());
    const page = browser.pages()[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });
    const res = await page.goto(api.dashboardUrl);
    assert.equal(res?.status(), 200);
    assert.equal(await page.title(), "Training market · dashboard");
    const row = page.locator(`[data-testid="job-row"][data-job-id="${jobId}"]`);
    await row.waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="live"][data-state="live"]').waitFor({ timeout: 30_000 });
    assert.equal(await row.getAttribute("data-status"), "Open");
    assert.equal(await page.locator('[data-testid="job-detail"]').getAttribute("data-job-id"), String(jobId), "the newest job is selected by default");
    assert.equal(await count(page, "train-point"), 0);
    assert.equal(await count(page, "chart-empty"), 1);
    await page.evaluate(() => ((window as unknown as { loadedOnce: number }).loadedOnce = 1)); // gone if the page reloads
    step("dashboard shows the open job");

    // ---- the job's name: the spec's bytes published to the API (checked against the on-chain specHash)
    await waitUntilApi(() => db.prisma.job.count({ where: { id: jobId } }).then((n) => n === 1));
    await assert.rejects(publishJobSpec(api.url, jobId, new TextEncoder().encode(JSON.stringify({ ...spec, name: "forged" }))), (e: ApiError) => e.code === "SPEC_HASH_MISMATCH");
    const published = await publishJobSpec(api.url, jobId, await net.blobs.get(specHash));
    assert.equal(published.name, spec.name);
    await page.locator(`[data-testid="job-row"][data-job-id="${jobId}"] [data-testid="job-name"]`).waitFor({ timeout: 30_000 });
    assert.equal((await row.locator('[data-testid="job-name"]').textContent())?.trim(), spec.name);
    assert.equal((await page.locator('[data-testid="detail-name"]').textContent())?.trim(), spec.name);
    assert.match((await page.locator("#stats").textContent()) ?? "", /Providers\s*0 active \/ 3/, "nobody works before the job starts");

    // ---- training: points appear as rounds finalize
    const workers: WorkerProcess[] = providers.map((i) => net.spawnWorker(`w${i}`, ["run", "--job", jobId.toString(), ...net.workerArgs(`w${i}`, `${net.dir}/keys/w${i}.json`)]));
    const seen: number[] = [];
    for (let n = 1; n <= ROUNDS; n++) {
      await waitForCount(page, "train-point", n);
      const shownNow = await count(page, "train-point");
      const finalized = await db.prisma.round.count({ where: { jobId, status: "Finalized" } });
      assert.ok(finalized >= shownNow, `the page shows ${shownNow} train points but only ${finalized} rounds are finalized`);
      seen.push(shownNow);
      if (n === 1 && shownNow < ROUNDS) assert.match((await page.locator("#stats").textContent()) ?? "", /Providers\s*3 active \/ 3/, "the three workers count as active providers while the job runs");
      step(`${shownNow} train point(s) on the page`);
      if (n === 1 && process.env.DASHBOARD_SCREENSHOT) writeFileSync(process.env.DASHBOARD_SCREENSHOT.replace(/(\.png)?$/, "-running.png"), await page.screenshot({ fullPage: true }));
    }
    const codes = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(codes, [0, 0, 0], workers.map((w) => w.lines.slice(-10).join("\n")).join("\n---\n"));
    await page.locator(`[data-testid="job-row"][data-job-id="${jobId}"][data-status="Completed"]`).waitFor({ timeout: 30_000 });
    assert.equal(await count(page, "train-point"), ROUNDS, "one train point per finalized round");
    assert.equal(await db.prisma.round.count({ where: { jobId, status: "Finalized" } }), ROUNDS);
    assert.equal(await count(page, "eval-point"), 0);
    assert.match((await page.locator("#stats").textContent()) ?? "", /Providers\s*0 active \/ 3/, "no active provider once the job completed");
    assert.equal(await count(page, "worker-row"), 3);
    assert.equal(await count(page, "round-row"), ROUNDS);
    // rewards accrue per job and are credited at bond release after the challenge window (issue 13):
    // nothing is earned yet; past the window (chain time) anyone releases the bonds, and the page
    // shows the credits through its subscriptions
    for (const i of providers) assert.equal(await net.reader.balanceOf(hardhatAccount(i).address), 0n, "rewards locked until the bond is released");
    await net.warp(Number(spec.market.challengeWindow) + 1);
    for (const i of providers) await net.senderFor(poster).send({ address: net.addresses.market, abi: trainingMarketAbi, functionName: "releaseBond", args: [jobId, hardhatAccount(i).address] });
    let earned: string[] = [];
    for (let i = 0; i < 60; i++) {
      earned = await page.locator('[data-testid="worker-earned"]').allTextContents();
      if (earned.every((e) => e === "30")) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual(earned, ["30", "30", "30"], "3 rounds × 10 tokens each, credited at release");
    const trainValues = (await page.locator('[data-testid="train-point"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-value")))));
    const rounds = await db.prisma.round.findMany({ where: { jobId }, orderBy: { round: "asc" } });
    for (const [i, r] of rounds.entries()) assert.ok(Math.abs(trainValues[i] - Number(BigInt(r.trainLossSum)) / r.commitCount / 1e6) <= 5e-7 + 1e-12, `round ${i} train point (means are rounded to the chain's micro-units)`);

    step("job completed");

    // ---- the poster evaluates each round's model and reports it; eval points appear one by one
    const evalLosses: number[] = [];
    for (const r of rounds) {
      const bytes = await net.blobs.get(r.resultModelHash as Hex);
      const loss = await evaluateModel(spec, bytes, { batches: 2, batchSize: 8 });
      if (r.round === 0) assert.equal(await evaluateModel(spec, bytes, { batches: 2, batchSize: 8 }), loss, "evaluation is deterministic");
      assert.ok(Number.isFinite(loss) && loss > 0, `eval loss ${loss}`);
      const stored = await reportEvalLoss(api.url, poster, { chainId: 31337, market: net.addresses.market, jobId, round: r.round, evalLoss: loss });
      assert.equal(stored.evalLoss, loss);
      assert.equal(stored.evalLossSource, "poster");
      evalLosses.push(loss);
      await waitForCount(page, "eval-point", r.round + 1, 30_000);
      assert.equal(await count(page, "eval-point"), r.round + 1);
      step(`round ${r.round}: eval loss ${loss.toFixed(4)} reported and drawn`);
    }
    // ---- a text sample of the final model, generated and signed by the poster, shown on the page
    const final = (await net.reader.jobState(jobId)).modelHash;
    const sample = await sampleJobModel(net.blobs, specHash, final, { tokens: 40 });
    assert.ok(sample.sample.length > 0);
    const notPoster = hardhatAccount(2);
    await assert.rejects(reportJobSample(api.url, notPoster, { chainId: 31337, market: net.addresses.market, jobId, modelHash: final, ...sample }), (e: ApiError) => e.code === "NOT_POSTER");
    await assert.rejects(reportJobSample(api.url, poster, { chainId: 31337, market: net.addresses.market, jobId, modelHash: rounds[0].resultModelHash as Hex, ...sample }), (e: ApiError) => e.code === "NOT_FINAL_MODEL");
    const noted = await reportJobSample(api.url, poster, { chainId: 31337, market: net.addresses.market, jobId, modelHash: final, ...sample });
    assert.equal(noted.sample, sample.sample);
    await reportJobSample(api.url, poster, { chainId: 31337, market: net.addresses.market, jobId, modelHash: final, ...sample }); // the same again: a no-op
    await assert.rejects(reportJobSample(api.url, poster, { chainId: 31337, market: net.addresses.market, jobId, modelHash: final, prompt: sample.prompt, sample: "another text" }), (e: ApiError) => e.code === "SAMPLE_ALREADY_REPORTED");
    await page.locator('[data-testid="sample-text"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('[data-testid="sample-text"]').textContent(), sample.sample);
    step(`sample shown: ${JSON.stringify(sample.prompt + sample.sample)}`);

    if (process.env.DASHBOARD_SCREENSHOT) writeFileSync(process.env.DASHBOARD_SCREENSHOT, await page.screenshot({ fullPage: true }));
    const shown = await page.locator('[data-testid="eval-point"]').evaluateAll((els) => els.map((e) => [Number(e.getAttribute("data-round")), Number(e.getAttribute("data-value"))]));
    assert.deepEqual(shown, evalLosses.map((l, i) => [i, l]));
    assert.equal(await page.evaluate(() => (window as unknown as { loadedOnce?: number }).loadedOnce), 1, "everything arrived without a reload");
    assert.deepEqual(pageErrors, [], "no errors in the page");
    assert.ok(seen[0] < ROUNDS && seen.at(-1) === ROUNDS, `the train points arrived while the job ran (counts seen: ${seen.join(", ")})`);

    // ---- a phone (390 px wide): nothing wider than the screen, the fee is labelled
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => document.documentElement.clientWidth === 390);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 390 px screen`);
    assert.match((await page.locator("#stats").textContent()) ?? "", /Rewards paid.*\+ fees/);
    step("usable at 390 px wide");

    // ---- GraphiQL at /graphql: every asset from this server (no CDN), and it runs a query
    const gi = await browser.newPage();
    const external: string[] = [];
    const giErrors: string[] = [];
    await gi.route("**/*", (route) => {
      const u = new URL(route.request().url());
      if (u.hostname === "127.0.0.1" || u.protocol === "blob:" || u.protocol === "data:") return route.continue();
      external.push(u.href);
      return route.abort();
    });
    gi.on("pageerror", (e) => giErrors.push(e.message));
    await gi.goto(api.url);
    await gi.locator(".graphiql-container").first().waitFor({ timeout: 60_000 });
    assert.equal(await gi.title(), "Training market API");
    // the editor may still be loading on a busy machine: click until the result is there
    const hasResult = () => gi.evaluate(() => /"jobsTotal":\s*1/.test(document.querySelector(".result-window")?.textContent ?? ""));
    for (let i = 0; i < 30 && !(await hasResult()); i++) {
      await gi.locator(".graphiql-execute-button").click();
      await gi.waitForFunction(() => /"jobsTotal":\s*1/.test(document.querySelector(".result-window")?.textContent ?? ""), undefined, { timeout: 5_000 }).catch(() => {});
    }
    assert.ok(await hasResult(), `GraphiQL ran its default query: ${(await gi.locator(".result-window").first().textContent())?.slice(0, 300)}`);
    assert.deepEqual(external, [], "GraphiQL loads nothing from outside the API");
    assert.deepEqual(giErrors, [], "no errors in GraphiQL");
    step("GraphiQL rendered and ran its default query");
  });
});
