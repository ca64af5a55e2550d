// Fixed-window rate limiting with counters in the database, so every instance shares them.
import type { Database } from '../db/database.js';
import { sha256 } from './crypto.js';

export class RateLimiter {
  constructor(
    private readonly db: Database,
    private readonly limit: number,
    private readonly windowSeconds: number,
  ) {}

  /** Seconds to wait if `key` already used up its window (×`factor` of the limit), else 0. */
  async retryAfter(key: string, factor = 1): Promise<number> {
    const row = await this.db.get<{ window_start: number; count: number }>(
      'SELECT window_start, count FROM rate_limits WHERE key = ?',
      [sha256(key)],
    );
    if (!row) return 0;
    const windowEnd = row.window_start + this.windowSeconds * 1000;
    if (windowEnd <= Date.now() || row.count < this.limit * factor) return 0;
    return Math.max(1, Math.ceil((windowEnd - Date.now()) / 1000));
  }

  /** Counts one event for `key`. */
  async hit(key: string): Promise<void> {
    const now = Date.now();
    const expired = now - this.windowSeconds * 1000;
    await this.db.run(
      `INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN rate_limits.window_start <= ? THEN 1 ELSE rate_limits.count + 1 END,
         window_start = CASE WHEN rate_limits.window_start <= ? THEN excluded.window_start ELSE rate_limits.window_start END`,
      [sha256(key), now, expired, expired],
    );
  }

  async clear(key: string): Promise<void> {
    await this.db.run('DELETE FROM rate_limits WHERE key = ?', [sha256(key)]);
  }

  /** Deletes windows that ended; returns how many. */
  async deleteExpired(now = Date.now()): Promise<number> {
    return (await this.db.run('DELETE FROM rate_limits WHERE window_start < ?', [now - this.windowSeconds * 1000])).changes;
  }
}

/** Sign-in throttling: failures count per e-mail and per client IP (the IP gets 5× the allowance). */
export class LoginThrottle {
  constructor(readonly limiter: RateLimiter) {}

  async check(email: string, ip: string): Promise<number> {
    return Math.max(await this.limiter.retryAfter(`login:email:${email}`), await this.limiter.retryAfter(`login:ip:${ip}`, 5));
  }

  async failed(email: string, ip: string): Promise<void> {
    await this.limiter.hit(`login:email:${email}`);
    await this.limiter.hit(`login:ip:${ip}`);
  }

  async succeeded(email: string): Promise<void> {
    await this.limiter.clear(`login:email:${email}`);
  }
}
