// The bench's picture: CPU per request, one group of horizontal bars per
// scenario, one bar per measured server, on a log scale (the figures span
// tens of microseconds to milliseconds). Plain SVG: any browser shows it.
import { writeFileSync } from 'node:fs';

export interface ChartGroup {
  label: string;
  bars: { series: string; micros: number | null }[];
}

const COLORS = ['#2b6cb0', '#90cdf4', '#718096', '#c05621', '#38a169'];
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function writeChart(file: string, title: string, groups: ChartGroup[]): void {
  const series = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const values = groups.flatMap((g) => g.bars.map((b) => b.micros ?? 0)).filter((v) => v > 0);
  const [lo, hi] = [10, Math.max(100, ...values) * 1.5];
  const [left, width, bar, gap] = [170, 560, 16, 18];
  const x = (v: number) => ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * width;
  let y = 60;
  const parts: string[] = [];
  for (const group of groups) {
    parts.push(`<text x="8" y="${y + 12}" font-weight="bold">${escape(group.label)}</text>`);
    for (const b of group.bars) {
      const color = COLORS[series.indexOf(b.series) % COLORS.length];
      const label = b.micros === null ? 'not measured' : `${b.micros.toLocaleString('en-US')} µs`;
      const w = b.micros === null ? 0 : Math.max(1, x(b.micros));
      parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${color}"/>`);
      parts.push(`<text x="${left + w + 6}" y="${y + 12}">${escape(label)}</text>`);
      y += bar + 4;
    }
    y += gap;
  }
  const ticks = [10, 100, 1_000, 10_000, 100_000]
    .filter((t) => t <= hi)
    .map(
      (t) =>
        `<line x1="${left + x(t)}" y1="40" x2="${left + x(t)}" y2="${y - gap}" stroke="#e2e8f0"/><text x="${left + x(t)}" y="34" text-anchor="middle">${t.toLocaleString('en-US')}</text>`,
    );
  const legend = series.map(
    (s, i) =>
      `<rect x="${8 + i * 190}" y="${y + 4}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${26 + i * 190}" y="${y + 14}">${escape(s)}</text>`,
  );
  const height = y + 30;
  writeFileSync(
    file,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 120}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="18" font-size="14" font-weight="bold">${escape(title)}</text>
${ticks.join('\n')}
${parts.join('\n')}
${legend.join('\n')}
</svg>
`,
  );
}
