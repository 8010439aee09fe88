/**
 * The provider's command line (`./run worker …`, or `node worker/cli.ts …` on Node ≥ 22.13).
 *
 *   worker keys new --out <file> [--force]      create an encrypted keystore (password: WORKER_PASSWORD)
 *   worker keys import --out <file>             encrypt the key in PRIVATE_KEY into a keystore
 *   worker register --stake <tokens>            stake and register (creates the attestation key if missing)
 *   worker run [--job <id>] [--once]            find, join and run jobs; withdraw earnings
 *   worker withdraw                             withdraw credited earnings
 *   worker status                               stake, bonds, balance
 *   worker audit --job J --round R --worker W [--challenge]   replay a worker's round; challenge a mismatch and follow the dispute
 *   worker referee [--withdraw | --leave]      lock the referee stake; recompute and vote on dispute panels
 *   worker capabilities [--trainer pytorch --device cuda]      backend, device, memory, determinism class
 *
 * Every command answers --help. Common options (also from env or a JSON --config file; see
 * worker/node/config.ts); without them, the network of `./run start` (its .data/cli-config.json).
 * Errors are one line; --verbose adds the stack trace.
 */
import { existsSync } from "node:fs";
import { formatUnits, isAddress, parseUnits } from "viem";
import { createKeystore } from "./keys/keystore.ts";
import { importKey } from "./keys/import-key.ts";
import { CONFIG_HELP, CONFIG_KEYS, CONFIG_OPTIONS, configFlags, rawConfig, resolveConfig, type ConfigKey } from "./node/config.ts";
import { openProvider, registerProvider, runService, withdrawEarnings } from "./node/provider.ts";
import { auditRound } from "./node/audit.ts";
import { groupHelp, parseCommand, type CommandDef, type OptionDef } from "../cli/common/args.ts";
import { exitWithError, UsageError } from "../cli/common/errors.ts";
import { localCliConfig } from "../cli/local-config.ts";

const CONFIG_DEFS: Record<string, OptionDef> = Object.fromEntries(
  (Object.keys(CONFIG_OPTIONS) as ConfigKey[]).map((k) => [k, { type: "string", arg: CONFIG_HELP[k].arg, help: `${CONFIG_HELP[k].help} [env ${CONFIG_KEYS[k]}]` }]),
);
CONFIG_DEFS["network-dir"] = { type: "string", arg: "<dir>", help: "data directory of a ./run start network whose settings to use (default .data)" };
const CONFIG_NOTE = "Chain, contracts and blob store default to the network of ./run start in this folder (.data/cli-config.json, or --network-dir)\nwhen no --config, --rpc-url or contract address is given.";

const COMMANDS: Record<string, CommandDef> = {
  "keys new": {
    name: "worker keys new",
    summary: "Creates an encrypted JSON keystore (Web3 Secret Storage) with a new key; the password comes from WORKER_PASSWORD.",
    options: {
      out: { type: "string", arg: "<file>", help: "where to write the keystore (required)" },
      force: { type: "boolean", help: "replace an existing keystore at --out (the old key is lost)" },
      "scrypt-n": { type: "string", arg: "<n>", help: "scrypt cost (default 131072)" },
    },
  },
  "keys import": {
    name: "worker keys import",
    summary: "Encrypts an existing private key, read from the PRIVATE_KEY environment variable (never from the command line), into a keystore; the password comes from WORKER_PASSWORD.",
    options: {
      out: { type: "string", arg: "<file>", help: "where to write the keystore (required; never overwritten)" },
      "scrypt-n": { type: "string", arg: "<n>", help: "scrypt cost (default 131072)" },
    },
  },
  register: {
    name: "worker register",
    summary: "Registers the provider with a stake (approve + register); creates the attestation key if missing. Idempotent.",
    options: { stake: { type: "string", arg: "<tokens>", help: "stake in whole tokens, e.g. 500 (required)" }, metadata: { type: "string", arg: "<text>", default: "", help: "metadata URI or text" }, ...CONFIG_DEFS },
    notes: CONFIG_NOTE,
  },
  run: {
    name: "worker run",
    summary: "Finds open jobs this provider accepts, joins them and plays every round; withdraws earnings at the end.",
    options: { job: { type: "string", arg: "<id>", help: "run only this job" }, once: { type: "boolean", help: "stop after one job" }, ...CONFIG_DEFS },
    notes: CONFIG_NOTE,
  },
  withdraw: { name: "worker withdraw", summary: "Withdraws credited earnings to the provider's account.", options: { ...CONFIG_DEFS }, notes: CONFIG_NOTE },
  status: { name: "worker status", summary: "Prints the provider's stake, bonds, unbonding amount and unwithdrawn earnings (JSON).", options: { ...CONFIG_DEFS }, notes: CONFIG_NOTE },
  audit: {
    name: "worker audit",
    summary: "Replays a worker's committed round and compares the hash; with --challenge, opens a fraud dispute on a mismatch and plays the challenger's side (bisection moves, witness for the referees) until it is closed.",
    options: {
      job: { type: "string", arg: "<id>", help: "job id (required)" },
      round: { type: "string", arg: "<n>", help: "round (required)" },
      worker: { type: "string", arg: "<address>", help: "the worker to audit (required)" },
      challenge: { type: "boolean", help: "open a fraud dispute when the replay does not match, and answer it until it is closed (a missed move loses the challenge bond)" },
      ...CONFIG_DEFS,
    },
    notes: CONFIG_NOTE,
  },
  referee: {
    name: "worker referee",
    summary: "Serves the DisputeGame as a referee: locks the referee stake (the account must be a registered provider: worker register first),\nthen recomputes every round dispute it is drawn on (the workers' deterministic aggregate), votes it and resolves the panel; runs until stopped.",
    options: {
      withdraw: { type: "boolean", help: "withdraw this account's game balance (returned bonds, stake after --leave) and exit" },
      leave: { type: "boolean", help: "leave the referee set (only when on no open panel), withdraw the stake and exit" },
      once: { type: "boolean", help: "one pass over the panels, then exit" },
      ...CONFIG_DEFS,
    },
    notes: `${CONFIG_NOTE}\nStep disputes (one inner step after bisection) are not judged by this version: the referee logs them and does not vote.`,
  },
};

