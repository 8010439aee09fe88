/** A one-line progress bar on a TTY; plain lines otherwise (logs, CI). */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  let last = "";
  return (step: string, done: number, total: number) => {
    const width = 24;
    const filled = total > 0 ? Math.round((done / total) * width) : 0;
    const line = `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${step}`;
    if (stream.isTTY) {
      stream.write(`\r${line.padEnd(last.length)}`);
      if (done >= total) stream.write("\n");
    } else if (line !== last) stream.write(`${line}\n`);
    last = line;
  };
}
