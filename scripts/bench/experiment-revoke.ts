// Where a 100,000-token revoke on SQLite spends its time (experiment behind the proposals in the
// benchmark report; the suite itself is run.ts). Two repetitions of one variant per run:
//   npx tsx scripts/bench/experiment-revoke.ts <variant>
//   base          revokeConnection as it is
//   cache64       the same with PRAGMA cache_size = -65536 (64 MiB) on the write connection
//   cache256      … 256 MiB
//   cache64nosync 64 MiB and wal_autocheckpoint = 10000
//   noReturning   the delete without RETURNING (counts by a GROUP BY first), in raw SQL
//   grantsOnly    only the grants and the client-credentials tokens in the transaction (what makes
//                 revocation effective), then the tokens of those grants purged afterwards
import type BetterSqlite3 from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/clients/clients.js';
import { createCompany, createUser } from '../../src/companies/users.js';
import { recordConsent } from '../../src/ledger/connections.js';
import { revokeConnection } from '../../src/ledger/revoke-connection.js';
import { randomSecret } from '../../src/shared/crypto.js';
import { bulkInsert } from './bulk.js';
import { createBenchDatabase, insertUsers, openMigrated } from './fixtures.js';

const N = 100_000;
const tmp = mkdtempSync(join(tmpdir(), 'gl-rx-'));
async function setup() {
  const bench = await createBenchDatabase('sqlite', 'rx', tmp, '');
  const db = await openMigrated(bench.url);
  const kek = Buffer.from(randomSecret(32), 'base64url');
  const a = await createCompany(db, 'A');
  const b = await createCompany(db, 'B');
  const adminA = await createUser(db, { companyGuid: a.guid, email: 'a@x.example', password: 'x'.repeat(12), role: 'admin' });
  const usersA = [adminA.guid, ...(await insertUsers(db, a.id, 199, 'a'))];
  const usersB = await insertUsers(db, b.id, 50, 'b');
  const x = (await createApp(db, kek, { name: 'X', redirectUris: ['https://x.example/cb'], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] })).client_id;
  const y = (await createApp(db, kek, { name: 'Y', redirectUris: ['https://y.example/cb'], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] })).client_id;
  await recordConsent(db, { companyId: a.id, userId: adminA.id, clientId: x, scopes: ['openid'] });
  await bulkInsert(bench.url, [
    { count: N, accounts: usersA, clientId: x, companyGuid: a.guid },
    { count: N / 10, accounts: usersB, clientId: x, companyGuid: b.guid },
    { count: N / 10, accounts: usersA, clientId: y, companyGuid: a.guid },
  ], 'insert');
  const writer = (db.dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database }).databaseConnection;
  return { bench, db, writer, adminA, x, a };
}
const variant = process.argv[2] ?? 'base';
for (let rep = 0; rep < 2; rep++) {
  const s = await setup();
  if (variant === 'cache64') s.writer.pragma('cache_size = -65536');
  if (variant === 'cache256') s.writer.pragma('cache_size = -262144');
  if (variant === 'cache64nosync') { s.writer.pragma('cache_size = -65536'); s.writer.pragma('wal_autocheckpoint = 10000'); }
  let ms: number;
  if (variant === 'grantsOnly') {
    // What revocation needs for immediate effect: the grants and the CC tokens (tokens die with their grant).
    const t = performance.now();
    s.writer.exec('BEGIN IMMEDIATE');
    const grants = s.writer.prepare(`DELETE FROM oidc_payloads WHERE model = 'Grant' AND client_id = ? AND account_id IN (SELECT guid FROM users WHERE company_id = ?) RETURNING grant_id`).all(s.x, s.a.id);
    s.writer.prepare(`DELETE FROM oidc_payloads WHERE client_id = ? AND company_guid = ? AND model = 'ClientCredentials'`).run(s.x, s.a.guid);
    s.writer.exec('COMMIT');
    ms = performance.now() - t;
    const t2 = performance.now();
    const del = s.writer.prepare('DELETE FROM oidc_payloads WHERE grant_id = ?');
    let n = 0;
    for (const g of grants as Array<{ grant_id: string }>) n += del.run(g.grant_id).changes;
    console.log(`  (background deletion of ${n} token rows, one grant per statement: ${(performance.now() - t2).toFixed(0)} ms)`);
  } else if (variant === 'noReturning') {
    const t = performance.now();
    s.writer.exec('BEGIN IMMEDIATE');
    const sub = `SELECT grant_id FROM oidc_payloads WHERE model = 'Grant' AND client_id = ? AND account_id IN (SELECT guid FROM users WHERE company_id = ?)`;
    s.writer.prepare(`SELECT model, COUNT(*) AS n FROM oidc_payloads WHERE grant_id IN (${sub}) GROUP BY model`).all(s.x, s.a.id);
    s.writer.prepare(`DELETE FROM oidc_payloads WHERE grant_id IN (${sub})`).run(s.x, s.a.id);
    s.writer.exec('COMMIT');
    ms = performance.now() - t;
  } else {
    const t = performance.now();
    await revokeConnection(s.db, s.adminA, s.x);
    ms = performance.now() - t;
  }
  console.log(`${variant} rep ${rep}: ${ms.toFixed(0)} ms`);
  await s.db.close();
  await s.bench.drop();
}
process.exit(0);
