// Databases and fixtures for our server: a fresh SQLite file or PostgreSQL database per use,
// companies, an admin, an app, a gateway, an access token (PAT) and a legacy API key, made with
// the same modules the CLI uses. The browser-like client that walks the real login and consent
// pages is the tests' (test/helpers/oauth.ts), so the bench measures the flow the tests check.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import pg from 'pg';
import { createApp, createGateway } from '../../src/clients/clients.js';
import { createCompany, createUser, type Company, type User } from '../../src/companies/users.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { grantAuthorization } from '../../src/ledger/authorizations.js';
import { randomSecret, uuid } from '../../src/shared/crypto.js';
import { createToken } from '../../src/tokens/tokens.js';
import { connect, rpConfig } from '../../test/helpers/oauth.js';

export type Dialect = 'sqlite' | 'postgres';

export interface BenchDatabase {
  dialect: Dialect;
  /** DATABASE_URL for a server process. */
  url: string;
  file?: string;
  /** PostgreSQL database name. */
  name?: string;
  drop(): Promise<void>;
}

/** A fresh, empty database: a SQLite file under `dir`, or a new PostgreSQL database on `pgBase`. */
export async function createBenchDatabase(dialect: Dialect, label: string, dir: string, pgBase: string): Promise<BenchDatabase> {
  const tag = `${label}_${randomSecret(5).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  if (dialect === 'sqlite') {
    const sub = join(dir, tag);
    mkdirSync(sub, { recursive: true });
    const file = join(sub, 'bench.sqlite');
    return { dialect, url: `sqlite:${file}`, file, drop: async () => rmSync(sub, { recursive: true, force: true }) };
  }
  const name = `gl_bench_${tag}`;
  const admin = new pg.Client({ connectionString: pgBase });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(pgBase);
  url.pathname = `/${name}`;
  return {
    dialect, url: url.href, name,
    async drop() {
      const c = new pg.Client({ connectionString: pgBase });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function pgReachable(pgBase: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: pgBase, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** PIDs of the PostgreSQL backends connected to database `name` (their CPU is the database's share of the work). */
export async function pgBackendPids(pgBase: string, name: string): Promise<number[]> {
  const c = new pg.Client({ connectionString: pgBase });
  await c.connect();
  try {
    const { rows } = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
    return rows.map((r) => r.pid);
  } finally {
    await c.end();
  }
}

export async function openMigrated(url: string, poolSize = 10): Promise<Database> {
  const db = await openDatabase({ url, poolSize });
  await db.migrate();
  return db;
}

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';
export const FLOW_SCOPE = 'openid profile email offline_access schedules:read timepunches:read';
export const CC_SCOPE = 'schedules:read';

export interface OursFixture {
  company: Company;
  otherCompany: Company;
  admin: User & { password: string };
  app: { clientId: string; clientSecret: string; redirectUri: string };
  gateway: { clientId: string; clientSecret: string };
  pat: string;
  apiKey: string;
  /** `pool` distinct access tokens and API keys (the first ones are `pat` and `apiKey`). */
  pats: string[];
  apiKeys: string[];
}

/** Companies, an admin, an app (code, refresh, client credentials), a gateway, PATs and API keys. */
export async function seedOurs(db: Database, kek: Buffer, pool = 1): Promise<OursFixture> {
  const company = await createCompany(db, 'Bench Company');
  const otherCompany = await createCompany(db, 'Other Company');
  const password = `pw-${randomSecret(12)}`;
  const admin = await createUser(db, { companyGuid: company.guid, email: 'admin@bench.example', password, role: 'admin', name: 'Bench Admin' });
  const app = await createApp(db, kek, {
    name: 'Bench App', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
  });
  // The admin authorized the app for the company (company_access): client credentials need it.
  await grantAuthorization(db, { user: admin, clientId: app.client_id, granted: ['openid', 'company_access'], companyAccess: [CC_SCOPE] });
  const gateway = await createGateway(db, 'Bench Gateway');
  const pats: string[] = [];
  const apiKeys: string[] = [];
  for (let i = 0; i < pool; i++) {
    pats.push((await createToken(db, admin, { kind: 'access_token', name: `bench PAT ${i}`, scopes: ['schedules:read', 'users:read'], expiresAt: null })).token);
    apiKeys.push((await createToken(db, admin, { kind: 'api_key', name: `bench API key ${i}`, scopes: ['schedules:read'], expiresAt: null })).token);
  }
  return {
    company, otherCompany, admin: { ...admin, password },
    app: { clientId: app.client_id, clientSecret: app.client_secret!, redirectUri: REDIRECT_URI },
    gateway: { clientId: gateway.client_id, clientSecret: gateway.client_secret },
    pat: pats[0]!, apiKey: apiKeys[0]!, pats, apiKeys,
  };
}

/** `count` users of a company inserted directly (no password hashing); returns their GUIDs. */
export async function insertUsers(db: Database, companyId: number, count: number, label: string): Promise<string[]> {
  const guids: string[] = [];
  await db.transaction(async (tx) => {
    for (let i = 0; i < count; i++) {
      const guid = uuid();
      guids.push(guid);
      await tx.run(
        `INSERT INTO users (guid, company_id, email, name, password_hash, role, active, created_at)
         VALUES (?, ?, ?, ?, ?, 'employee', 1, ?)`,
        [guid, companyId, `${label}-${i}@bench.example`, `${label} ${i}`, 'scrypt$1$1$1$x$x', Date.now()],
      );
    }
  });
  return guids;
}

/**
 * `count` distinct OAuth access tokens of the admin for the app: one real code flow (login,
 * consent — which records the company's connection), then refreshes (rotation keeps earlier
 * access tokens valid).
 */
export async function oauthTokenPool(serverUrl: string, fx: OursFixture, count: number): Promise<string[]> {
  const server = { url: serverUrl };
  const config = await rpConfig(server, fx.app);
  const { tokens } = await connect(server, config, fx.app, fx.admin, { scope: FLOW_SCOPE });
  const pool = [tokens.access_token];
  let refresh = tokens.refresh_token!;
  while (pool.length < count) {
    const next = await oidc.refreshTokenGrant(config, refresh);
    pool.push(next.access_token);
    refresh = next.refresh_token!;
  }
  return pool;
}