COMMANDS.capabilities = {
  name: "worker capabilities",
  summary: "Starts the trainer backend and prints what it is: backend, device, memory and the determinism class a job spec pins (no keys or chain needed).",
  options: { trainer: CONFIG_DEFS.trainer, device: CONFIG_DEFS.device },
};

const HELP = groupHelp("worker", "The GPU provider's node: keys, registration, running jobs, earnings and audits.", [
  { name: "keys new", summary: "create an encrypted keystore" },
  { name: "keys import", summary: "encrypt the key in PRIVATE_KEY into a keystore" },
  { name: "register", summary: "stake and register (creates the attestation key)" },
  { name: "run", summary: "find, join and run jobs" },
  { name: "withdraw", summary: "withdraw earnings" },
  { name: "status", summary: "stake, bonds, earnings" },
  { name: "audit", summary: "replay a worker's round; challenge a mismatch" },
  { name: "referee", summary: "referee dispute panels (recompute and vote)" },
  { name: "capabilities", summary: "trainer backend, device, memory, determinism class" },
]);

function commandOf(argv: string[]): { key: string; rest: string[] } {
  const [cmd, sub] = argv;
  if (cmd === "keys") {
    if (sub === "new") return { key: "keys new", rest: argv.slice(2) };
    if (sub === "import") return { key: "keys import", rest: argv.slice(2) };
    throw new UsageError(sub === undefined || sub.startsWith("-") ? 'keys needs a sub-command: "keys new" or "keys import"' : `unknown command "keys ${sub}"; did you mean "keys new"? (keys sub-commands: new, import)`);
  }
  if (!(cmd in COMMANDS)) throw new UsageError(`unknown command "${cmd}"; commands: keys new, keys import, register, run, withdraw, status, audit, referee, capabilities`);
  return { key: cmd, rest: argv.slice(1) };
}

