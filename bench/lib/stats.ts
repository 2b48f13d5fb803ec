// Small statistics and table helpers shared by the benchmarks. Tables are printed as markdown so
// they can be pasted into BENCHMARKS.md as measured.

export function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** Linear-interpolated quantile, q in [0, 1]; NaN for an empty list. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);
export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
export const max = (xs: readonly number[]): number => xs.reduce((a, b) => Math.max(a, b), -Infinity);
export const min = (xs: readonly number[]): number => xs.reduce((a, b) => Math.min(a, b), Infinity);

/** A number with thousands separators and a fixed number of decimals. */
export function fmt(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "median (min–max, n=k)": the form every table in BENCHMARKS.md uses. */
export function spread(xs: readonly number[], digits = 0): string {
  if (xs.length === 0) return 'n/a';
  if (xs.length === 1) return `${fmt(xs[0]!, digits)} (n=1)`;
  return `${fmt(median(xs), digits)} (${fmt(min(xs), digits)}–${fmt(max(xs), digits)}, n=${xs.length})`;
}

/** Renders and prints a markdown table; returns the text. */
export function table(title: string, headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const text = [
    `### ${title}`,
    '',
    line(headers),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    '',
  ].join('\n');
  console.log(text);
  return text;
}

export function yesNo(ok: boolean): string {
  return ok ? '**met**' : '**not met**';
}
