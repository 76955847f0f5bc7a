/**
 * The suite's chart, drawn by hand as SVG (no dependency): throughput
 * (bars, left axis) and p99 latency (line, right axis, logarithmic) against
 * the number of concurrent clients, from bench/load.ts's results.
 * `bun bench/chart.ts` redraws bench/load.svg from bench/out/load.json.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ChartPoint {
  concurrency: number;
  rps: number;
  p99: number;
  p50: number;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

function niceMax(x: number): number {
  if (x <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

export function loadChart(points: readonly ChartPoint[], title: string): string {
  const W = 720;
  const H = 400;
  const left = 70;
  const right = 70;
  const top = 50;
  const bottom = 60;
  const pw = W - left - right;
  const ph = H - top - bottom;
  const maxRps = niceMax(Math.max(...points.map((p) => p.rps)));
  const lat = points.flatMap((p) => [p.p50, p.p99]).filter((x) => x > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.01, Math.min(...lat))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...lat, lo * 10)));
  const yR = (v: number) => top + ph - (v / maxRps) * ph;
  const yL = (v: number) =>
    top + ph - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph;
  const slot = pw / points.length;
  const x = (i: number) => left + slot * i + slot / 2;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = (maxRps * i) / 4;
    const y = yR(v);
    out.push(
      `<line x1="${left}" x2="${left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${left - 8}" y="${y + 4}" text-anchor="end" fill="#2563eb">${Math.round(v).toLocaleString("en-US")}</text>`,
    );
  }
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    out.push(
      `<text x="${left + pw + 8}" y="${yL(d) + 4}" fill="#dc2626">${d >= 1 ? d : d.toFixed(2)} ms</text>`,
    );
  }
  const bw = Math.min(60, slot * 0.5);
  for (const [i, p] of points.entries()) {
    out.push(
      `<rect x="${x(i) - bw / 2}" y="${yR(p.rps)}" width="${bw}" height="${top + ph - yR(p.rps)}" fill="#93c5fd"/>`,
      `<text x="${x(i)}" y="${yR(p.rps) - 6}" text-anchor="middle" fill="#1e40af">${Math.round(p.rps).toLocaleString("en-US")}</text>`,
      `<text x="${x(i)}" y="${top + ph + 18}" text-anchor="middle">${p.concurrency}</text>`,
    );
  }
  for (const [key, color, dash] of [
    ["p99", "#dc2626", ""],
    ["p50", "#f59e0b", ' stroke-dasharray="5 4"'],
  ] as const) {
    const path = points
      .map((p, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${yL(p[key]).toFixed(1)}`)
      .join(" ");
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2.5"${dash}/>`);
    for (const [i, p] of points.entries())
      out.push(`<circle cx="${x(i)}" cy="${yL(p[key])}" r="4" fill="${color}"/>`);
  }
  out.push(
    `<line x1="${left}" x2="${left + pw}" y1="${top + ph}" y2="${top + ph}" stroke="#333"/>`,
    `<text x="${left + pw / 2}" y="${H - 18}" text-anchor="middle">concurrent clients</text>`,
    `<text transform="translate(18 ${top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#2563eb">requests per second (bars)</text>`,
    `<text transform="translate(${W - 12} ${top + ph / 2}) rotate(90)" text-anchor="middle" fill="#dc2626">latency, log scale (p99 solid, p50 dashed)</text>`,
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}

if (import.meta.main) {
  const input = join(import.meta.dir, "out", "load.json");
  if (!existsSync(input)) {
    console.error("bench/out/load.json is missing: run bun bench/load.ts first");
    process.exit(1);
  }
  const { results } = JSON.parse(readFileSync(input, "utf8")) as { results: ChartPoint[] };
  writeFileSync(
    join(import.meta.dir, "load.svg"),
    loadChart(results, "vault serve: mixed 90% pull / 10% push, TLS, audit on"),
  );
  console.log("wrote bench/load.svg");
}
