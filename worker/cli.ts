/**
 * The provider's command line.
 *
 *   worker keys new --out <file>                create an encrypted keystore (password: WORKER_PASSWORD)
 *   worker register --stake <tokens>            stake and register (creates the attestation key if missing)
 *   worker run [--job <id>] [--once]            find, join and run jobs; withdraw earnings
 *   worker withdraw                             withdraw credited earnings
 *   worker status                               stake, bonds, balance
 *   worker audit --job J --round R --worker W [--challenge]   replay a worker's round and challenge a mismatch
 *   worker capabilities [--trainer pytorch --device cuda]      backend, device, memory, determinism class
 *
 * Common options (also from env or a JSON --config file; see worker/node/config.ts):
 *   --rpc-url --chain-id --market --registry --token --key-file --attestor-key-file --password-file
 *   --blob-url --data-dir --min-reward --max-params --poll-ms
 */
import { parseArgs } from "node:util";
import { formatUnits, parseUnits } from "viem";
import { createKeystore } from "./keys/keystore.ts";
import { CONFIG_OPTIONS, ConfigError, configFlags, rawConfig, resolveConfig } from "./node/config.ts";
import { openProvider, registerProvider, runService, withdrawEarnings } from "./node/provider.ts";
import { auditRound } from "./node/audit.ts";

const USAGE = `usage: worker <keys new|register|run|withdraw|status|audit|capabilities> [options]   (see worker/cli.ts or README)`;

function fail(message: string, code = 2): never {
  process.stderr.write(`worker: ${message}\n`);
  process.exit(code);
}


async function main(argv: string[]): Promise<void> {
  const [cmd, sub] = argv;
  if (!cmd || cmd === "--help" || cmd === "help") {
    console.log(USAGE);
    return;
  }
  const rest = argv.slice(cmd === "keys" ? 2 : 1);
  const { values } = parseArgs({
    args: rest,
    options: {
      ...CONFIG_OPTIONS,
      out: { type: "string" },
      stake: { type: "string" },
      metadata: { type: "string", default: "" },
      job: { type: "string" },
      round: { type: "string" },
      worker: { type: "string" },
      once: { type: "boolean", default: false },
      challenge: { type: "boolean", default: false },
    },
    allowPositionals: false,
    strict: true,
  });
  const flags = configFlags(values);
  const jobId = () => {
    if (!values.job || !/^[0-9]+$/.test(values.job)) fail(`--job must be a job id (a positive integer), got ${values.job ?? "nothing"}`);
    return BigInt(values.job);
  };

  if (cmd === "capabilities") {
    // what this machine's trainer backend is (the determinism class a job spec pins); no keys or chain needed
    const { probeCapabilities } = await import("./node/trainer-backend.ts");
    const backend = flags.trainer === "pytorch" ? { backend: "pytorch" as const, device: (flags.device ?? "cpu") as "cpu" | "cuda" | "auto", threads: 1 } : { backend: "jax-js" as const };
    console.log(JSON.stringify(await probeCapabilities(backend)));
    return;
  }
  if (cmd === "keys") {
    if (sub !== "new") fail(`unknown command "keys ${sub ?? ""}"; did you mean "keys new"?`);
    if (!values.out) fail("keys new needs --out <file>");
    const password = process.env.WORKER_PASSWORD;
    if (!password) fail("set WORKER_PASSWORD to the password that will encrypt the key");
    const n = flags["scrypt-n"] ? Number(flags["scrypt-n"]) : undefined;
    const account = await createKeystore(values.out, password, { scryptN: n });
    console.log(JSON.stringify({ address: account.address, keystore: values.out }));
    return;
  }

  const config = resolveConfig(rawConfig(flags), { needKeys: true });
  const p = await openProvider(config, { createAttestor: cmd === "register", needAttestor: cmd === "register" || cmd === "run" });
  const controller = new AbortController();
  process.on("SIGINT", () => controller.abort());
  process.on("SIGTERM", () => controller.abort());

  switch (cmd) {
    case "register": {
      if (!values.stake) fail("register needs --stake <tokens> (e.g. --stake 500)");
      let stake: bigint;
      try {
        stake = parseUnits(values.stake, 18);
      } catch {
        fail(`--stake must be a decimal number of tokens, got ${values.stake}`);
      }
      if (stake <= 0n) fail("--stake must be positive");
      await registerProvider(p, stake, values.metadata ?? "");
      return;
    }
    case "run": {
      const results = await runService(p, { jobId: values.job ? jobId() : undefined, once: values.once, signal: controller.signal });
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
    case "audit": {
      if (!values.round || !/^[0-9]+$/.test(values.round)) fail("audit needs --round <n>");
      if (!values.worker) fail("audit needs --worker <address>");
      const result = await auditRound(p, { jobId: jobId(), round: Number(values.round), worker: values.worker as `0x${string}`, challenge: values.challenge });
      console.log(JSON.stringify(result, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
      if (!result.match && !values.challenge) process.exitCode = 3;
      return;
    }
    default:
      fail(`unknown command "${cmd}". ${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) fail(err.message);
  fail((err as Error).stack ?? String(err), 1);
});
