// The authorization model end to end (DESIGN.md, "Authorization model"), as a hostile user
// would try it: nothing issued exceeds what was granted, by whom it may be granted. Each test
// names the hole it closes.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as oidc from 'openid-client';
import { setPassword, setRole, deactivateUser, reactivateUser } from '../../src/companies/membership.js';
import { createToken } from '../../src/tokens/tokens.js';
import { authorize, connect, consentPage as walkToConsent, formField, introspect, rpConfig, tokenRequest } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeGateway, makeUser, reloadUser, startTestServer, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { bearerApi, signIn } from '../helpers/admin.js';

let server: TestServer;
let companyGuid: string;
let admin: TestUser;
let employee: TestUser;
let gateway: { clientId: string; clientSecret: string };

beforeAll(async () => {
  server = await startTestServer();
  const company = await makeCompany(server.db);
  companyGuid = company.guid;
  admin = await makeUser(server.db, companyGuid, 'admin');
  employee = await makeUser(server.db, companyGuid, 'employee');
  gateway = await makeGateway(server);
});
afterAll(() => server.close());

const cc = (app: TestApp, params: Record<string, string> = {}) =>
  tokenRequest(server, app, { grant_type: 'client_credentials', company: companyGuid, ...params });

/** Walks to the consent page and returns its HTML (the agent stays on it). */
const consentPage = async (app: TestApp, user: TestUser, scope: string) =>
  walkToConsent(server, await rpConfig(server, app), app, user, scope);

describe('company-wide access is its own grant, an admin’s to give', () => {
  test('an employee’s consent (openid only, or anything) never gives the app client credentials for the company', async () => {
    const app = await makeApp(server);
    const config = await rpConfig(server, app);
    await connect(server, config, app, employee, { scope: 'openid' });
    for (const scope of [undefined, 'users:write company:write', 'schedules:read']) {
      const res = await cc(app, scope ? { scope } : {});
      expect(res).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    }
    // Asking for company_access as an employee: withheld, said so, and still nothing.
    const page = await consentPage(app, employee, 'openid schedules:read company_access');
    expect(page.html).toContain('Not included');
    expect(page.html).toMatch(/Only an admin of .* can give company-wide access/);
    expect(page.html).not.toContain('id="company-access"');
    const confirmed = await page.agent.postForm(`${server.url}/interaction/${page.uid}/confirm`, { _csrf: formField(page.html, '_csrf') });
    expect(confirmed.status).toBe(303);
    expect((await cc(app)).body.error).toBe('unauthorized_client');
  });

  test('an admin grants it on the consent page, in its own section; client credentials stay within it', async () => {
    const app = await makeApp(server);
    const page = await consentPage(app, admin, 'openid schedules:read timepunches:read company_access');
    expect(page.html).toContain('id="company-access"');
    expect(page.html).toMatch(/Company-wide access for/);
    expect(page.html).toMatch(/without a signed-in user/);
    const confirmed = await page.agent.postForm(`${server.url}/interaction/${page.uid}/confirm`, { _csrf: formField(page.html, '_csrf') });
    expect(confirmed.status).toBe(303);

    // None asked: the granted set.
    const all = await cc(app);
    expect(all.status).toBe(200);
    expect(String(all.body.scope).split(' ').sort()).toEqual(['schedules:read', 'timepunches:read']);
    expect((await introspect(server, gateway, String(all.body.access_token))).body).toMatchObject({
      active: true, scope: 'schedules:read timepunches:read', company_guid: companyGuid, auth_type: 'oauth',
    });
    // A subset: fine. Beyond: invalid_scope, and nothing issued.
    expect((await cc(app, { scope: 'schedules:read' })).body.scope).toBe('schedules:read');
    for (const scope of ['users:write', 'schedules:read users:write', 'company:write']) {
      expect(await cc(app, { scope })).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    }
    // Another company: no grant there.
    const other = await makeCompany(server.db);
    expect((await tokenRequest(server, app, { grant_type: 'client_credentials', company: other.guid })).body.error).toBe('unauthorized_client');
  });

  test('after an admin revokes the app, an employee’s re-consent does not restore company-wide access', async () => {
    const app = await makeApp(server);
    const config = await rpConfig(server, app);
    await authorize(server, config, app, admin, { scope: 'openid schedules:read company_access' });
    expect((await cc(app)).status).toBe(200);
    const session = await signIn(server, admin);
    expect((await session.api('DELETE', `/connected-apps/${app.clientId}`)).status).toBe(200);
    await connect(server, config, app, employee, { scope: 'openid schedules:read company_access' });
    expect((await cc(app)).body.error).toBe('unauthorized_client');
  });
});

