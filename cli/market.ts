/**
 * Poster commands against any EVM JSON-RPC endpoint.
 *
 *   market job create --spec <file.json>         validate, upload spec + initial model, lock escrow
 *   market job status <id>                       rounds, loss per round, workers, escrow left
 *   market job cancel <id>                       cancel (refund; the round in flight is paid)
 *   market job model <id> --out <file>           download the current/final model, verified by hash
 *   market withdraw                              withdraw refunds and other credits
 *
 * Options: --rpc-url --chain-id --market --registry --token --key-file --password-file --blob-url
 * (or the same environment variables / --config file as the worker; WORKER_PASSWORD for the key).
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { formatUnits } from "viem";
import { HttpBlobStore } from "../blobstore/http-client.ts";
import { trainingMarketAbi } from "../shared/abis.ts";
import { TxSender } from "../worker/chain/tx-sender.ts";
import { loadKeystore } from "../worker/keys/keystore.ts";
import { makeClients } from "../worker/node/clients.ts";
import { CONFIG_OPTIONS, ConfigError, configFlags, rawConfig, resolveConfig } from "../worker/node/config.ts";
import { MarketReader } from "../worker/node/market-reader.ts";
import { JobSpecError, parseJobSpec } from "../worker/spec/job-spec.ts";
import { cancelJob, createJobFromSpec, downloadModel, jobStatus } from "./poster/actions.ts";
import { progressBar } from "./progress.ts";

function fail(message: string, code = 2): never {
  process.stderr.write(`market: ${message}\n`);
  process.exit(code);
}


function idArg(v: string | undefined, what: string): bigint {
  if (!v || !/^[0-9]+$/.test(v) || BigInt(v) === 0n) fail(`${what} must be a positive integer id, got ${v ?? "nothing"}`);
  return BigInt(v);
}

async function main(argv: string[]) {
  const { values, positionals } = parseArgs({ args: argv, options: { ...CONFIG_OPTIONS, spec: { type: "string" }, out: { type: "string" }, help: { type: "boolean" } }, allowPositionals: true });
  const [group, action, arg] = positionals;
  if (values.help || !group) {
    console.log("usage: market job <create|status|cancel|model> … | market withdraw   (see cli/market.ts)");
    return;
  }
  const flags = configFlags(values);
  const readOnly = group === "job" && (action === "status" || action === "model");

  // Validate the spec before touching keys or the network, so mistakes cost nothing.
  let spec;
  if (group === "job" && action === "create") {
    if (!values.spec) fail("job create needs --spec <file.json>");
    let json: unknown;
    try {
      json = JSON.parse(await readFile(values.spec, "utf8"));
    } catch (err) {
      fail(`cannot read the spec ${values.spec}: ${(err as Error).message}`);
    }
    try {
      spec = parseJobSpec(json);
    } catch (err) {
      if (err instanceof JobSpecError) fail(`${err.message} (in ${values.spec}; fix it before any gas is spent)`);
      throw err;
    }
  }

  const config = resolveConfig(rawConfig(flags), { needKeys: !readOnly });
  const account = readOnly ? undefined : await loadKeystore(config.keyFile, config.password);
  const { publicClient, walletClient } = await makeClients(config, account);
  const reader = new MarketReader(publicClient, config.addresses);
  const blobs = new HttpBlobStore(config.blobUrl);
  const sender = walletClient ? new TxSender({ publicClient, walletClient }) : undefined;

  if (group === "job" && action === "create") {
    const r = await createJobFromSpec({ reader, sender: sender!, blobs, me: account!.address, progress: progressBar("create job") }, spec!);
    console.log(JSON.stringify({ jobId: r.jobId.toString(), specHash: r.specHash, initialModelHash: r.modelHash, escrow: formatUnits(r.escrow, 18) }));
  } else if (group === "job" && action === "status") {
    console.log(JSON.stringify(await jobStatus(reader, idArg(arg, "job id")), null, 2));
  } else if (group === "job" && action === "cancel") {
    await cancelJob({ reader, sender: sender!, blobs, me: account!.address }, idArg(arg, "job id"));
    console.log(JSON.stringify({ cancelled: arg, credited: formatUnits(await reader.balanceOf(account!.address), 18) }));
  } else if (group === "job" && action === "model") {
    if (!values.out) fail("job model needs --out <file>");
    console.log(JSON.stringify(await downloadModel(reader, blobs, idArg(arg, "job id"), values.out)));
  } else if (group === "withdraw") {
    const balance = await reader.balanceOf(account!.address);
    if (balance === 0n) fail("nothing to withdraw: no refunds or credits for this account", 1);
    await sender!.send({ address: config.addresses.market, abi: trainingMarketAbi, functionName: "withdraw", args: [] });
    console.log(JSON.stringify({ withdrawn: formatUnits(balance, 18) }));
  } else {
    fail(`unknown command "${positionals.join(" ")}"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) fail(err.message);
  fail((err as Error).message, 1);
});