async function main(argv: string[]): Promise<void> {
  const [cmd] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    console.log(HELP);
    return;
  }
  const { key, rest } = commandOf(argv);
  const { values } = parseCommand(rest, COMMANDS[key]);
  const flags = configFlags(values);
  const str = (k: string) => values[k] as string | undefined;
  const jobId = () => {
    const v = str("job");
    if (!v || !/^[0-9]+$/.test(v)) throw new UsageError(`--job must be a job id (a positive integer), got ${v ?? "nothing"}`);
    return BigInt(v);
  };

  if (key === "keys import") {
    console.log(JSON.stringify(await importKey(str("out"), flags["scrypt-n"])));
    return;
  }
  if (key === "capabilities") {
    const { probeCapabilities } = await import("./node/trainer-backend.ts");
    const backend = flags.trainer === "pytorch" ? { backend: "pytorch" as const, device: (flags.device ?? "cpu") as "cpu" | "cuda" | "auto", threads: 1 } : { backend: "jax-js" as const };
    if (flags.trainer !== undefined && flags.trainer !== "pytorch" && flags.trainer !== "jax-js") throw new UsageError(`--trainer must be jax-js or pytorch, got ${flags.trainer}`);
    console.log(JSON.stringify(await probeCapabilities(backend)));
    return;
  }
  if (key === "keys new") {
    const out = str("out");
    if (!out) throw new UsageError("keys new needs --out <file>");
    if (existsSync(out) && !values.force) throw new UsageError(`${out} already exists; it may hold the key your stake is tied to. Choose another --out, or pass --force to replace it`);
    const password = process.env.WORKER_PASSWORD;
    if (!password) throw new UsageError("set WORKER_PASSWORD to the password that will encrypt the key");
    const n = flags["scrypt-n"] ? Number(flags["scrypt-n"]) : undefined;
    if (n !== undefined && (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0)) throw new UsageError(`--scrypt-n must be a power of two, got ${flags["scrypt-n"]}`);
    const account = await createKeystore(out, password, { scryptN: n });
    console.log(JSON.stringify({ address: account.address, keystore: out }));
    return;
  }

  // every argument is validated before any side effect (keys, transactions)
  let stake = 0n;
  if (key === "register") {
    const raw = str("stake");
    if (!raw) throw new UsageError("register needs --stake <tokens> (e.g. --stake 500)");
    try {
      stake = parseUnits(raw, 18);
    } catch {
      throw new UsageError(`--stake must be a decimal number of tokens, got ${raw}`);
    }
    if (stake <= 0n) throw new UsageError(`--stake must be positive, got ${raw}`);
  }
  if (key === "audit") {
    jobId();
    if (!str("round") || !/^[0-9]+$/.test(str("round")!)) throw new UsageError(`audit needs --round <n>, got ${str("round") ?? "nothing"}`);
    if (!str("worker") || !isAddress(str("worker")!)) throw new UsageError(`audit needs --worker <address>, got ${str("worker") ?? "nothing"}`);
  }
  if (key === "run" && str("job") !== undefined) jobId();

  const config = resolveConfig(rawConfig(flags, process.env, { file: localCliConfig(values["network-dir"] as string | undefined), ignore: ["key-file", "data-dir"] }), { needKeys: true });
  const p = await openProvider(config, { createAttestor: key === "register", needAttestor: key === "register" || key === "run" });
  const controller = new AbortController();
  process.on("SIGINT", () => controller.abort());
  process.on("SIGTERM", () => controller.abort());

  switch (key) {
    case "register":
      await registerProvider(p, stake, (values.metadata as string) ?? "");
      return;
    case "run": {
      const results = await runService(p, { jobId: str("job") ? jobId() : undefined, once: values.once as boolean, signal: controller.signal });
      p.log("service stopped", { results: results.map((r) => ({ jobId: r.jobId.toString(), outcome: r.outcome })) });
      return;
    }
    case "withdraw": {
      const amount = await withdrawEarnings(p);
      console.log(JSON.stringify({ withdrawn: formatUnits(amount, 18) }));
      return;
    }
    case "status": {
      const info = await p.reader.provider(p.address);
      const balance = await p.reader.balanceOf(p.address);
      console.log(JSON.stringify({ provider: p.address, registered: info.registeredAt !== 0n, signer: info.attestationSigner, stake: formatUnits(info.stake, 18), bonded: formatUnits(info.bonded, 18), unbonding: formatUnits(info.unbonding, 18), earned: formatUnits(balance, 18) }));
      return;
    }
    case "referee": {
      const { RefereeService } = await import("./node/referee.ts");
      const svc = await RefereeService.open(p);
      if (values.leave) await svc.leave();
      if (values.leave || values.withdraw) {
        const amount = await svc.withdraw();
        console.log(JSON.stringify({ withdrawn: formatUnits(amount, 18) }));
        return;
      }
      try {
        await svc.run({ signal: controller.signal, once: values.once as boolean });
      } finally {
        await svc.dispose();
      }
      p.log("referee stopped");
      return;
    }
    case "audit": {
      const result = await auditRound(p, { jobId: jobId(), round: Number(str("round")), worker: str("worker") as `0x${string}`, challenge: values.challenge as boolean, signal: controller.signal });
      console.log(JSON.stringify(result, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
      if (!result.match && !values.challenge) process.exitCode = 3;
      return;
    }
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const [cmd, sub] = process.argv.slice(2);
  exitWithError("worker", err, cmd === "keys" ? `worker keys ${sub ?? "new"} --help` : cmd && cmd in COMMANDS ? `worker ${cmd} --help` : "worker --help");
});
