// Upgrading a database the previous version wrote (before consents and company grants existed)
// to the authorization model: existing connections, grants and tokens keep working — as far as
// the new rules allow, and no further (src/db/migrations/1764288400000-authorization.ts, its
// header comment). The data is written as the previous version wrote it (before-authorization.ts),
// the pending migration runs, and a real server answers over HTTP: introspection as a gateway,
// refresh, the authorization flow, client credentials, the Connected Apps API. Then the
// migration's down() on a second such database: the schema goes back to what it was, and up
// runs again.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createGateway } from '../../src/clients/clients.js';
import { createCompany, type Company } from '../../src/companies/users.js';
import type { Database } from '../../src/db/database.js';
import { MIGRATION_NAMES } from '../../src/db/migrations/names.js';
import { signIn } from '../helpers/admin.js';
import type { ClientCredentials } from '../helpers/http.js';
import { authorize, introspect, refresh, rpConfig, tokenRequest, userinfo } from '../helpers/oauth.js';
import { makeUser, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import {
  BEFORE, PreviousVersion, createPreAuthorizationDatabase, migrationDataSource,
  type OldApp, type OldAuthorization, type PreAuthorizationDatabase,
} from './before-authorization.js';

const AUTHORIZATION = 'Authorization1764288400000';
/** The authorization migration and every one after it: what an older database has pending. */
const PENDING = MIGRATION_NAMES.slice(MIGRATION_NAMES.indexOf(AUTHORIZATION));

/** What the previous version left: companies, people, apps, and the raw token values a gateway introspects. */
interface OldWorld {
  acme: Company;
  globex: Company;
  admin: TestUser;
  formerAdmin: TestUser;
  manager: TestUser;
  employee: TestUser;
  gateway: ClientCredentials;
  apps: Record<'viewer' | 'hr' | 'orgChart' | 'payroll' | 'clock' | 'calendar' | 'roster', OldApp>;
  /** (a) employee × Shift Viewer, within the employee bound. */
  a: OldAuthorization;
  /** (b) employee × HR Sync with users:write, beyond it; and the manager's within-bound one of the same app. */
  b: OldAuthorization;
  bManager: OldAuthorization;
  /** The employee's users:write authorization of Org Chart, the only one of that app. */
  orgChart: OldAuthorization;
  /** (c) PayrollPro (client credentials): an employee consented first, the admin last. */
  cAdmin: OldAuthorization;
  cEmployee: OldAuthorization;
  cc: { payroll: string; payrollExpired: string; payrollGlobex: string; clock: string; roster: string };
  /** (d) Time Clock (client credentials), connected by the employee. */
  d: OldAuthorization;
  /** (e) Team Calendar (no client credentials), connected by the admin. */
  e: OldAuthorization;
  /** Roster Sync (client credentials): the manager, then an admin since deactivated. */
  rosterManager: OldAuthorization;
}

const AC = ['authorization_code', 'refresh_token'];
const AC_CC = [...AC, 'client_credentials'];

async function writeOldData(db: Database): Promise<OldWorld> {
  const v = new PreviousVersion(db);
  const acme = await createCompany(db, 'Acme Logistics');
  const globex = await createCompany(db, 'Globex');
  const admin = await makeUser(db, acme.guid, 'admin');
  const formerAdmin = await makeUser(db, acme.guid, 'admin');
  const manager = await makeUser(db, acme.guid, 'manager');
  const employee = await makeUser(db, acme.guid, 'employee');
  const globexEmployee = await makeUser(db, globex.guid, 'employee');
  const g = await createGateway(db, 'V2 API gateway');
  const apps = {
    viewer: await v.registerApp('Shift Viewer', AC),
    hr: await v.registerApp('HR Sync', AC),
    orgChart: await v.registerApp('Org Chart', AC),
    payroll: await v.registerApp('PayrollPro', AC_CC),
    clock: await v.registerApp('Time Clock', AC_CC),
    calendar: await v.registerApp('Team Calendar', AC),
    roster: await v.registerApp('Roster Sync', AC_CC),
  };
  const a = await v.consent(employee.user, apps.viewer, 'openid profile email offline_access schedules:read');
  const b = await v.consent(employee.user, apps.hr, 'openid offline_access users:write');
  const bManager = await v.consent(manager.user, apps.hr, 'openid offline_access users:read schedules:write');
  const orgChart = await v.consent(employee.user, apps.orgChart, 'openid users:write');
  const cEmployee = await v.consent(employee.user, apps.payroll, 'openid locations:read');
  const cAdmin = await v.consent(admin.user, apps.payroll, 'openid offline_access timepunches:read');
  await v.consent(globexEmployee.user, apps.payroll, 'openid schedules:read');
  const d = await v.consent(employee.user, apps.clock, 'openid timepunches:write');
  const e = await v.consent(admin.user, apps.calendar, 'openid schedules:read');
  const rosterManager = await v.consent(manager.user, apps.roster, 'openid schedules:read');
  await v.consent(formerAdmin.user, apps.roster, 'openid users:read');
  const cc = {
    payroll: await v.clientCredentials(apps.payroll, acme.guid, 'schedules:read'),
    // Expired: its scope is no part of what the company grant is made of.
    payrollExpired: await v.clientCredentials(apps.payroll, acme.guid, 'users:write', -60),
    payrollGlobex: await v.clientCredentials(apps.payroll, globex.guid, 'schedules:read'),
    clock: await v.clientCredentials(apps.clock, acme.guid, 'timepunches:read'),
    roster: await v.clientCredentials(apps.roster, acme.guid, 'users:read'),
  };
  await v.deactivate(formerAdmin.user);
  return {
    acme, globex, admin, formerAdmin, manager, employee, gateway: { clientId: g.client_id, clientSecret: g.client_secret },
    apps, a, b, bManager, orgChart, cAdmin, cEmployee, cc, d, e, rosterManager,
  };
}

const sorted = (scope: unknown) => String(scope).split(' ').sort();

describe('an existing database upgraded to the authorization model, then served', () => {
  let t: PreAuthorizationDatabase;
  let w: OldWorld;
  let applied: string[];
  let server: TestServer;

  beforeAll(async () => {
    t = await createPreAuthorizationDatabase();
    w = await writeOldData(t.db);
    // The new version's process: opens the database and applies what is pending.
    applied = await (await t.reopen()).migrate();
    server = await startTestServer({}, t);
  });
  afterAll(async () => {
    await server?.close();
    await t?.drop();
  });

  const seen = (token: string) => introspect(server, w.gateway, token);
  const cc = (app: OldApp, company: Company, scope?: string) =>
    tokenRequest(server, app, { grant_type: 'client_credentials', company: company.guid, ...(scope ? { scope } : {}) });

  test('only the authorization migration was pending', () => {
    expect(applied).toEqual(PENDING);
  });

  test('(a) an employee’s grant within the role’s bound survives: its access token, its refresh token, and the consent is remembered', async () => {
    expect((await seen(w.a.accessToken)).body).toMatchObject({
      active: true, client_id: w.apps.viewer.clientId, sub: w.employee.user.guid, company_guid: w.acme.guid,
      scope: 'openid profile email offline_access schedules:read', auth_type: 'oauth',
    });
    expect(await userinfo(server, w.a.accessToken)).toBe(200);

    const refreshed = await refresh(server, w.apps.viewer, w.a.refreshToken);
    expect(refreshed.status).toBe(200);
    expect(typeof refreshed.body.refresh_token).toBe('string');
    expect((await seen(String(refreshed.body.access_token))).body).toMatchObject({ active: true, sub: w.employee.user.guid });

    // A new authorization of the same scopes in a new browser: sign-in, but no consent page.
    const again = await authorize(server, await rpConfig(server, w.apps.viewer), w.apps.viewer, w.employee, {
      scope: 'openid profile email offline_access schedules:read', expectConsent: false,
    });
    expect({ login: again.loginShown, consent: again.consentShown }).toEqual({ login: true, consent: false });
  });

  test('(b) an employee’s grant beyond the role’s bound (users:write) is revoked; the manager’s grant of the same app survives', async () => {
    expect((await seen(w.b.accessToken)).body).toStrictEqual({ active: false });
    expect(await refresh(server, w.apps.hr, w.b.refreshToken)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await seen(w.orgChart.accessToken)).body).toStrictEqual({ active: false });

    expect((await seen(w.bManager.accessToken)).body).toMatchObject({ active: true, scope: 'openid offline_access users:read schedules:write' });
    expect((await refresh(server, w.apps.hr, w.bManager.refreshToken)).status).toBe(200);

    // Nothing is remembered for the employee: they are asked again, and users:write is not theirs to give.
    await expect(authorize(server, await rpConfig(server, w.apps.hr), w.apps.hr, w.employee, { scope: 'openid users:write', expectConsent: false }))
      .rejects.toThrow('consent page shown again');
  });

  test('(c) a client-credentials app last authorized by an admin gets company-wide access: its tokens’ scopes and the admin’s', async () => {
    expect((await seen(w.cc.payroll)).body).toMatchObject({
      active: true, client_id: w.apps.payroll.clientId, company_guid: w.acme.guid, scope: 'schedules:read', auth_type: 'oauth',
    });
    // No scope asked: the grant's — the live token's and what the admin consented to.
    const all = await cc(w.apps.payroll, w.acme);
    expect(all.status).toBe(200);
    expect(sorted(all.body.scope)).toEqual(['schedules:read', 'timepunches:read']);
    expect((await seen(String(all.body.access_token))).body).toMatchObject({ active: true, company_guid: w.acme.guid });
    expect((await cc(w.apps.payroll, w.acme, 'timepunches:read schedules:read')).body.scope).toBe('schedules:read timepunches:read');
    // Neither an expired token's scope, nor the employee's consent to the same app (locations:read),
    // nor anything nobody consented to becomes company-wide access.
    for (const scope of ['users:write', 'locations:read', 'timepunches:read users:read']) {
      expect(await cc(w.apps.payroll, w.acme, scope)).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    }
    // The people’s own authorizations of the app keep working.
    expect((await seen(w.cAdmin.accessToken)).body).toMatchObject({ active: true, sub: w.admin.user.guid });
    expect((await seen(w.cEmployee.accessToken)).body).toMatchObject({ active: true, sub: w.employee.user.guid });
    // Another company connected the same app through an employee: no company-wide access there.
    expect((await seen(w.cc.payrollGlobex)).body).toStrictEqual({ active: false });
    expect((await cc(w.apps.payroll, w.globex)).body.error).toBe('unauthorized_client');
  });

  test('(d) a client-credentials app connected by an employee gets no company-wide access: its client-credentials token stops working', async () => {
    expect((await seen(w.cc.clock)).body).toStrictEqual({ active: false });
    for (const scope of [undefined, 'timepunches:read']) {
      expect(await cc(w.apps.clock, w.acme, scope)).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    }
    expect((await seen(w.d.accessToken)).body).toMatchObject({ active: true, sub: w.employee.user.guid, scope: 'openid timepunches:write' });
  });

  test('(e) an app without the client_credentials grant type, connected by an admin: no company-wide access, the admin’s grant works', async () => {
    expect((await seen(w.e.accessToken)).body).toMatchObject({ active: true, sub: w.admin.user.guid });
    // oidc-provider's answer for a grant type the client is not registered for.
    expect(await cc(w.apps.calendar, w.acme)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  test('a client-credentials app last authorized by an admin since deactivated: no company-wide access', async () => {
    expect((await seen(w.cc.roster)).body).toStrictEqual({ active: false });
    expect((await cc(w.apps.roster, w.acme)).body.error).toBe('unauthorized_client');
    expect((await seen(w.rosterManager.accessToken)).body).toMatchObject({ active: true, sub: w.manager.user.guid });
  });

  test('Connected Apps shows the company grant where one was made, and counts the people whose authorization survived', async () => {
    const session = await signIn(server, w.admin);
    const res = await session.api('GET', '/connected-apps');
    expect(res.status).toBe(200);
    const byId = new Map(res.body.data!.map((c) => [c.client_id as string, c]));
    const row = (app: OldApp) => {
      const c = byId.get(app.clientId);
      return c && { company_access: c.company_access, users: c.users };
    };
    expect(row(w.apps.payroll)).toEqual({
      company_access: {
        scopes: ['schedules:read', 'timepunches:read'],
        granted_at: expect.any(String),
        granted_by: { id: w.admin.user.guid, name: w.admin.user.name, email: w.admin.email, still_admin: true },
      },
      users: 2,
    });
    expect(row(w.apps.viewer)).toEqual({ company_access: null, users: 1 });
    expect(row(w.apps.hr)).toEqual({ company_access: null, users: 1 });
    expect(row(w.apps.clock)).toEqual({ company_access: null, users: 1 });
    expect(row(w.apps.calendar)).toEqual({ company_access: null, users: 1 });
    expect(row(w.apps.roster)).toEqual({ company_access: null, users: 1 });

    const detail = await session.api('GET', `/connected-apps/${w.apps.payroll.clientId}`);
    expect(detail.status).toBe(200);
    const authorizations = (detail.body.authorizations as Array<{ user_guid: string; scopes: string[] }>)
      .map((x) => ({ user_guid: x.user_guid, scopes: x.scopes }))
      .sort((x, y) => x.user_guid.localeCompare(y.user_guid));
    expect(authorizations).toEqual([
      { user_guid: w.admin.user.guid, scopes: ['openid', 'offline_access', 'timepunches:read'] },
      { user_guid: w.employee.user.guid, scopes: ['openid', 'locations:read'] },
    ].sort((x, y) => x.user_guid.localeCompare(y.user_guid)));
  });

  test('a connection nothing holds after the upgrade ends; the others list only what is still granted', async () => {
    const session = await signIn(server, w.admin);
    const listed = (await session.api('GET', '/connected-apps')).body.data!;
    expect(listed.map((c) => c.client_id)).not.toContain(w.apps.orgChart.clientId);
    expect(listed.find((c) => c.client_id === w.apps.hr.clientId)?.scopes).toEqual(['openid', 'offline_access', 'users:read', 'schedules:write']);
  });
});

/** Tables, columns, indexes and foreign keys of the database, as comparable lines. */
async function schemaOf(db: Database, schema: string | undefined): Promise<string[]> {
  if (db.dialect === 'sqlite') {
    const rows = await db.all<{ type: string; name: string; sql: string | null }>(
      "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    );
    // TypeORM rebuilds a SQLite table to add or drop columns and then spells out the default
    // referential actions; the same foreign key either way.
    const normalise = (sql: string) => sql.replace(/\s+/g, ' ').replaceAll(' ON DELETE NO ACTION ON UPDATE NO ACTION', '');
    return rows.map((r) => `${r.type} ${r.name}: ${normalise(r.sql ?? '')}`);
  }
  const columns = await db.all<Record<string, string>>(
    `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
     WHERE table_schema = ? ORDER BY table_name, column_name`, [schema!]);
  const indexes = await db.all<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE schemaname = ? ORDER BY indexname', [schema!]);
  const constraints = await db.all<Record<string, string>>(
    `SELECT tc.table_name, tc.constraint_type, kcu.column_name FROM information_schema.table_constraints tc
     JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
     WHERE tc.table_schema = ? ORDER BY tc.table_name, tc.constraint_type, kcu.column_name`, [schema!]);
  return [
    ...columns.map((c) => `column ${Object.values(c).join(' ')}`),
    ...indexes.map((i) => `index ${i.indexdef}`),
    ...constraints.map((c) => `constraint ${Object.values(c).join(' ')}`),
  ];
}

/** What the data migration derived: consents and company grants. */
async function derived(db: Database) {
  const consents = await db.all<{ user_id: number; client_id: string; scopes: string }>(
    'SELECT user_id, client_id, scopes FROM consents ORDER BY user_id, client_id');
  const grants = await db.all<{ client_id: string; company_access_scopes: string | null; company_access_granted_by: number | null }>(
    'SELECT client_id, company_access_scopes, company_access_granted_by FROM connections ORDER BY id');
  return { consents, grants };
}

describe('the authorization migration’s down()', () => {
  let t: PreAuthorizationDatabase;
  afterAll(() => t?.drop());

  test('reverts to the schema before it, and up() runs again on the same data', async () => {
    t = await createPreAuthorizationDatabase();
    const w = await writeOldData(t.db);
    const before = await schemaOf(t.db, t.schema);
    expect(await (await t.reopen()).migrate()).toEqual(PENDING);
    // Rebuilding connections (SQLite) kept its indexes, the partial unique one included.
    const indexes = (lines: string[]) => lines.filter((l) => l.startsWith('index'));
    expect(indexes(await schemaOf(t.db, t.schema))).toEqual(expect.arrayContaining(indexes(before)));
    expect(indexes(before).some((l) => /uq_connections_live.*WHERE/i.test(l))).toBe(true);
    const first = await derived(t.db);
    expect(first.consents.length).toBeGreaterThan(0);
    expect(first.grants.filter((g) => g.company_access_scopes !== null)).toEqual([
      { client_id: w.apps.payroll.clientId, company_access_scopes: 'schedules:read timepunches:read', company_access_granted_by: w.admin.user.id },
    ]);
    await t.db.close();

    const source = migrationDataSource(t);
    await source.initialize();
    try {
      // The migrations after it first, then the authorization migration itself.
      for (let i = 0; i < PENDING.length; i++) await source.undoLastMigration({ transaction: 'each' });
      const q = source.createQueryRunner();
      try {
        expect(await q.hasTable('consents')).toBe(false);
        for (const column of ['company_access_scopes', 'company_access_granted_by', 'company_access_granted_at']) {
          expect(await q.hasColumn('connections', column)).toBe(false);
        }
      } finally {
        await q.release();
      }
    } finally {
      await source.destroy();
    }

    await t.open();
    expect(await schemaOf(t.db, t.schema)).toEqual(before);
    expect((await t.db.all<{ name: string }>('SELECT name FROM migrations ORDER BY id')).map((r) => r.name))
      .toEqual(BEFORE.map((M) => new M().name));
    // The old data is still there (down drops only what up added).
    expect(await t.db.get('SELECT COUNT(*) AS n FROM connections')).toEqual({ n: 8 });

    expect(await (await t.reopen()).migrate()).toEqual(PENDING);
    expect(await derived(t.db)).toEqual(first);
    expect(await t.db.migrate()).toEqual([]);
  });
});
