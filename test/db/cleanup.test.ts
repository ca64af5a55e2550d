// What a server does about leftovers: at start-up it purges the tokens of grants a previous
// process revoked but did not purge (a crash between the revoking commit and its purge), and
// cleanupExpired deletes expired payloads, expired Developer Tools sessions and queued purges,
// leaving everything live alone. SQLite, or PostgreSQL with DATABASE_URL=postgres://….
import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { cleanupExpired } from '../../src/cleanup.js';
import { revokeGrants } from '../../src/oidc/payload-store.js';
import { sha256 } from '../../src/shared/crypto.js';
import { RateLimiter } from '../../src/shared/rate-limit.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { makeCompany, makeUser, startTestServer } from '../helpers/server.js';

let t: TestDatabase;
beforeEach(async () => {
  t = await createTestDatabase();
});
afterEach(() => t.drop());

const HOUR = 3_600_000;

async function payload(model: string, id: string, grantId: string | null, expiresAt: number | null, account = 'acct'): Promise<void> {
  await t.db.run(
    `INSERT INTO oidc_payloads (model, id, payload, grant_id, account_id, client_id, expires_at) VALUES (?, ?, '{}', ?, ?, 'app', ?)`,
    [model, sha256(id), grantId, account, expiresAt],
  );
}

const count = async (sql: string, params: Array<string | number> = []) => Number((await t.db.get<{ n: number }>(sql, params))!.n);

test('a server purges at start-up what a previous process revoked and left queued', async () => {
  const now = Date.now();
  await payload('Grant', 'g-crashed', 'g-crashed', now + HOUR, 'crashed');
  for (let i = 0; i < 5; i++) await payload(i % 2 ? 'RefreshToken' : 'AccessToken', `crashed-${i}`, 'g-crashed', now + HOUR, 'crashed');
  await payload('Grant', 'g-live', 'g-live', now + HOUR);
  await payload('AccessToken', 'live-0', 'g-live', now + HOUR);
  // The revoking transaction committed (grant deleted, purge queued); its process died before purging.
  await t.db.transaction((tx) => revokeGrants(tx, { accountId: 'crashed' }, now));
  expect(await count('SELECT COUNT(*) AS n FROM grant_purges')).toBeGreaterThan(0);
  expect(await count("SELECT COUNT(*) AS n FROM oidc_payloads WHERE grant_id = 'g-crashed'")).toBe(5);

  const server = await startTestServer({}, t);
  try {
    await server.running.workers.purger.idle();
    expect(await count("SELECT COUNT(*) AS n FROM oidc_payloads WHERE grant_id = 'g-crashed'")).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM grant_purges')).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM oidc_payloads WHERE grant_id = 'g-live'")).toBe(2);
  } finally {
    await server.running.close();
  }
});

test('cleanupExpired deletes what has expired and nothing live', async () => {
  const now = Date.now();
  await payload('AccessToken', 'expired', null, now - 1);
  await payload('Session', 'expired-session', null, now - 1000);
  await payload('AccessToken', 'live', null, now + HOUR);
  await payload('Grant', 'no-expiry', 'no-expiry', null);
  const company = await makeCompany(t.db);
  const admin = await makeUser(t.db, company.guid, 'admin');
  await t.db.run('INSERT INTO admin_sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)', [sha256('old'), admin.user.id, now - 2 * HOUR, now - 1]);
  await t.db.run('INSERT INTO admin_sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)', [sha256('new'), admin.user.id, now, now + HOUR]);

  const deleted = await cleanupExpired(t.db, new RateLimiter(t.db, 10, 900), now);
  expect(deleted).toBe(3);
  const left = (await t.db.all<{ id: string }>('SELECT id FROM oidc_payloads ORDER BY id')).map((r) => r.id);
  expect(left.sort()).toEqual([sha256('live'), sha256('no-expiry')].sort());
  expect((await t.db.all<{ id: string }>('SELECT id FROM admin_sessions')).map((r) => r.id)).toEqual([sha256('new')]);
  // Nothing left to do: a second run deletes nothing.
  expect(await cleanupExpired(t.db, new RateLimiter(t.db, 10, 900), now)).toBe(0);
});
