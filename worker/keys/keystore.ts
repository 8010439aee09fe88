/**
 * Keys at rest: the standard encrypted JSON keystore (Web3 Secret Storage v3, scrypt + AES-128-CTR),
 * via ethers (viem has no keystore implementation). Everything else uses viem accounts.
 */
import { readFile, writeFile, rename, mkdir } from "node:fs/promises";
import path from "node:path";
import { Wallet, encryptKeystoreJson } from "ethers";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Hex } from "viem";

export interface KeystoreOptions {
  /** scrypt N (cost). Default 131072 (ethers' default); tests may lower it. */
  scryptN?: number;
}

/** Encrypts a private key to a keystore JSON string. */
export async function encryptKey(privateKey: Hex, password: string, opts: KeystoreOptions = {}): Promise<string> {
  if (password.length === 0) throw new Error("keystore password must not be empty");
  const wallet = new Wallet(privateKey);
  return encryptKeystoreJson({ address: wallet.address, privateKey }, password, opts.scryptN ? { scrypt: { N: opts.scryptN } } : {});
}

/** Decrypts a keystore JSON string to a viem account; a wrong password gives a clear error. */
export async function decryptKey(json: string, password: string): Promise<PrivateKeyAccount> {
  let wallet;
  try {
    wallet = await Wallet.fromEncryptedJson(json, password);
  } catch (err) {
    const msg = (err as Error).message;
    if (/incorrect password|invalid password/i.test(msg)) throw new Error("keystore password is wrong");
    throw new Error(`keystore is not a valid encrypted JSON keystore: ${msg}`);
  }
  return privateKeyToAccount(wallet.privateKey as Hex);
}

/** Writes a keystore file atomically with owner-only permissions. */
export async function writeKeystore(file: string, json: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, json, { mode: 0o600 });
  await rename(tmp, file);
}

/** Reads and decrypts a keystore file. */
export async function loadKeystore(file: string, password: string): Promise<PrivateKeyAccount> {
  let json: string;
  try {
    json = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`keystore file not found: ${file}`);
    throw err;
  }
  return decryptKey(json, password);
}

/** Generates a new key, stores it encrypted at `file`, and returns the account. */
export async function createKeystore(file: string, password: string, opts: KeystoreOptions = {}): Promise<PrivateKeyAccount> {
  const pk = generatePrivateKey();
  await writeKeystore(file, await encryptKey(pk, password, opts));
  return privateKeyToAccount(pk);
}
