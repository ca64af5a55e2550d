// A database as the previous version of grantledger left it — the schema before the
// authorization migration (Core, Ledger, Admin, Tokens) — and the writes that version made:
// clients registered without a scope list, one connection per company × app whose `connected_by`
// is whoever consented last and whose scopes are the union of every consent, a Grant per
// user × app, and client-credentials tokens bound to a company by `extra.company_guid` only
// (any scope: the old server checked the connection, not a company grant). Token rows go through
// the store's own row format (payload-store.ts upsertPayload), so they cannot drift from what
// the adapter writes. For test/authz/upgrade.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdapterPayload } from 'oidc-provider';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { CLIENT_SECRET_PREFIX } from '../../src/clients/clients.js';
import type { Company, User } from '../../src/companies/users.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrations } from '../../src/db/migrations/index.js';
import { deleteSessionsOf, revokeGrants, upsertPayload } from '../../src/oidc/payload-store.js';
import { normaliseScopes, splitScopes } from '../../src/oidc/scopes.js';
import { randomSecret, sha256, uuid } from '../../src/shared/crypto.js';
import { usingPostgres, type TestDatabase } from '../helpers/db.js';

/** The migrations the previous version shipped. */
export const BEFORE = migrations.slice(0, 4);

/** A TypeORM DataSource on the test database (as src/db/migrate.ts builds one), with `list` as its migrations. */
export function migrationDataSource(t: Pick<TestDatabase, 'url' | 'schema' | 'file'>, list = migrations): DataSource {
  return new DataSource(t.file
    ? { type: 'better-sqlite3', database: t.file, timeout: 5000, migrations: list, migrationsTableName: 'migrations' }
    : {
      type: 'postgres', url: t.url, schema: t.schema, poolSize: 1, migrations: list, migrationsTableName: 'migrations',
      extra: { options: `-c search_path=${t.schema}` },
    });
}

export interface PreAuthorizationDatabase extends TestDatabase {
  /** Opens the database again (after `db.close()`), as the next version's process would; it becomes `db`. */
  open(): Promise<Database>;
  /** `db.close()`, then open(). */
  reopen(): Promise<Database>;
}

