// Usage at a glance, on the database: hits are counted in memory and written in batches (one
// upsert per object and day, summed across flushes and processes), read back as the last 7 days
// per token and app of one company — never another company's.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createLogger } from '../../src/shared/logger.js';
import { dayOf, UsageCounter, usageOf, USAGE_DAYS } from '../../src/ledger/usage.js';

let dbh: TestDatabase;
const DAY = 24 * 3600 * 1000;

beforeAll(async () => {
  dbh = await createTestDatabase();
});
afterAll(async () => {
  await dbh?.drop();
});

describe('usage counts', () => {
  test('counted in memory, written in one batch, summed across flushes and counters; per day; per company', async () => {
    const a = new UsageCounter(dbh.db, createLogger('silent'));
    const b = new UsageCounter(dbh.db, createLogger('silent')); // another process
    const now = Date.now();
    const before = dbh.db.statements;
    for (let i = 0; i < 5; i++) a.hit('token', 'tok-1', 'company-a', '10.0.0.1', now);
    a.hit('token', 'tok-1', 'company-a', undefined, now - 2 * DAY);
    a.hit('app', 'client-1', 'company-a', '10.0.0.2', now);
    a.hit('app', 'client-1', 'company-b', '10.9.9.9', now);
    expect(dbh.db.statements).toBe(before); // nothing written on a hit

    // Unwritten counts already show (this process's own).
    expect((await usageOf(dbh.db, a, 'company-a', now)).tokens.get('tok-1')!.total).toBe(6);

    await a.flush();
    b.hit('token', 'tok-1', 'company-a', '10.0.0.3', now + 1);
    await b.close();
    a.hit('token', 'tok-1', 'company-a', undefined, now + 2);
    await a.close();

    const usage = await usageOf(dbh.db, undefined, 'company-a', now + 3);
    const tok = usage.tokens.get('tok-1')!;
    expect(tok.days).toHaveLength(USAGE_DAYS);
    expect(tok.days[USAGE_DAYS - 1]).toBe(7); // today: 5 + 1 (other process) + 1
    expect(tok.days[USAGE_DAYS - 3]).toBe(1); // two days ago
    expect(tok.total).toBe(8);
    expect(tok.ip).toBe('10.0.0.3'); // the last IP seen (a later hit without one keeps it)
    expect(usage.apps.get('client-1')).toEqual({ days: [0, 0, 0, 0, 0, 0, 1], total: 1, ip: '10.0.0.2', at: now });
    // Company B sees its own app use only.
    const other = await usageOf(dbh.db, undefined, 'company-b', now);
    expect(other.tokens.size).toBe(0);
    expect(other.apps.get('client-1')!.total).toBe(1);
    // Kept per day: one row per object and day.
    const rows = await dbh.db.all<{ n: number | string }>("SELECT COUNT(*) AS n FROM usage_days WHERE subject_id = 'tok-1'");
    expect(Number(rows[0]!.n)).toBe(2);
    expect(dayOf(now) - dayOf(now - 2 * DAY)).toBe(2);
  });

  test('days older than the window are not shown', async () => {
    const c = new UsageCounter(dbh.db, createLogger('silent'));
    const now = Date.now();
    c.hit('token', 'old', 'company-c', '10.1.1.1', now - USAGE_DAYS * DAY);
    await c.close();
    expect((await usageOf(dbh.db, undefined, 'company-c', now)).tokens.has('old')).toBe(false);
  });
});
