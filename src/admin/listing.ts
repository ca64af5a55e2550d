// Search, sort and paging of a Developer Tools section, from the page's query string, so it works
// without JavaScript and a section of 1,000 rows renders 20. Each section has its own
// parameters (`<prefix>q`, `<prefix>sort`, `<prefix>page`); the tools appear when a section holds
// more than PAGE_SIZE rows (or a search is active).
export const PAGE_SIZE = 20;

export interface SortOption<T> {
  value: string;
  label: string;
  compare: (a: T, b: T) => number;
}

export interface Listing<T> {
  prefix: string;
  rows: T[];
  /** Rows of the section before the search. */
  total: number;
  /** Rows matching the search. */
  matched: number;
  q: string;
  sort: string;
  sorts: Array<{ value: string; label: string }>;
  page: number;
  pages: number;
  /** Show search, sort and paging. */
  tools: boolean;
  /** The query string of another page of this listing. */
  href: (page: number) => string;
}

// One collator: localeCompare with options builds one per call (slow for 1,000 rows).
const collator = new Intl.Collator('en', { sensitivity: 'base', numeric: true });
const byText = (a: string, b: string) => collator.compare(a, b);
/** Newest first; missing dates (never) last. */
export const newestFirst = (a: number | null, b: number | null) => (b ?? -Infinity) - (a ?? -Infinity);
export const byName = <T>(name: (t: T) => string) => (a: T, b: T) => byText(name(a), name(b));

export function listing<T>(
  all: T[], query: Record<string, unknown>, prefix: string, anchor: string,
  opts: { text: (t: T) => string; sorts: Array<SortOption<T>> },
): Listing<T> {
  const param = (name: string) => {
    const v = query[`${prefix}${name}`];
    return typeof v === 'string' ? v : '';
  };
  const q = param('q').trim().slice(0, 200);
  const sortOption = opts.sorts.find((s) => s.value === param('sort')) ?? opts.sorts[0]!;
  const needle = q.toLocaleLowerCase('en');
  const matching = needle ? all.filter((t) => opts.text(t).toLocaleLowerCase('en').includes(needle)) : all;
  const sorted = [...matching].sort(sortOption.compare);
  const pages = Math.max(1, Math.ceil(sorted.length / PAGE_SIZE));
  const page = Math.min(pages, Math.max(1, Number.parseInt(param('page'), 10) || 1));
  const href = (p: number) => {
    const s = new URLSearchParams();
    if (q) s.set(`${prefix}q`, q);
    if (sortOption !== opts.sorts[0]) s.set(`${prefix}sort`, sortOption.value);
    if (p > 1) s.set(`${prefix}page`, String(p));
    const text = s.toString();
    return `${text ? `?${text}` : '?'}#${anchor}`;
  };
  return {
    prefix, rows: sorted.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE), total: all.length, matched: sorted.length,
    q, sort: sortOption.value, sorts: opts.sorts.map(({ value, label }) => ({ value, label })), page, pages,
    tools: all.length > PAGE_SIZE || q !== '', href,
  };
}
