// Usage at a glance: requests per day of each access token, API key and connected app, and the
// last IP address that used it — counted in memory on the hot path (introspection, the admin API
// by bearer token, userinfo and refresh) and written in batches, one upsert per object and day,
// every FLUSH_MS and when the server stops. Introspection itself never waits for a statement.
// Kept per day in `usage_days`; the Developer Tools page shows the last 7 days.
import type { Database, Executor } from '../db/database.js';
import type { Logger } from '../shared/logger.js';

export type UsageSubject = 'token' | 'app';

const DAY_MS = 24 * 3600 * 1000;
const FLUSH_MS = 15_000;
/** Days the page shows (today included). */
export const USAGE_DAYS = 7;

export const dayOf = (ms: number) => Math.floor(ms / DAY_MS);

interface Pending { subject: UsageSubject; id: string; company: string; day: number; requests: number; ip: string | null; at: number }

export interface Usage {
  /** Requests per day, oldest first, USAGE_DAYS of them (today last). */
  days: number[];
  total: number;
  ip: string | null;
}

export class UsageCounter {
  #pending = new Map<string, Pending>();
  #flushing: Promise<void> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly db: Database, private readonly logger: Logger) {
    this.#timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.#timer.unref();
  }

  hit(subject: UsageSubject, id: string, company: string, ip?: string, now = Date.now()): void {
    const day = dayOf(now);
    const key = `${subject}|${company}|${id}|${day}`;
    const p = this.#pending.get(key);
    if (p) {
      p.requests++;
      if (ip) p.ip = ip;
      p.at = now;
      return;
    }
    if (this.#pending.size >= 50_000) return; // a flood of distinct objects: drop rather than grow
    this.#pending.set(key, { subject, id, company, day, requests: 1, ip: ip ?? null, at: now });
  }

  /** Counts not yet written, of one company (the page adds them to what is stored). */
  pendingOf(company: string): Pending[] {
    return [...this.#pending.values()].filter((p) => p.company === company);
  }

  /** Writes what was counted, in one transaction; later calls wait for an earlier one. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.size === 0) return;
      const batch = [...this.#pending.values()];
      this.#pending = new Map();
      try {
        await this.db.transaction(async (tx) => {
          for (const p of batch) await upsert(tx, p);
        });
      } catch (err) {
        this.logger.warn('usage not recorded', { err, rows: batch.length });
      }
    });
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

async function upsert(tx: Executor, p: Pending): Promise<void> {
  await tx.run(
    `INSERT INTO usage_days (subject_type, subject_id, company_guid, day, requests, last_ip, last_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (company_guid, subject_type, subject_id, day) DO UPDATE SET
       requests = usage_days.requests + excluded.requests,
       last_ip = COALESCE(excluded.last_ip, usage_days.last_ip),
       last_at = excluded.last_at`,
    [p.subject, p.id, p.company, p.day, p.requests, p.ip, p.at],
  );
}

/** The last USAGE_DAYS days of every token and app of a company: stored, plus this process's unwritten counts. */
export async function usageOf(db: Executor, counter: UsageCounter | undefined, company: string, now = Date.now()): Promise<{ tokens: Map<string, Usage>; apps: Map<string, Usage> }> {
  const today = dayOf(now);
  const first = today - USAGE_DAYS + 1;
  const rows = await db.all<{ subject_type: UsageSubject; subject_id: string; day: number; requests: number; last_ip: string | null; last_at: number }>(
    'SELECT subject_type, subject_id, day, requests, last_ip, last_at FROM usage_days WHERE company_guid = ? AND day >= ?',
    [company, first],
  );
  const all = [
    ...rows.map((r) => ({ subject: r.subject_type, id: r.subject_id, day: Number(r.day), requests: Number(r.requests), ip: r.last_ip, at: Number(r.last_at) })),
    ...(counter?.pendingOf(company) ?? []).filter((p) => p.day >= first),
  ];
  const out = { tokens: new Map<string, Usage & { at: number }>(), apps: new Map<string, Usage & { at: number }>() };
  for (const r of all) {
    const map = r.subject === 'token' ? out.tokens : out.apps;
    let u = map.get(r.id);
    if (!u) map.set(r.id, (u = { days: Array<number>(USAGE_DAYS).fill(0), total: 0, ip: null, at: 0 }));
    u.days[r.day - first]! += r.requests;
    u.total += r.requests;
    if (r.ip && r.at >= u.at) {
      u.ip = r.ip;
      u.at = r.at;
    }
  }
  return out;
}
