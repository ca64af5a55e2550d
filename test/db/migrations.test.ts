// Migrations: the list the server checks without TypeORM matches the migration classes, a new
// database gets every migration once, and a second run applies nothing.
import { expect, test } from '@jest/globals';
import { migrations } from '../../src/db/migrations/index.js';
import { MIGRATION_NAMES } from '../../src/db/migrations/names.js';
import { createTestDatabase } from '../helpers/db.js';

test('MIGRATION_NAMES lists every migration class, in order', () => {
  expect(migrations.map((M) => new M().name)).toEqual([...MIGRATION_NAMES]);
  expect(migrations.map((M) => M.name)).toEqual([...MIGRATION_NAMES]);
});

test('migrations apply once; an up-to-date database applies nothing', async () => {
  const t = await createTestDatabase(); // already migrated by the helper
  try {
    expect(await t.db.migrate()).toEqual([]);
    const applied = await t.db.all<{ name: string }>('SELECT name FROM migrations ORDER BY id');
    expect(applied.map((r) => r.name)).toEqual([...MIGRATION_NAMES]);
    for (const table of ['companies', 'users', 'clients', 'oidc_payloads', 'keys', 'connections', 'grant_purges', 'audit_events', 'webhook_deliveries', 'admin_sessions', 'rate_limits', 'access_tokens']) {
      expect(await t.db.get(`SELECT COUNT(*) AS n FROM ${table}`)).toEqual({ n: 0 });
    }
  } finally {
    await t.drop();
  }
});
