// Who may see and revoke a connected app: only an active admin of the company, with the
// session's CSRF token. Another company's app is indistinguishable from a missing one (404);
// hostile or malformed requests revoke nothing.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type * as oidc from 'openid-client';
import { AdminSession, DEVELOPER_TOOLS as PAGE, signIn, type SignedIn } from '../helpers/admin.js';
import { UserAgent, connectUser, formField, introspect, rpConfig } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeUser, reloadUser, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { startOAuthWorld } from '../helpers/world.js';
import type { Company } from '../../src/companies/users.js';
import { deactivateUser, reactivateUser, setRole } from '../../src/companies/membership.js';
import { randomSecret } from '../../src/shared/crypto.js';

let server: TestServer;
let gateway: { clientId: string; clientSecret: string };
let A: Company;
let B: Company;
let adminA: TestUser;
let sessionA: SignedIn;
let sessionB: SignedIn;
/** Connected to A and B. */
let shared: TestApp;
/** Connected to B only. */
let foreign: TestApp;
let sharedTokenA: string;
let foreignTokenB: string;

async function connectTo(app: TestApp, user: TestUser): Promise<string> {
  const config: oidc.Configuration = await rpConfig(server, app);
  return (await connectUser(server, config, app, user)).accessToken;
}

async function stillConnected(): Promise<void> {
  expect(await sessionA.connectedAppIds()).toContain(shared.clientId);
  expect(await sessionB.connectedAppIds()).toEqual(expect.arrayContaining([shared.clientId, foreign.clientId]));
  expect((await introspect(server, gateway, sharedTokenA)).body).toMatchObject({ active: true });
  expect((await introspect(server, gateway, foreignTokenB)).body).toMatchObject({ active: true });
}

beforeAll(async () => {
  ({ server, gateway, company: A, user: adminA, app: shared } = await startOAuthWorld({}, {
    companyName: 'Acme', role: 'admin', app: { name: 'Shared Payroll' },
  }));
  B = await makeCompany(server.db, 'Globex');
  const adminB = await makeUser(server.db, B.guid, 'admin');
  foreign = await makeApp(server, { name: 'Globex Secret Integration' });
  sharedTokenA = await connectTo(shared, adminA);
  await connectTo(shared, adminB);
  foreignTokenB = await connectTo(foreign, adminB);
  sessionA = await signIn(server, adminA);
  sessionB = await signIn(server, adminB);
});
afterAll(() => server.close());