describe('role bounds: beyond them, scopes are withheld, with the reason', () => {
  test('an employee cannot grant users:write: the page says so and the tokens do not carry it', async () => {
    const app = await makeApp(server);
    const page = await consentPage(app, employee, 'openid schedules:read users:write');
    expect(page.html).toContain('Not included');
    expect(page.html).toMatch(/Your role at .* \(employee\) cannot give this permission/);
    expect(page.html).toContain('Add, change and deactivate employees');
    // The same flow to its end: the token has schedules:read, never users:write.
    const { tokens } = await connect(server, await rpConfig(server, app), app, employee, { scope: 'openid schedules:read users:write' });
    const seen = await introspect(server, gateway, tokens.access_token);
    expect(seen.body.active).toBe(true);
    expect(String(seen.body.scope).split(' ')).toContain('schedules:read');
    expect(String(seen.body.scope).split(' ')).not.toContain('users:write');
  });

  test('scopes the app is not registered for are withheld; developer_tools:* is no scope of OAuth at all', async () => {
    const app = await makeApp(server, { scopes: ['openid', 'schedules:read'] });
    const page = await consentPage(app, admin, 'openid schedules:read users:read developer_tools:write');
    expect(page.html).toMatch(/is not registered for this permission/);
    // Not a scope oidc-provider offers apps: dropped from the request, never on the page's list of what the app gets.
    expect(page.html).not.toMatch(/Manage Developer Tools/);
    const { tokens } = await connect(server, await rpConfig(server, app), app, admin, { scope: 'openid schedules:read users:read developer_tools:write' });
    expect(String((await introspect(server, gateway, tokens.access_token)).body.scope).split(' ').sort()).toEqual(['openid', 'schedules:read']);
  });
});

