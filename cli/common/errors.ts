/**
 * One-line errors for every command line (`./run start`, `worker …`, `market …`): an ordinary
 * mistake (a wrong flag, a missing file, a wrong password, an unreachable endpoint, a revert) is
 * printed as `<program>: <what is wrong and how to fix it>` without a stack trace; `--verbose` (or
 * VERBOSE=1) adds the trace for bug reports.
 */

/** A mistake in how the command was called: exit code 2, with a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function isVerbose(argv: string[] = process.argv): boolean {
  return argv.includes("--verbose") || process.env.VERBOSE === "1";
}

interface ErrorLike {
  name?: string;
  message?: string;
  shortMessage?: string;
  details?: string;
  code?: string;
  path?: string;
  syscall?: string;
  cause?: unknown;
}

/** The error's message in one line, with node and viem noise translated into what went wrong. */
export function oneLine(err: unknown): string {
  if (!(err instanceof Error) && (typeof err !== "object" || err === null)) return String(err);
  const e = err as ErrorLike;
  const first = (s: string | undefined) => (s ?? "").split("\n").map((l) => l.trim()).filter(Boolean)[0] ?? "";
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const opt = /option '([^']+)'/i.exec(e.message ?? "")?.[1];
      return `unknown option ${opt ?? first(e.message)}`;
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return first(e.message).replace(/^Option '([^']+)'/, "option $1");
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${/'([^']+)'/.exec(e.message ?? "")?.[1] ?? first(e.message)}`;
    case "ENOENT":
      return `${e.path ?? "file"}: no such file or directory`;
    case "EACCES":
    case "EPERM":
      return `${e.path ?? "file"}: permission denied`;
    case "EISDIR":
      return `${e.path ?? "path"}: is a directory, expected a file`;
  }
  // viem errors carry a short message and details (the node's reason); their `message` is a multi-line dump
  if (e.shortMessage) {
    const details = first(e.details);
    const short = first(e.shortMessage);
    return details && !short.includes(details) ? `${short} (${details})` : short;
  }
  if (e.name === "SyntaxError" && /JSON/.test(e.message ?? "")) return `invalid JSON: ${first(e.message)}`;
  return first(e.message) || String(err);
}

/** Prints the one-line error (and the trace with --verbose) and exits: 2 for usage errors, else 1. */
export function exitWithError(program: string, err: unknown, helpHint?: string): never {
  let line = `${program}: ${oneLine(err)}`;
  if (err instanceof UsageError && helpHint) line += ` (see ${helpHint})`;
  process.stderr.write(`${line}\n`);
  if (isVerbose() && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(isConfigMistake(err) ? 2 : 1);
}

/** Mistakes in the command's input (flags, config, spec, addresses): exit code 2, as documented. */
const INPUT_ERRORS = new Set(["UsageError", "ConfigError", "DeploymentMismatchError", "JobSpecError", "PortInUseError", "DataDirLockedError"]);
function isConfigMistake(err: unknown): boolean {
  return INPUT_ERRORS.has((err as ErrorLike)?.name ?? "") || Boolean((err as ErrorLike)?.code?.startsWith?.("ERR_PARSE_ARGS"));
}