describe('tenancy of Connected Apps', () => {
  test('another company’s app answers 404 on GET and DELETE, exactly like an unknown one', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const method of ['GET', 'DELETE']) {
      const theirs = await sessionA.api(method, `/connected-apps/${foreign.clientId}`);
      const nobody = await sessionA.api(method, `/connected-apps/${unknown}`);
      expect(theirs.status).toBe(404);
      expect(theirs.body).toEqual(nobody.body);
      expect(JSON.stringify(theirs.body)).not.toMatch(/Globex/);
    }
    expect(await sessionA.connectedAppIds()).toEqual([shared.clientId]);
    await stillConnected();
  });

  test('another company’s app through the pages (no JavaScript) answers 404 too', async () => {
    const confirm = await sessionA.agent.get(`${server.url}${PAGE}/connected-apps/${foreign.clientId}/revoke`);
    expect(confirm.status).toBe(404);
    expect(await confirm.text()).not.toMatch(/Globex/);
    const post = await sessionA.agent.postForm(`${server.url}${PAGE}/connected-apps/${foreign.clientId}/revoke`, { _csrf: sessionA.csrf });
    expect(post.status).toBe(404);
    await stillConnected();
  });

  test('an employee or a manager gets no Developer Tools session at all (403 at sign-in), and revokes nothing', async () => {
    for (const role of ['employee', 'manager'] as const) {
      const user = await makeUser(server.db, A.guid, role);
      const agent = new UserAgent();
      const login = await agent.get(`${server.url}/login`);
      const posted = await agent.postForm(`${server.url}/login`, { _csrf: formField(await login.text(), '_csrf'), email: user.email, password: user.password });
      expect(posted.status).toBe(403);
      expect(await posted.text()).toContain('Developer Tools are for company admins');
      expect(agent.cookies.has('gl.admin')).toBe(false);
      expect(await server.db.get('SELECT id FROM admin_sessions WHERE user_id = ?', [user.user.id])).toBeUndefined();
      const page = await agent.get(`${server.url}${PAGE}`);
      expect(page.status).toBe(302);
      expect(await page.text()).not.toContain(shared.clientId);
      const api = new AdminSession(server.url, agent, 'x'.repeat(64));
      for (const method of ['GET', 'DELETE']) {
        const res = await api.api(method, `/connected-apps/${shared.clientId}`);
        expect(res.status).toBe(401);
      }
      expect((await api.api('GET', '/connected-apps')).status).toBe(401);
    }
    await stillConnected();
  });

  test('no session gets 401 (API) or the sign-in page (pages)', async () => {
    const anonymous = new AdminSession(server.url, new UserAgent(), sessionA.csrf);
    for (const method of ['GET', 'DELETE']) {
      const res = await anonymous.api(method, `/connected-apps/${shared.clientId}`);
      expect(res.status).toBe(401);
      expect(res.body.error?.code).toBe('unauthenticated');
    }
    expect((await anonymous.api('GET', '/connected-apps')).status).toBe(401);
    const page = await anonymous.agent.get(`${server.url}${PAGE}`);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toMatch(/^\/login\?next=/);
    const post = await anonymous.agent.postForm(`${server.url}${PAGE}/connected-apps/${shared.clientId}/revoke`, { _csrf: sessionA.csrf });
    expect(post.status).toBe(401);

    // A forged session cookie (right shape, no valid signature) and a garbage bearer token.
    const forged = new UserAgent();
    forged.cookies.set('gl.admin', randomSecret(32));
    expect((await new AdminSession(server.url, forged, sessionA.csrf).revoke(shared.clientId)).status).toBe(401);
    const stolen = new UserAgent();
    stolen.cookies.set('gl.admin', sessionA.agent.cookies.get('gl.admin')!); // no gl.admin.sig
    expect((await new AdminSession(server.url, stolen, sessionA.csrf).revoke(shared.clientId)).status).toBe(401);
    const bearer = await fetch(`${server.url}/api/v1/connected-apps/${shared.clientId}`, {
      method: 'DELETE', headers: { authorization: 'Bearer not-a-token', accept: 'application/json' },
    });
    expect(bearer.status).toBe(401);
    await stillConnected();
  });

  test('a missing, empty, wrong or another session’s x-csrf-token gets 403 and revokes nothing', async () => {
    const otherAdmin = await signIn(server, await makeUser(server.db, A.guid, 'admin'));
    expect(otherAdmin.csrf).not.toBe(sessionA.csrf);
    for (const csrf of [null, '', 'x', sessionA.csrf.slice(0, -1), `${sessionA.csrf}0`, randomSecret(32), otherAdmin.csrf, sessionB.csrf]) {
      const res = await sessionA.revoke(shared.clientId, { csrf });
      expect(res.status).toBe(403);
      expect(res.body.error?.code).toBe('csrf_failed');
    }
    // A GET never needs it (safe method), and the right token would have worked (see revoke.test).
    expect((await sessionA.api('GET', `/connected-apps/${shared.clientId}`, undefined, { csrf: null })).status).toBe(200);
    const audit = await sessionA.api('GET', '/audit-events');
    expect((audit.body.data as Array<{ action: string }>).filter((e) => e.action === 'connection.revoked')).toEqual([]);
    await stillConnected();
  });

  test('a malformed client_id answers 404', async () => {
    for (const id of ['not-a-guid', '12345', `${shared.clientId}x`, shared.clientId.replace(/-/g, ''), 'x'.repeat(1000), '%00', '..%2F..%2Fapi-keys', "1'%20OR%20'1'='1"]) {
      for (const method of ['GET', 'DELETE']) {
        const res = await sessionA.api(method, `/connected-apps/${id}`);
        expect(res.status).toBe(404);
        expect(res.body.error?.code).toBe('not_found');
      }
      const page = await sessionA.agent.get(`${server.url}${PAGE}/connected-apps/${id}/revoke`);
      expect(page.status).toBe(404);
    }
    await stillConnected();
  });

  test('the page form POST without _csrf, or with a wrong one, gets 403 and revokes nothing', async () => {
    const url = `${server.url}${PAGE}/connected-apps/${shared.clientId}/revoke`;
    for (const fields of [{}, { _csrf: '' }, { _csrf: randomSecret(32) }, { _csrf: sessionB.csrf }] as Array<Record<string, string>>) {
      const res = await sessionA.agent.postForm(url, fields);
      expect(res.status).toBe(403);
    }
    // The header alone does not stand in for the form field.
    expect((await sessionA.agent.postForm(url, {}, { 'x-csrf-token': sessionA.csrf })).status).toBe(403);
    // The login form is protected too (double-submit cookie).
    const agent = new UserAgent();
    await agent.get(`${server.url}/login`);
    expect((await agent.postForm(`${server.url}/login`, { email: adminA.email, password: adminA.password })).status).toBe(403);
    await stillConnected();
  });

  test('losing the admin role or being deactivated ends access to the next request', async () => {
    const demoted = await makeUser(server.db, A.guid, 'admin');
    const s1 = await signIn(server, demoted);
    await setRole(server.running.services, demoted.user, 'employee');
    // The session itself ended with the role (not just refused): promoted again, it stays ended.
    expect((await s1.revoke(shared.clientId)).status).toBe(401);
    await setRole(server.running.services, await reloadUser(server.db, demoted.user.guid), 'admin');
    expect((await s1.revoke(shared.clientId)).status).toBe(401);
    const gone = await makeUser(server.db, A.guid, 'admin');
    const s2 = await signIn(server, gone);
    await deactivateUser(server.running.services, gone.user);
    expect((await s2.revoke(shared.clientId)).status).toBe(401);
    await reactivateUser(server.running.services, gone.user);
    expect((await s2.revoke(shared.clientId)).status).toBe(401);
    await stillConnected();
  });

  test('hostile audit cursors answer 4xx or a page, never a 500', async () => {
    for (const cursor of ['999999999999999', '2147483648', '0', '-1', 'abc', '1e9']) {
      const res = await sessionA.api('GET', `/audit-events?cursor=${cursor}`);
      expect([200, 400]).toContain(res.status);
    }
    expect((await sessionA.api('GET', '/audit-events?cursor=999999999999999')).status).toBe(200);
  });

  test('with the right CSRF token the same form does revoke (the checks above were real)', async () => {
    const page = await sessionA.agent.get(`${server.url}${PAGE}/connected-apps/${shared.clientId}/revoke`);
    expect(page.status).toBe(200);
    const csrf = formField(await page.text(), '_csrf');
    const res = await sessionA.agent.postForm(`${server.url}${PAGE}/connected-apps/${shared.clientId}/revoke`, { _csrf: csrf });
    expect(res.status).toBe(303);
    expect(await sessionA.connectedAppIds()).toEqual([]);
    expect((await introspect(server, gateway, sharedTokenA)).body).toEqual({ active: false });
    // B keeps both apps.
    expect(await sessionB.connectedAppIds()).toEqual(expect.arrayContaining([shared.clientId, foreign.clientId]));
    expect((await introspect(server, gateway, foreignTokenB)).body).toMatchObject({ active: true });
  });
});