describe('tokens cannot escalate', () => {
  test('an access token with only schedules:read can neither create tokens, nor keys, nor revoke apps, nor read the admin API', async () => {
    const narrow = (await createToken(server.db, admin.user, { kind: 'access_token', name: 'narrow', scopes: ['schedules:read'], expiresAt: null })).token;
    const app = await makeApp(server);
    await connect(server, await rpConfig(server, app), app, employee, { scope: 'openid schedules:read' });
    for (const [method, path, body] of [
      ['POST', '/access-tokens', { name: 'escalated' }], ['POST', '/api-keys', { name: 'escalated' }],
      ['DELETE', `/connected-apps/${app.clientId}`, undefined], ['GET', '/access-tokens', undefined], ['GET', '/connected-apps', undefined],
    ] as const) {
      const res = await bearerApi(server, narrow, method, path, body);
      expect({ path, method, status: res.status, code: res.body?.error?.code }).toEqual({ path, method, status: 403, code: 'insufficient_scope' });
      expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope", scope="developer_tools:(read|write)"/);
    }
    const names = (await server.db.all<{ name: string }>("SELECT name FROM access_tokens WHERE name = 'escalated'"));
    expect(names).toEqual([]);
  });

  test('a token creates tokens only within its own scopes and expiry; developer_tools:read can only read', async () => {
    const expiresAt = Date.now() + 10 * 86_400_000;
    const minting = (await createToken(server.db, admin.user, {
      kind: 'access_token', name: 'minting', scopes: ['schedules:read', 'developer_tools:write'], expiresAt,
    })).token;
    const wider = await bearerApi(server, minting, 'POST', '/access-tokens', { name: 'wider', scopes: ['users:write'] });
    expect(wider).toMatchObject({ status: 403, body: { error: { code: 'insufficient_scope' } } });
    const later = await bearerApi(server, minting, 'POST', '/access-tokens', {
      name: 'later', scopes: ['schedules:read'], expires_at: new Date(expiresAt + 86_400_000).toISOString(),
    });
    expect(later).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect(later.body.error?.message).toMatch(/^expires_at: /);
    // No expiry asked: it ends with the minting token. No scopes asked: the V2 scopes it holds.
    const child = await bearerApi(server, minting, 'POST', '/access-tokens', { name: 'child' });
    expect(child.status).toBe(201);
    expect(child.body.scopes).toEqual(['schedules:read']);
    expect(Date.parse(String(child.body.expires_at))).toBe(expiresAt);
    const reader = await bearerApi(server, minting, 'POST', '/access-tokens', { name: 'reader', scopes: ['developer_tools:read'] });
    expect(reader.status).toBe(201);
    expect((await bearerApi(server, String(reader.body.token), 'GET', '/access-tokens')).status).toBe(200);
    expect((await bearerApi(server, String(reader.body.token), 'POST', '/access-tokens', { name: 'x', scopes: ['developer_tools:read'] })).status).toBe(403);
  });

  test('a new access token’s default scopes never include developer_tools:*; API keys can never carry them, nor reach /api/v1', async () => {
    const session = await signIn(server, admin);
    const made = await session.api('POST', '/access-tokens', { name: 'defaults' });
    expect(made.status).toBe(201);
    expect((made.body.scopes as string[]).some((s) => s.startsWith('developer_tools'))).toBe(false);
    expect((await bearerApi(server, String(made.body.token), 'GET', '/access-tokens')).status).toBe(403);
    const key = await session.api('POST', '/api-keys', { name: 'key with admin scopes', scopes: ['developer_tools:write'] });
    expect(key).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    const plainKey = (await createToken(server.db, admin.user, { kind: 'api_key', name: 'k', scopes: ['schedules:read'], expiresAt: null })).token;
    expect((await bearerApi(server, plainKey, 'GET', '/access-tokens')).status).toBe(401);
  });
});

describe('Developer Tools sessions end with the standing that opened them', () => {
  async function liveSession() {
    const person = await makeUser(server.db, companyGuid, 'admin');
    const session = await signIn(server, person);
    expect((await session.api('GET', '/access-tokens')).status).toBe(200);
    return { person, session };
  }

  test('deactivated then reactivated: the old session stays dead', async () => {
    const { person, session } = await liveSession();
    await deactivateUser(server.running.services, person.user);
    await reactivateUser(server.running.services, person.user);
    expect((await session.api('GET', '/access-tokens')).status).toBe(401);
  });

  test('demoted then promoted again: the old session stays dead', async () => {
    const { person, session } = await liveSession();
    await setRole(server.running.services, person.user, 'manager');
    await setRole(server.running.services, await reloadUser(server.db, person.user.guid), 'admin');
    expect((await session.api('GET', '/access-tokens')).status).toBe(401);
  });

  test('a password change ends the session', async () => {
    const { person, session } = await liveSession();
    await setPassword(server.running.services, person.user, 'a-new-password-123');
    expect((await session.api('GET', '/access-tokens')).status).toBe(401);
  });
});

describe('introspection refuses public clients', () => {
  test('a public client introspecting its own token (client_id only) gets 401 — and the same for any token', async () => {
    const app = await makeApp(server, { public: true, grantTypes: ['authorization_code', 'refresh_token'] });
    const { tokens } = await connect(server, await rpConfig(server, app), app, employee, { scope: 'openid schedules:read' });
    for (const token of [tokens.access_token, 'not-a-token']) {
      const res = await fetch(`${server.url}/token/introspection`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: app.clientId }),
      });
      const body = (await res.json()) as Record<string, unknown>;
      expect({ status: res.status, error: body.error }).toEqual({ status: 401, error: 'invalid_client' });
      expect(JSON.stringify(body)).not.toContain(employee.user.guid);
    }
    // A gateway still sees it.
    expect((await introspect(server, gateway, tokens.access_token)).body.active).toBe(true);
  });
});

