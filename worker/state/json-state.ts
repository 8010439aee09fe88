/**
 * Crash-safe persistence for a worker's local state: JSON documents and binary arrays written
 * atomically (temp file + fsync + rename), so a worker killed at any point restarts from the last
 * completed step and never reads a half-written file.
 */
import { mkdir, open, readFile, rename } from "node:fs/promises";
import path from "node:path";

async function atomicWrite(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fh = await open(tmp, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await atomicWrite(file, JSON.stringify(value, (_, v) => (typeof v === "bigint" ? { $bigint: v.toString() } : v), 2));
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text, (_, v) => (v && typeof v === "object" && typeof v.$bigint === "string" ? BigInt(v.$bigint) : v)) as T;
  } catch (err) {
    throw new Error(`state file ${file} is not valid JSON (${(err as Error).message}); move it away to start over`);
  }
}

export async function writeBytes(file: string, bytes: Uint8Array): Promise<void> {
  await atomicWrite(file, bytes);
}

export async function readBytes(file: string): Promise<Uint8Array | undefined> {
  try {
    const b = await readFile(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
