/**
 * One orchestrator per data directory: a second `./run start` on the same folder would send
 * transactions with the first one's keys (nonce errors) and restart its chain under it. The lock is
 * a file created exclusively (O_EXCL) holding the owner's pid; a lock left by a process that no
 * longer exists (a crash, kill -9) is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import path from "node:path";

export class DataDirLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataDirLockedError";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock on `dir` (which must exist); returns its release function. */
export function lockDataDir(dir: string, what = "./run start"): () => void {
  const file = path.join(dir, "lock");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (JSON.parse(readFileSync(file, "utf8")).pid === process.pid) rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      };
      process.once("exit", release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let owner: { pid?: number; since?: string } = {};
      try {
        owner = JSON.parse(readFileSync(file, "utf8"));
      } catch {
        /* torn or empty: treated as stale below */
      }
      if (owner.pid && owner.pid !== process.pid && alive(owner.pid)) {
        throw new DataDirLockedError(`${dir} is in use by another ${what} (pid ${owner.pid}, since ${owner.since}); stop it first (Ctrl-C there), or pass --data-dir <another folder> for a second network`);
      }
      rmSync(file, { force: true }); // stale lock of a process that is gone
    }
  }
  throw new DataDirLockedError(`could not lock ${dir}; remove ${file} if no other ${what} runs`);
}
