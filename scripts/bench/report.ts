// Plain-text tables for the terminal.
export type Cell = string | number | undefined;

export function fmt(value: Cell, digits = 0): string {
  if (value === undefined || (typeof value === 'number' && !Number.isFinite(value))) return '–';
  if (typeof value === 'string') return value;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function table(title: string, head: string[], rows: Cell[][], note?: string): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : fmt(c))));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.every((r) => typeof r[i] === 'number' || r[i] === undefined || /^[-–×≤<>~\d.,% ]+$/.test(String(r[i] ?? ''))));
  const line = (r: string[]) => '  ' + r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const out = [`\n${title}`, line(head), '  ' + widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  if (note) out.push(...note.split('\n').map((l) => `  ${l}`));
  return out.join('\n');
}
