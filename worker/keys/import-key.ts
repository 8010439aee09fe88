/**
 * `worker keys import --out <file>`: encrypts an existing private key (from the PRIVATE_KEY
 * environment variable, never from the command line, where it would land in shell history and the
 * process list) into a Web3 Secret Storage keystore with WORKER_PASSWORD.
 */
import { existsSync } from "node:fs";
import { isHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ConfigError } from "../node/config.ts";
import { encryptKey, writeKeystore } from "./keystore.ts";

export async function importKey(out: string | undefined, scryptN?: string): Promise<{ address: string; keystore: string }> {
  if (!out) throw new ConfigError("keys import needs --out <file>");
  if (existsSync(out)) throw new ConfigError(`${out} exists; choose another --out`);
  const pk = process.env.PRIVATE_KEY?.trim();
  const key = pk && !pk.startsWith("0x") ? `0x${pk}` : pk;
  if (!key || !isHex(key) || key.length !== 66) throw new ConfigError("set PRIVATE_KEY to the key to import (64 hex digits, with or without 0x)");
  const password = process.env.WORKER_PASSWORD;
  if (!password) throw new ConfigError("set WORKER_PASSWORD to the password that will encrypt the key");
  const account = privateKeyToAccount(key as `0x${string}`);
  await writeKeystore(out, await encryptKey(key as `0x${string}`, password, scryptN ? { scryptN: Number(scryptN) } : {}));
  return { address: account.address, keystore: out };
}
