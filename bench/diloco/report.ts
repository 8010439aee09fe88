/** Writes/replaces one "## …" section of BENCHMARKS.md without touching the others. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

export function upsertSection(file: string, heading: string, body: string): void {
  const section = `${heading}\n\n${body.trim()}\n`;
  if (!existsSync(file)) {
    writeFileSync(file, `# Benchmarks\n\n${section}`);
    return;
  }
  const text = readFileSync(file, "utf8");
  const start = text.indexOf(`${heading}\n`);
  if (start < 0) {
    writeFileSync(file, text.replace(/\n*$/, "\n\n") + section);
    return;
  }
  const rest = text.slice(start + heading.length + 1);
  const next = rest.search(/^## /m);
  const end = next < 0 ? text.length : start + heading.length + 1 + next;
  writeFileSync(file, text.slice(0, start) + section + (next < 0 ? "" : "\n" + text.slice(end)));
}
