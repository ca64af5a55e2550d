// Small helpers shared by the benchmark modules: statistics, progress lines, timing. (Ports,
// Basic headers and the OAuth walker are the tests' own: test/helpers/http.ts and oauth.ts.)

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1]!;
}

export function round(value: number, digits = 0): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`;

/** A status line on stderr (the table goes to stdout). */
export function log(message: string): void {
  process.stderr.write(`${stamp()} ${message}\n`);
}

/** Progress of a long step: redrawn in place on a terminal, every ~10% otherwise. */
export function progress(label: string, total: number): { tick(done: number): void; end(extra?: string): void } {
  const tty = process.stderr.isTTY;
  let lastPct = -1;
  const started = Date.now();
  return {
    tick(done: number) {
      const pct = Math.floor((done / total) * 100);
      if (pct === lastPct) return;
      if (!tty && pct - lastPct < 10 && done < total) return;
      lastPct = pct;
      const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
      const line = `${stamp()} ${label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${pct}%, ${Math.round(rate).toLocaleString('en-US')}/s)`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    end(extra = '') {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const line = `${stamp()} ${label}: ${total.toLocaleString('en-US')} done in ${secs}s${extra ? ` ${extra}` : ''}`;
      process.stderr.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}
