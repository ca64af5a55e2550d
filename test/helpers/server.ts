// A real grantledger server on a real port and a fresh database, plus fixtures made through
// the same modules the CLI uses.
import { createApp, createGateway, type NewApp } from '../../src/clients/clients.js';
import { loadSettings, type Settings, type SettingsOverrides } from '../../src/config.js';
import { createCompany, createUser, type Role, type User } from '../../src/companies/users.js';
import { findUserByGuid } from '../../src/companies/users.js';
import { randomSecret } from '../../src/shared/crypto.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';
import { startServer, type PrepareOptions, type RunningServer } from '../../src/server.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { freePort, type ClientCredentials } from './http.js';

export interface TestServer {
  url: string;
  settings: Settings;
  running: RunningServer;
  database: TestDatabase;
  db: TestDatabase['db'];
  close(): Promise<void>;
}

export async function testSettings(port: number, overrides: SettingsOverrides = {}): Promise<Settings> {
  return loadSettings({
    ...overrides,
    server: { port, host: '127.0.0.1', issuer: `http://127.0.0.1:${port}`, ...overrides.server },
    secrets: { secretKey: randomSecret(32), ...overrides.secrets },
    logLevel: overrides.logLevel ?? (process.env.TEST_LOG_LEVEL as Settings['logLevel'] | undefined) ?? 'silent',
  }, { ...process.env, NODE_ENV: 'test' });
}

/** `logger`: where the server logs (e.g. a memory destination a test reads), instead of nowhere. */
export async function startTestServer(
  overrides: SettingsOverrides = {}, database?: TestDatabase,
  opts: { logger?: Logger; onBootstrap?: PrepareOptions['onBootstrap']; beforeProvider?: PrepareOptions['beforeProvider'] } = {},
): Promise<TestServer> {
  const ownDatabase = !database;
  const dbh = database ?? (await createTestDatabase());
  // A free port is free when asked, not when bound: another test process may take it in between
  // (EADDRINUSE) — then take another.
  let settings: Settings;
  let running: RunningServer;
  for (let attempt = 1; ; attempt++) {
    settings = await testSettings(await freePort(), overrides);
    try {
      running = await startServer(settings, { db: dbh.db, logger: opts.logger ?? createLogger(settings.logLevel), onBootstrap: opts.onBootstrap, beforeProvider: opts.beforeProvider });
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt >= 5) throw err;
    }
  }
  return {
    url: running.url, settings, running, database: dbh, db: dbh.db,
    async close() {
      await running.close();
      if (ownDatabase) await dbh.drop();
    },
  };
}

export interface TestUser {
  user: User;
  email: string;
  password: string;
}

let seq = 0;
export async function makeCompany(db: TestDatabase['db'], name = `Company ${++seq}`) {
  return createCompany(db, name);
}

export async function makeUser(db: TestDatabase['db'], companyGuid: string, role: Role = 'admin'): Promise<TestUser> {
  const email = `user${++seq}-${randomSecret(3).toLowerCase()}@example.com`;
  const password = `pw-${randomSecret(9)}`;
  const user = await createUser(db, { companyGuid, email, password, role });
  return { user, email, password };
}

export async function reloadUser(db: TestDatabase['db'], guid: string): Promise<User> {
  return (await findUserByGuid(db, guid))!;
}

export interface TestApp {
  clientId: string;
  clientSecret: string;
  webhookSecret?: string;
  redirectUri: string;
}

export async function makeApp(server: TestServer, overrides: Partial<NewApp> = {}): Promise<TestApp> {
  const redirectUri = overrides.redirectUris?.[0] ?? 'http://127.0.0.1:9/callback';
  const created = await createApp(server.db, server.running.services.kek, {
    name: `App ${++seq}`,
    redirectUris: [redirectUri],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    ...overrides,
  });
  return {
    clientId: created.client_id, clientSecret: created.client_secret ?? '', webhookSecret: created.webhook_secret, redirectUri,
  };
}

export async function makeGateway(server: TestServer): Promise<ClientCredentials> {
  const g = await createGateway(server.db, `Gateway ${++seq}`);
  return { clientId: g.client_id, clientSecret: g.client_secret };
}
