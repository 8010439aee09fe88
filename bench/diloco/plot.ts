/** Hand-written SVG line plot: eval loss (y) against bytes sent per worker (x, log scale). */

export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function fmtBytes(b: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let u = 0;
  while (b >= 1000 && u < units.length - 1) {
    b /= 1000;
    u++;
  }
  return `${b >= 100 ? b.toFixed(0) : b >= 10 ? b.toFixed(1).replace(/\.0$/, "") : b.toFixed(1).replace(/\.0$/, "")} ${units[u]}`;
}

export function lossVsBytesSvg(series: Series[], title: string): string {
  const W = 760;
  const H = 440;
  const m = { l: 70, r: 220, t: 40, b: 56 };
  const pts = series.flatMap((s) => s.points).filter((p) => p.x > 0 && Number.isFinite(p.y));
  const xMin = Math.floor(Math.log10(Math.min(...pts.map((p) => p.x))));
  const xMax = Math.ceil(Math.log10(Math.max(...pts.map((p) => p.x))));
  let yMin = Math.min(...pts.map((p) => p.y));
  let yMax = Math.max(...pts.map((p) => p.y));
  const pad = (yMax - yMin) * 0.06 || 0.1;
  yMin -= pad;
  yMax += pad;
  const X = (x: number) => m.l + ((Math.log10(x) - xMin) / (xMax - xMin || 1)) * (W - m.l - m.r);
  const Y = (y: number) => m.t + (1 - (y - yMin) / (yMax - yMin)) * (H - m.t - m.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${m.l}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`);
  // grid + axes
  for (let e = xMin; e <= xMax; e++) {
    const x = X(10 ** e);
    out.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${H - m.b}" stroke="#ddd"/>`);
    out.push(`<text x="${x}" y="${H - m.b + 16}" text-anchor="middle">${fmtBytes(10 ** e)}</text>`);
  }
  const yTicks = 6;
  for (let i = 0; i <= yTicks; i++) {
    const v = yMin + ((yMax - yMin) * i) / yTicks;
    const y = Y(v);
    out.push(`<line x1="${m.l}" y1="${y}" x2="${W - m.r}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${m.l - 6}" y="${y + 4}" text-anchor="end">${v.toFixed(3)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 14}" text-anchor="middle">bytes sent per worker (cumulative, log scale)</text>`);
  out.push(`<text transform="translate(18 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">eval loss (nats/char)</text>`);
  series.forEach((s, i) => {
    const p = s.points.filter((q) => q.x > 0 && Number.isFinite(q.y));
    if (p.length === 0) return;
    const d = p.map((q, j) => `${j ? "L" : "M"}${X(q.x).toFixed(1)},${Y(q.y).toFixed(1)}`).join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    for (const q of p) out.push(`<circle cx="${X(q.x).toFixed(1)}" cy="${Y(q.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = m.t + 10 + i * 20;
    out.push(`<line x1="${W - m.r + 14}" y1="${ly}" x2="${W - m.r + 38}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    out.push(`<text x="${W - m.r + 44}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
