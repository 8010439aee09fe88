/**
 * The dashboard's joins and departures (issue 11) in a real browser (Debian's Chromium, headless,
 * playwright-core): the elastic-membership chain of test/indexer/elastic-scenario.ts on a Hardhat
 * chain, indexed into SQLite and served by the API. Per round of a job, the rounds table names the
 * workers activated as it started and the workers removed during it; the workers table marks a
 * worker that is still joining, late joiners, removals and a joiner whose job ended first.
 * DASHBOARD_SCREENSHOT=/tmp/d.png saves /tmp/d-elastic.png (job A).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { getAddress } from "viem";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { startApi } from "../../api/server.ts";
import { quietLog, startChain, startIndexer, synced, testDatabases } from "../indexer/helpers.ts";
import { runElasticScenario } from "../indexer/elastic-scenario.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

describe("dashboard: joins and departures per round (headless Chromium)", { timeout: 300_000 }, () => {
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
  });

  it("shows who joined and who left in each round, and marks joining workers", async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install it with \`apt-get update && apt-get install -y chromium\` (.ci/run does this), or point CHROMIUM_PATH at a Chromium binary.`);
    const chain = await startChain();
    cleanups.push(() => chain.close());
    const s = await runElasticScenario(chain.ctx);
    const [tdb] = await testDatabases("dashboard-elastic");
    cleanups.push(() => tdb.drop());
    const db = await tdb.open();
    cleanups.push(() => db.close());
    const ix = await startIndexer(db, chain);
    cleanups.push(() => ix.stop());
    await synced(ix, chain);
    const api = await startApi({ db, port: 0, log: quietLog, indexer: ix });
    cleanups.push(() => api.close());

    const dir = mkdtempSync(path.join(tmpdir(), "dashboard-elastic-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const browser: BrowserContext = await chromium.launchPersistentContext(path.join(dir, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1400, height: 1000 },
    });
    cleanups.push(() => browser.close());
    const page: Page = browser.pages()[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    const addr = (i: number) => getAddress(s.providers[i].address);

    /** Opens a job's detail and waits for its rows. */
    const show = async (jobId: bigint, rounds: number, workers: number) => {
      await page.goto(`${api.dashboardUrl}#job=${jobId}`);
      await page.waitForFunction(
        ([id, r, w]) =>
          document.querySelector(`[data-testid="job-detail"]`)?.getAttribute("data-job-id") === id &&
          document.querySelectorAll('[data-testid="round-row"]').length === r &&
          document.querySelectorAll('[data-testid="worker-row"]').length === w,
        [String(jobId), rounds, workers] as const,
        { timeout: 30_000, polling: 100 },
      );
    };
    const roundCells = (testid: string) => page.locator(`[data-testid="round-row"] [data-testid="${testid}"]`).evaluateAll((cells) => cells.map((c) => c.getAttribute("data-indices")));
    const workerStates = () =>
      page.locator('[data-testid="worker-row"]').evaluateAll((rows) => rows.map((r) => [r.getAttribute("data-worker"), r.getAttribute("data-state"), r.querySelector('[data-testid="worker-state"]')?.textContent]));

    // job A: p2 activated as round 1 started, p1 left in round 1, p3 (index 3) activated as round 3 started
    await show(s.a, 4, 4);
    assert.equal(await page.locator('[data-testid="job-title"]').textContent(), `Job #${s.a} Completed`, "no name published: none shown");
    assert.deepEqual(await roundCells("round-joined"), ["", "2", "", "3"]);
    assert.deepEqual(await roundCells("round-departed"), ["", "1", "", ""]);
    const departed = page.locator('[data-testid="round-row"][data-round="1"] [data-testid="round-departed"] .member');
    assert.match((await departed.getAttribute("title")) ?? "", new RegExp(`^${addr(1)} · Absent$`));
    if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT.replace(/(\.png)?$/, "-elastic.png"), fullPage: true });
    assert.deepEqual(await workerStates(), [
      [addr(0), "active", "active"],
      [addr(1), "removed", "removed in round 1 (Absent)"],
      [addr(2), "active", "active from round 1"],
      [addr(3), "active", "active from round 3"],
    ]);

    // job B: cancelled before its late joiner became active
    await show(s.b, 1, 3);
    assert.deepEqual((await workerStates())[2], [addr(3), "never-active", "joined late · job ended first"]);

    // job C: p2 joining, shown in the summary and the job list too
    await show(s.c, 1, 3);
    assert.deepEqual((await workerStates())[2], [addr(2), "joining", "joining · active from round 1"]);
    assert.match((await page.locator("#summary").textContent()) ?? "", /2 active, 1 joining of 3 joined/);
    assert.match((await page.locator(`[data-testid="job-row"][data-job-id="${s.c}"]`).textContent()) ?? "", /2\/3 \+1/);
    assert.deepEqual(pageErrors, []);
  });
});