describe('refresh tokens follow OIDC Core §11', () => {
  test('an OIDC request without offline_access gets no refresh token; with it (prompt=consent) it does; plain OAuth does with the grant type', async () => {
    const app = await makeApp(server);
    const config = await rpConfig(server, app);
    const without = await connect(server, config, app, employee, { scope: 'openid schedules:read' });
    expect(without.tokens.refresh_token).toBeUndefined();
    const withOffline = await connect(server, config, app, employee, { scope: 'openid offline_access schedules:read' });
    expect(withOffline.tokens.refresh_token).toEqual(expect.any(String));
    const plain = await connect(server, config, app, employee, { scope: 'schedules:read' });
    expect(plain.tokens.refresh_token).toEqual(expect.any(String));
    const noRefreshApp = await makeApp(server, { grantTypes: ['authorization_code'] });
    const none = await connect(server, await rpConfig(server, noRefreshApp), noRefreshApp, employee, { scope: 'schedules:read' });
    expect(none.tokens.refresh_token).toBeUndefined();
  });
});

describe('an app’s RFC 7009 revocation ends that chain only', () => {
  test('revoking its refresh token in one browser leaves the other browser’s tokens and the consent alone', async () => {
    const app = await makeApp(server);
    const config = await rpConfig(server, app);
    const first = await connect(server, config, app, employee, { scope: 'openid offline_access schedules:read' });
    const second = await connect(server, config, app, employee, { scope: 'openid offline_access schedules:read' });
    await oidc.tokenRevocation(config, first.tokens.refresh_token!);
    expect((await introspect(server, gateway, first.tokens.access_token)).body).toEqual({ active: false });
    expect((await tokenRequest(server, app, { grant_type: 'refresh_token', refresh_token: first.tokens.refresh_token! })).body.error).toBe('invalid_grant');
    expect((await introspect(server, gateway, second.tokens.access_token)).body.active).toBe(true);
    const refreshed = await tokenRequest(server, app, { grant_type: 'refresh_token', refresh_token: second.tokens.refresh_token! });
    expect(refreshed.status).toBe(200);
    // The consent stays: a new authorization (without offline_access) asks nothing.
    const again = await authorize(server, config, app, employee, { scope: 'openid schedules:read', expectConsent: false });
    expect(again.consentShown).toBe(false);
  });
});

describe('no statement added to introspection', () => {
  test('OAuth access token: 1 statement; client-credentials token: 2; access token: 1 — the consent, company grant and role bound ride on them', async () => {
    const app = await makeApp(server);
    const config = await rpConfig(server, app);
    await authorize(server, config, app, admin, { scope: 'openid schedules:read company_access' });
    const { tokens } = await connect(server, config, app, employee, { scope: 'openid schedules:read' });
    const ccToken = String((await cc(app)).body.access_token);
    const pat = (await createToken(server.db, admin.user, { kind: 'access_token', name: 'counted', scopes: ['schedules:read'], expiresAt: null })).token;
    // Usage counts are written every 15 s in the background: stop that timer (idle() still
    // writes them), so that a flush never lands inside a counted window.
    await server.running.services.lastUsed.usage.close();
    const counted = async (token: string) => {
      // Warm: the gateway's client metadata cached, the token's last use written (once per
      // LAST_USED_INTERVAL, in the background: wait for it).
      await introspect(server, gateway, token);
      await server.running.services.lastUsed.idle();
      // The gateway's secret hashes are read again when their 5-second cache ends (so that a
      // rotation reaches every process): that read can land in one window, not in two in a row.
      // The fewer of two consecutive windows is what each introspection costs.
      const windows: number[] = [];
      for (let i = 0; i < 2; i++) {
        const before = server.db.statements;
        const answer = await introspect(server, gateway, token);
        expect(answer.body.active).toBe(true);
        windows.push(server.db.statements - before);
      }
      return Math.min(...windows);
    };
    expect(await counted(tokens.access_token)).toBe(1);
    expect(await counted(ccToken)).toBe(2);
    expect(await counted(pat)).toBe(1);
  });
});