/** A fresh SQLite file or PostgreSQL schema (test/helpers/db.ts's way) at the schema before the authorization migration. */
export async function createPreAuthorizationDatabase(): Promise<PreAuthorizationDatabase> {
  let location: { url: string; schema?: string; file?: string };
  let removeStorage: () => Promise<void>;
  if (usingPostgres) {
    const base = process.env.DATABASE_URL!;
    const schema = `gl_test_${randomSecret(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    location = { url: base, schema };
    removeStorage = async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'grantledger-upgrade-'));
    location = { url: `sqlite:${join(dir, 'test.sqlite')}`, file: join(dir, 'test.sqlite') };
    removeStorage = async () => rmSync(dir, { recursive: true, force: true });
  }
  const source = migrationDataSource(location, BEFORE);
  await source.initialize();
  try {
    await source.runMigrations({ transaction: 'each' });
  } finally {
    await source.destroy();
  }
  const open = () => openDatabase({ url: location.url, schema: location.schema, poolSize: 10 });
  const t: PreAuthorizationDatabase = {
    ...location,
    db: await open(),
    async open() {
      t.db = await open();
      return t.db;
    },
    async reopen() {
      await t.db.close();
      return t.open();
    },
    async drop() {
      await t.db.close();
      await removeStorage();
    },
  };
  return t;
}

export interface OldApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  name: string;
}

export interface OldAuthorization {
  grantId: string;
  accessToken: string;
  refreshToken: string;
}

const H = 3600;
const now = () => Math.floor(Date.now() / 1000);

/** The previous version's writes, on a database at its schema. */
export class PreviousVersion {
  constructor(readonly db: Database) {}

  /** `grantledger client create` before scopes were registered: no grantledger_scopes in the metadata. */
  async registerApp(name: string, grantTypes: string[]): Promise<OldApp> {
    const clientId = uuid();
    const clientSecret = CLIENT_SECRET_PREFIX + randomSecret(32);
    const redirectUri = 'http://127.0.0.1:9/callback';
    const metadata = {
      client_name: name, redirect_uris: [redirectUri], grant_types: grantTypes,
      response_types: grantTypes.includes('authorization_code') ? ['code'] : [], token_endpoint_auth_method: 'client_secret_basic',
    };
    await this.db.run(
      `INSERT INTO clients (client_id, kind, name, metadata, secret_hash, webhook_url, webhook_secret, created_at)
       VALUES (?, 'app', ?, ?, ?, NULL, NULL, ?)`,
      [clientId, name, JSON.stringify(metadata), sha256(clientSecret), Date.now()],
    );
    return { clientId, clientSecret, redirectUri, name };
  }

  /**
   * A person allows an app on the old consent page: their Grant (one per user × app), the
   * connection (created, or its scopes widened and `connected_by`/`connected_at` set to this
   * person), then the code redeemed into an access token and a refresh token of the grant.
   */
  async consent(user: User, app: OldApp, scope: string): Promise<OldAuthorization> {
    const grantId = randomSecret(32);
    const iat = now();
    await upsertPayload(this.db, 'Grant', grantId, {
      iat, exp: iat + 365 * 24 * H, accountId: user.guid, clientId: app.clientId, kind: 'Grant', openid: { scope },
    } as AdapterPayload, 365 * 24 * H);
    await this.#recordConsent(user.company, user.id, app.clientId, splitScopes(scope));
    const sessionUid = randomSecret(16);
    const accessToken = randomSecret(32);
    await upsertPayload(this.db, 'AccessToken', accessToken, {
      iat, exp: iat + H, accountId: user.guid, expiresWithSession: false, grantId, gty: 'authorization_code',
      sessionUid, kind: 'AccessToken', clientId: app.clientId, scope, extra: { company_guid: user.company.guid },
    } as AdapterPayload, H);
    const refreshToken = randomSecret(32);
    await upsertPayload(this.db, 'RefreshToken', refreshToken, {
      iat, exp: iat + 30 * 24 * H, accountId: user.guid, authTime: iat, expiresWithSession: false, grantId,
      gty: 'authorization_code', rotations: 0, scope, sessionUid, kind: 'RefreshToken', clientId: app.clientId, iiat: iat,
    } as AdapterPayload, 30 * 24 * H);
    return { grantId, accessToken, refreshToken };
  }

  /** A client-credentials token for a connected company, with any scope (`expiresIn` < 0: already expired). */
  async clientCredentials(app: OldApp, companyGuid: string, scope: string, expiresIn = H): Promise<string> {
    const token = randomSecret(32);
    const iat = now();
    await upsertPayload(this.db, 'ClientCredentials', token, {
      iat, exp: iat + expiresIn, scope, kind: 'ClientCredentials', clientId: app.clientId, extra: { company_guid: companyGuid },
    } as AdapterPayload, expiresIn);
    return token;
  }

  /** The old deactivation: the user's grants revoked, their sessions ended; their connections stay. */
  async deactivate(user: User): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run('UPDATE users SET active = 0 WHERE id = ?', [user.id]);
      await revokeGrants(tx, { accountId: user.guid }, Date.now());
      await deleteSessionsOf(tx, user.guid);
    });
  }

  /** src/ledger/connections.ts recordConsent of the previous version. */
  async #recordConsent(company: Company, userId: number, clientId: string, scopes: string[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      const at = Date.now();
      const live = await tx.get<{ id: number; scopes: string }>(
        'SELECT id, scopes FROM connections WHERE company_id = ? AND client_id = ? AND revoked_at IS NULL', [company.id, clientId],
      );
      if (live) {
        await tx.run('UPDATE connections SET scopes = ?, connected_by = ?, connected_at = ? WHERE id = ?', [
          normaliseScopes([...live.scopes.split(' '), ...scopes]).join(' '), userId, at, live.id,
        ]);
      } else {
        await tx.run(
          'INSERT INTO connections (company_id, client_id, scopes, connected_at, connected_by) VALUES (?, ?, ?, ?, ?)',
          [company.id, clientId, normaliseScopes(scopes).join(' '), at, userId],
        );
      }
    });
  }
}
