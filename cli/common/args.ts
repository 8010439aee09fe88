/**
 * Argument parsing with help for every command and sub-command: each command declares its options
 * with a one-line description; `--help` prints them, an unknown flag is a one-line UsageError that
 * points at `--help`. Built on node:util's parseArgs.
 */
import { parseArgs } from "node:util";
import { UsageError } from "./errors.ts";

export interface OptionDef {
  type: "string" | "boolean";
  /** One line for --help. */
  help: string;
  /** Placeholder shown after the flag (default "<value>" for strings). */
  arg?: string;
  default?: string | boolean;
}

export interface CommandDef {
  /** As typed, e.g. "worker run" or "./run start". */
  name: string;
  /** What the command does (first line of --help). */
  summary: string;
  /** Positional arguments, e.g. "<job id>". */
  positionals?: string;
  options: Record<string, OptionDef>;
  /** Extra paragraphs after the options (examples, environment). */
  notes?: string;
}

/** Options every command accepts. */
export const COMMON_OPTIONS: Record<string, OptionDef> = {
  help: { type: "boolean", help: "show this help" },
  verbose: { type: "boolean", help: "print stack traces of errors" },
};

export function helpText(cmd: CommandDef): string {
  const opts = { ...cmd.options, ...COMMON_OPTIONS };
  const rows = Object.entries(opts).map(([k, o]) => {
    const flag = `--${k}${o.type === "string" ? ` ${o.arg ?? "<value>"}` : ""}`;
    const def = o.default !== undefined && o.default !== false ? ` (default ${o.default})` : "";
    return [flag, `${o.help}${def}`];
  });
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  const lines = rows.map(([f, h]) => `  ${f.padEnd(width)}${f.length >= width ? `\n  ${" ".repeat(width)}` : ""}${h}`);
  return [`usage: ${cmd.name}${cmd.positionals ? ` ${cmd.positionals}` : ""} [options]`, "", cmd.summary, "", "options:", ...lines, ...(cmd.notes ? ["", cmd.notes] : [])].join("\n");
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses `argv` for `cmd`. `--help` prints the help and exits 0; an unknown flag or a missing value
 * throws a UsageError naming it.
 */
export function parseCommand(argv: string[], cmd: CommandDef): Parsed {
  const all = { ...cmd.options, ...COMMON_OPTIONS };
  const options = Object.fromEntries(Object.entries(all).map(([k, o]) => [k, o.default !== undefined ? { type: o.type, default: o.default } : { type: o.type }]));
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(helpText(cmd));
    process.exit(0);
  }
  // "--rounds -1": a negative number is the flag's value (parseArgs would call it ambiguous)
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith("--") ? argv[i].slice(2) : undefined;
    if (name && all[name]?.type === "string" && /^-[0-9.]/.test(argv[i + 1] ?? "")) args.push(`${argv[i]}=${argv[++i]}`);
    else args.push(argv[i]);
  }
  try {
    const { values, positionals } = parseArgs({ args, options: options as never, allowPositionals: cmd.positionals !== undefined, strict: true });
    return { values: values as Parsed["values"], positionals };
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const opt = /option '([^']+)'/i.exec(e.message)?.[1] ?? "";
      const near = nearest(opt.replace(/^-+/, ""), Object.keys(all));
      throw new UsageError(`unknown option ${opt}${near ? `; did you mean --${near}?` : ""}`);
    }
    if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") throw new UsageError(e.message.split("\n")[0].replace(/^Option '([^']+)'/, "option $1"));
    if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") throw new UsageError(`unexpected argument ${/'([^']+)'/.exec(e.message)?.[1] ?? ""}`);
    throw err;
  }
}

/** The closest known name within edit distance 2, for "did you mean". */
export function nearest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestD && d < word.length / 2) [best, bestD] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return dp[a.length][b.length];
}

/** Help for a command group: its sub-commands with one line each. */
export function groupHelp(name: string, summary: string, subs: { name: string; summary: string }[], notes?: string): string {
  const width = Math.max(...subs.map((s) => s.name.length)) + 2;
  return [`usage: ${name} <command> [options]`, "", summary, "", "commands:", ...subs.map((s) => `  ${s.name.padEnd(width)}${s.summary}`), "", `Run "${name} <command> --help" for a command's options.`, ...(notes ? ["", notes] : [])].join("\n");
}
