// Helpers every page template gets (renderPage adds them): dates as `<time datetime>` with a
// relative text ("3 minutes ago") and the exact instant in the tooltip — the page script rewrites
// the tooltip in the browser's own time zone and keeps the relative text fresh — and "Never" for
// a missing date, written the same way everywhere.
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 24 * 3600], ['month', 30 * 24 * 3600], ['week', 7 * 24 * 3600], ['day', 24 * 3600], ['hour', 3600], ['minute', 60],
];
const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "3 minutes ago", "in 2 months", "just now" (the same rule as views/assets/developer-tools.js). */
export function relativeTime(ms: number, now = Date.now()): string {
  const seconds = Math.round((ms - now) / 1000);
  if (Math.abs(seconds) < 45) return 'just now';
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size * (unit === 'minute' ? 0.75 : 1)) return rtf.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

/** `<time>` for an instant, or "Never". */
export function when(ms: number | null | undefined, never = 'Never'): string {
  if (!ms) return `<span class="never">${escapeHtml(never)}</span>`;
  const iso = new Date(ms).toISOString();
  const utc = `${iso.slice(0, 16).replace('T', ' ')} UTC`;
  return `<time datetime="${iso}" title="${utc}" data-relative>${relativeTime(ms)}</time>`;
}

export const viewHelpers = { when, relativeTime };
