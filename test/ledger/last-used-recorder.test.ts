// LastUsedRecorder on a real database with a clock the test drives: one write per key and
// interval, the next one once the interval has passed, connections of one company × app told
// apart by generation, revoked connections never touched, idle() waiting for every write, and a
// failing write logged, never thrown. SQLite, or PostgreSQL with DATABASE_URL=postgres://….
import { afterAll, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { createApp } from '../../src/clients/clients.js';
import type { Company } from '../../src/companies/users.js';
import { LastUsedRecorder } from '../../src/ledger/last-used.js';
import { loadSecretKey } from '../../src/oidc/keys.js';
import { randomSecret } from '../../src/shared/crypto.js';
import { createLogger } from '../../src/shared/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { makeCompany, makeUser } from '../helpers/server.js';

const INTERVAL = 60_000;
let database: TestDatabase;
let company: Company;
let userId: number;
const kek = loadSecretKey(randomSecret(32), '');

beforeAll(async () => {
  database = await createTestDatabase();
  company = await makeCompany(database.db);
  userId = (await makeUser(database.db, company.guid, 'admin')).user.id;
});
afterAll(() => database.drop());

// Each test has its own app, connection, clock and recorder (any order, `--randomize`).
let clientId: string;
let connectionId: number;
let clock: number;
let recorder: LastUsedRecorder;

beforeEach(async () => {
  clientId = (await createApp(database.db, kek, { name: 'Recorder app', redirectUris: ['http://127.0.0.1:9/cb'], grantTypes: ['authorization_code'] })).client_id;
  const { rows } = await database.db.run<{ id: number }>(
    'INSERT INTO connections (company_id, client_id, scopes, connected_at, connected_by) VALUES (?, ?, ?, ?, ?) RETURNING id',
    [company.id, clientId, 'openid', 1, userId],
  );
  connectionId = rows[0]!.id;
  clock = 1_000_000;
  recorder = new LastUsedRecorder(database.db, INTERVAL, createLogger('silent'), () => clock);
});

async function lastUsedAt(): Promise<number | null> {
  const row = await database.db.get<{ last_used_at: number | null }>('SELECT last_used_at FROM connections WHERE id = ?', [connectionId]);
  return row!.last_used_at;
}

test('one write per interval, the next one once it has passed', async () => {
  recorder.connection(company.guid, clientId, 'g1');
  await recorder.idle();
  expect(await lastUsedAt()).toBe(1_000_000);

  clock += INTERVAL - 1;
  recorder.connection(company.guid, clientId, 'g1');
  await recorder.idle();
  expect(await lastUsedAt()).toBe(1_000_000);

  clock += 1;
  recorder.connection(company.guid, clientId, 'g1');
  await recorder.idle();
  expect(await lastUsedAt()).toBe(1_000_000 + INTERVAL);
});

test('another generation of the same company × app is written at once', async () => {
  recorder.connection(company.guid, clientId, 'g1');
  await recorder.idle();
  const before = await lastUsedAt();
  clock += 1;
  recorder.connection(company.guid, clientId, 'g1');
  await recorder.idle();
  expect(await lastUsedAt()).toBe(before);
  recorder.connection(company.guid, clientId, 'g2');
  await recorder.idle();
  expect(await lastUsedAt()).toBe(clock);
});

test('a revoked connection is never touched', async () => {
  await database.db.run('UPDATE connections SET revoked_at = ? WHERE id = ?', [clock, connectionId]);
  recorder.connection(company.guid, clientId, 'g3');
  await recorder.idle();
  expect(await lastUsedAt()).toBeNull();
});

test('idle() waits for writes issued while it waits; a failing write is logged, not thrown', async () => {
  const lines: string[] = [];
  const logger = createLogger('warn', {}, { write: (line: string) => void lines.push(line) });
  const broken = new LastUsedRecorder({ ...database.db, run: () => Promise.reject(new Error('disk full')) } as never, INTERVAL, logger, () => clock);
  broken.accessToken('t1');
  await broken.idle();
  expect(lines.join('\n')).toMatch(/last_used_at not recorded/);
  clock += 1;
  recorder.connection(company.guid, clientId, 'g4');
  const waited = recorder.idle();
  recorder.connection(company.guid, clientId, 'g5');
  await waited;
  expect(await lastUsedAt()).toBe(clock);
});
