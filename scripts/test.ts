/**
 * The one test command (`./run test`, also run by .ci/run): compiles the contracts, checks that
 * shared/abis.ts matches the artifacts, runs the Solidity unit/fuzz/invariant tests through Hardhat,
 * then every TypeScript test (test/**\/*.test.ts) with node:test, one file per process.
 * Prints a closing "N passed, N failed" line and exits non-zero when anything failed.
 *
 *   ./run test                 everything
 *   ./run test -- --only ts    only the TypeScript tests (or: --only sol)
 *   ./run test -- test/contracts/smoke.test.ts   only these files
 */
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2).filter((a) => a !== "--");
const onlyIdx = args.indexOf("--only");
const only = onlyIdx >= 0 ? args[onlyIdx + 1] : undefined;
const files = args.filter((a, i) => !a.startsWith("--") && (onlyIdx < 0 || (i !== onlyIdx && i !== onlyIdx + 1)));

function run(cmd: string, argv: string[], capture = false, buffered = false): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, stdio: ["ignore", "pipe", buffered ? "pipe" : "inherit"], env: process.env });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      if (!buffered) process.stdout.write(d);
      if (capture || buffered) out += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (name.endsWith(".test.ts")) out.push(path.relative(root, full));
  }
  return out.sort();
}

const hardhat = path.join(root, "node_modules", "hardhat", "dist", "src", "cli.js");
let passed = 0;
let failed = 0;

// The "production" profile is the one Ignition builds with (every deployment in the e2e tests and
// `./run start`): building with it here lets those deployments reuse this build's cache instead of
// compiling everything again (hardhat.config.ts keeps the profile non-isolated with the same settings).
const build = await run(process.execPath, [hardhat, "build", "--quiet", "--default-build-profile", "production"]);
if (build.code !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}

/** Tallies one `node --test` run's "ℹ pass N" / "ℹ fail N" lines. */
function tally(ts: { code: number; out: string }) {
  const p = /ℹ pass (\d+)/.exec(ts.out);
  const f = /ℹ fail (\d+)/.exec(ts.out);
  passed += p ? Number(p[1]) : 0;
  failed += f ? Number(f[1]) : 0;
  if (ts.code !== 0 && (!f || Number(f[1]) === 0)) failed += 1;
}

// TypeScript test files. Files marked "@lane chain-clock" spend their time waiting for 2-12 s blocks,
// not computing: they run in a second lane beside the Solidity tests and the CPU-bound files (their
// output is printed when the lane ends), which keeps the whole run short on 2 cores.
const tsFiles = only === "sol" ? [] : files.length > 0 ? files : findTests(path.join(root, "test"));
const clockFiles = files.length > 0 ? [] : tsFiles.filter((f) => readFileSync(path.join(root, f), "utf8").slice(0, 800).includes("@lane chain-clock"));
const mainFiles = tsFiles.filter((f) => !clockFiles.includes(f));
const clockLane = clockFiles.length > 0 ? run(process.execPath, ["--test", "--test-reporter=spec", "--test-concurrency=1", ...clockFiles], true, true) : undefined;

if (only !== "ts" && files.length === 0) {
  const sol = await run(process.execPath, [hardhat, "test", "solidity", "--no-compile"], true);
  const p = /(\d+) passing/.exec(sol.out);
  const f = /(\d+) failing/.exec(sol.out);
  passed += p ? Number(p[1]) : 0;
  failed += f ? Number(f[1]) : 0;
  if (sol.code !== 0 && !f) failed += 1;
}

if (only !== "sol") {
  if (mainFiles.length > 0) tally(await run(process.execPath, ["--test", "--test-reporter=spec", "--test-concurrency=1", ...mainFiles], true));
  if (clockLane) {
    const lane = await clockLane;
    process.stdout.write(`\n--- chain-clock lane: ${clockFiles.join(", ")} ---\n${lane.out}`);
    tally(lane);
  }
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
