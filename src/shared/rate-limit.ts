// Fixed-window rate limiting with counters in the database, so every instance shares them.
// An attempt *takes a slot* before it runs: one statement counts and checks at once (an upsert
// that increments only while the window has room, RETURNING the new count), so a parallel burst
// can never get more than `limit` attempts through — there is no check-then-count gap.
import type { Database } from '../db/database.js';
import { sha256 } from './crypto.js';

export class RateLimiter {
  constructor(
    private readonly db: Database,
    readonly limit: number,
    readonly windowSeconds: number,
  ) {}

  /**
   * Takes one of the `limit` slots of `key`'s current window (a window that ended starts again
   * at 1). Returns the count after taking it, or undefined when the window is full (nothing counted).
   */
  async take(key: string, limit = this.limit): Promise<number | undefined> {
    const now = Date.now();
    const expired = now - this.windowSeconds * 1000;
    const { rows } = await this.db.run<{ count: number }>(
      `INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN rate_limits.window_start <= ? THEN 1 ELSE rate_limits.count + 1 END,
         window_start = CASE WHEN rate_limits.window_start <= ? THEN excluded.window_start ELSE rate_limits.window_start END
       WHERE rate_limits.window_start <= ? OR rate_limits.count < ?
       RETURNING count`,
      [sha256(key), now, expired, expired, expired, limit],
    );
    return rows[0] ? Number(rows[0].count) : undefined;
  }

  /** Gives back a slot taken by an attempt that turned out not to count (e.g. a success). */
  async release(key: string): Promise<void> {
    await this.db.run('UPDATE rate_limits SET count = count - 1 WHERE key = ? AND count > 0', [sha256(key)]);
  }

  /** Seconds until `key`'s window ends (at least 1). */
  async retryAfter(key: string): Promise<number> {
    const row = await this.db.get<{ window_start: number }>('SELECT window_start FROM rate_limits WHERE key = ?', [sha256(key)]);
    const windowEnd = (row ? Number(row.window_start) : Date.now()) + this.windowSeconds * 1000;
    return Math.max(1, Math.ceil((windowEnd - Date.now()) / 1000));
  }

  /** How many slots of `key`'s current window are taken (tests, audit). */
  async used(key: string): Promise<number> {
    const row = await this.db.get<{ window_start: number; count: number }>('SELECT window_start, count FROM rate_limits WHERE key = ?', [sha256(key)]);
    if (!row || Number(row.window_start) <= Date.now() - this.windowSeconds * 1000) return 0;
    return Number(row.count);
  }

  async clear(key: string): Promise<void> {
    await this.db.run('DELETE FROM rate_limits WHERE key = ?', [sha256(key)]);
  }

  /** Deletes windows that ended; returns how many. */
  async deleteExpired(now = Date.now()): Promise<number> {
    return (await this.db.run('DELETE FROM rate_limits WHERE window_start < ?', [now - this.windowSeconds * 1000])).changes;
  }
}

/** What a throttle answers for one attempt: go ahead (with the count), or wait this many seconds. */
export type Attempt = { allowed: true; count: number } | { allowed: false; retryAfter: number };

/**
 * Sign-in throttling: failures count per e-mail × client IP (`limit`) and per client IP across
 * e-mails (5 × `limit`). A lock is always tied to an IP: someone failing from one address never
 * locks the person out from another.
 */
export class LoginThrottle {
  constructor(readonly limiter: RateLimiter) {}

  static emailKey = (email: string, ip: string) => `login:email-ip:${email}\u0000${ip}`;
  static ipKey = (ip: string) => `login:ip:${ip}`;

  /** Takes a slot for this attempt (count = failures of this e-mail × IP including it). */
  async attempt(email: string, ip: string): Promise<Attempt> {
    const emailKey = LoginThrottle.emailKey(email, ip);
    const count = await this.limiter.take(emailKey);
    if (count === undefined) return { allowed: false, retryAfter: await this.limiter.retryAfter(emailKey) };
    if ((await this.limiter.take(LoginThrottle.ipKey(ip), this.limiter.limit * 5)) === undefined) {
      await this.limiter.release(emailKey);
      return { allowed: false, retryAfter: await this.limiter.retryAfter(LoginThrottle.ipKey(ip)) };
    }
    return { allowed: true, count };
  }

  /** The attempt signed in: it does not count, and this e-mail × IP starts afresh. */
  async succeeded(email: string, ip: string): Promise<void> {
    await this.limiter.clear(LoginThrottle.emailKey(email, ip));
    await this.limiter.release(LoginThrottle.ipKey(ip));
  }
}
