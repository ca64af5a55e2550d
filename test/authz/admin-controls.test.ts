// What a company admin controls (DESIGN.md, "Who ends what"): narrowing or removing an app's
// company-wide access, ending one person's authorization, and what role changes end — through
// the admin API and the page, with the audit trail and the `authorization.revoked` webhook.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { deactivateUser, setRole } from '../../src/companies/membership.js';
import { signIn, type SignedIn } from '../helpers/admin.js';
import { authorize, connect, connectUser, introspect, rpConfig, tokenRequest } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeGateway, makeUser, startTestServer, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

let server: TestServer;
let companyGuid: string;
let admin: TestUser;
let session: SignedIn;
let gateway: { clientId: string; clientSecret: string };
let receiver: Server;
let receiverUrl: string;
const arrivals: Array<{ client: string; body: Record<string, unknown> }> = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => { raw += c.toString(); });
    req.on('end', () => {
      arrivals.push({ client: String(req.url).slice(1), body: JSON.parse(raw) as Record<string, unknown> });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  server = await startTestServer({ webhooks: { pollInterval: 0.2 } });
  const company = await makeCompany(server.db);
  companyGuid = company.guid;
  admin = await makeUser(server.db, companyGuid, 'admin');
  session = await signIn(server, admin);
  gateway = await makeGateway(server);
});
afterAll(async () => {
  await server.close();
  await new Promise((r) => receiver.close(r));
});

const cc = (app: TestApp, scope?: string) =>
  tokenRequest(server, app, { grant_type: 'client_credentials', company: companyGuid, ...(scope ? { scope } : {}) });
const active = async (token: string) => (await introspect(server, gateway, token)).body.active === true;
const auditOf = async (clientId: string) =>
  ((await session.api('GET', '/audit-events?limit=100')).body.data ?? []).filter((e) => e.target_id === clientId);

/** An app with a webhook, company-wide access (schedules:read users:read) and one employee's authorization. */
async function setUp(name: string) {
  const app = await makeApp(server, { name, webhookUrl: `${receiverUrl}/${name}` });
  const config = await rpConfig(server, app);
  await authorize(server, config, app, admin, { scope: 'openid schedules:read users:read company_access' });
  const employee = await makeUser(server.db, companyGuid, 'employee');
  const mine = await connectUser(server, config, app, employee, { scope: 'openid offline_access schedules:read' });
  return { app, config, employee, mine };
}

describe('company-wide access: list, narrow, remove', () => {
  test('the list and the detail show it, who granted it, and how many people authorized the app', async () => {
    const { app, employee } = await setUp('listed');
    const list = await session.api('GET', '/connected-apps');
    const row = list.body.data!.find((c) => c.client_id === app.clientId)!;
    expect(row).toMatchObject({
      company_access: { scopes: ['users:read', 'schedules:read'], granted_by: { id: admin.user.guid, email: admin.email, still_admin: true } },
      users: 2,
    });
    const detail = await session.api('GET', `/connected-apps/${app.clientId}`);
    expect(detail.status).toBe(200);
    const people = (detail.body.authorizations as Array<Record<string, unknown>>).map((a) => [a.user_guid, a.scopes]);
    expect(people).toEqual(expect.arrayContaining([
      [employee.user.guid, ['openid', 'offline_access', 'schedules:read']],
      [admin.user.guid, ['openid', 'users:read', 'schedules:read']],
    ]));
  });

  test('narrowing: tokens outside the new scopes die at once, tokens inside live; widening or a foreign scope is refused', async () => {
    const { app } = await setUp('narrowed');
    const wide = String((await cc(app)).body.access_token);
    const narrow = String((await cc(app, 'schedules:read')).body.access_token);
    const patched = await session.api('PATCH', `/connected-apps/${app.clientId}`, { company_access: { scopes: ['schedules:read'] } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ client_id: app.clientId, company_access: { scopes: ['schedules:read'] }, connection_ended: false, revoked: { client_credentials_tokens: 1 } });
    expect(await active(wide)).toBe(false);
    expect(await active(narrow)).toBe(true);
    expect((await cc(app, 'users:read')).body.error).toBe('invalid_scope');
    expect((await cc(app)).body.scope).toBe('schedules:read');

    for (const body of [{ company_access: { scopes: ['schedules:read', 'users:write'] } }, { company_access: { scopes: [] } }, { company_access: { scopes: ['root'] } }, { company_access: 'all' }, {}]) {
      const res = await session.api('PATCH', `/connected-apps/${app.clientId}`, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
    expect((await session.api('GET', `/connected-apps/${app.clientId}`)).body.company_access).toMatchObject({ scopes: ['schedules:read'] });
    const events = await auditOf(app.clientId);
    expect(events.find((e) => e.action === 'company_access.narrowed')).toMatchObject({
      actor: admin.email, details: { previous_scopes: ['users:read', 'schedules:read'], scopes: ['schedules:read'] },
    });
  });

  test('removing it ends every client-credentials token; the people’s authorizations and the connection stay', async () => {
    const { app, mine } = await setUp('removed');
    const token = String((await cc(app)).body.access_token);
    const res = await session.api('PATCH', `/connected-apps/${app.clientId}`, { company_access: null });
    expect(res).toMatchObject({ status: 200, body: { company_access: null, connection_ended: false } });
    expect(await active(token)).toBe(false);
    expect((await cc(app)).body.error).toBe('unauthorized_client');
    expect(await active(mine.accessToken)).toBe(true);
    expect((await session.api('GET', `/connected-apps/${app.clientId}`)).body).toMatchObject({ company_access: null, users: 2 });
    // Nothing left to narrow.
    expect((await session.api('PATCH', `/connected-apps/${app.clientId}`, { company_access: null })).status).toBe(404);
    const hook = await eventually(async () => arrivals.find((a) => a.client === 'removed'), 5000, 'the webhook');
    expect(hook.body).toMatchObject({ event: 'authorization.revoked', revoked: 'company_access', remaining_scopes: [], company_guid: companyGuid, revoked_by: admin.user.guid });
  });

  test('another company’s app, an unknown id, a malformed id: 404, nothing changed', async () => {
    const other = await makeCompany(server.db);
    const otherAdmin = await makeUser(server.db, other.guid, 'admin');
    const foreign = await makeApp(server);
    await authorize(server, await rpConfig(server, foreign), foreign, otherAdmin, { scope: 'openid schedules:read company_access' });
    for (const id of [foreign.clientId, '00000000-0000-4000-8000-000000000000', 'not-a-guid']) {
      expect((await session.api('PATCH', `/connected-apps/${id}`, { company_access: null })).status).toBe(404);
      expect((await session.api('DELETE', `/connected-apps/${id}/users/${otherAdmin.user.guid}`)).status).toBe(404);
    }
    const stillThere = await tokenRequest(server, foreign, { grant_type: 'client_credentials', company: other.guid });
    expect(stillThere.status).toBe(200);
  });
});

describe('one person’s authorization', () => {
  test('revoking it ends that person’s tokens only; the next authorization asks them again', async () => {
    const { app, config, employee, mine } = await setUp('person');
    const colleague = await makeUser(server.db, companyGuid, 'employee');
    const theirs = await connectUser(server, config, app, colleague, { scope: 'openid schedules:read' });
    const ccToken = String((await cc(app)).body.access_token);
    const res = await session.api('DELETE', `/connected-apps/${app.clientId}/users/${employee.user.guid}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ user_guid: employee.user.guid, connection_ended: false, revoked: { grants: 1, access_tokens: 1, refresh_tokens: 1 } });
    expect(await active(mine.accessToken)).toBe(false);
    expect((await tokenRequest(server, app, { grant_type: 'refresh_token', refresh_token: mine.refreshToken })).body.error).toBe('invalid_grant');
    expect(await active(theirs.accessToken)).toBe(true);
    expect(await active(ccToken)).toBe(true);
    // Again: 404 (it is gone). The person is asked again next time.
    expect((await session.api('DELETE', `/connected-apps/${app.clientId}/users/${employee.user.guid}`)).status).toBe(404);
    const again = await authorize(server, config, app, employee, { scope: 'openid schedules:read' });
    expect(again.consentShown).toBe(true);
    const events = await auditOf(app.clientId);
    expect(events.find((e) => e.action === 'authorization.revoked')).toMatchObject({ details: { user_guid: employee.user.guid, reason: 'revoked_by_admin' } });
    const hook = await eventually(async () => arrivals.find((a) => a.client === 'person' && a.body.revoked === 'user_authorization'), 5000, 'the webhook');
    expect(hook.body).toMatchObject({ user_guid: employee.user.guid, client_id: app.clientId });
  });

  test('the last person’s authorization, without company-wide access: the connection ends', async () => {
    const app = await makeApp(server, { name: 'lonely', webhookUrl: `${receiverUrl}/lonely` });
    const employee = await makeUser(server.db, companyGuid, 'employee');
    await connect(server, await rpConfig(server, app), app, employee, { scope: 'openid schedules:read' });
    const res = await session.api('DELETE', `/connected-apps/${app.clientId}/users/${employee.user.guid}`);
    expect(res.body).toMatchObject({ connection_ended: true });
    expect(await session.connectedAppIds()).not.toContain(app.clientId);
    const hook = await eventually(async () => arrivals.find((a) => a.client === 'lonely'), 5000, 'the webhook');
    expect(hook.body.revoked).toBe('connection');
  });
});

describe('role changes', () => {
  test('a demotion ends the authorizations beyond the new role, keeps those within it and the company grant the person gave', async () => {
    const manager = await makeUser(server.db, companyGuid, 'admin');
    const broad = await makeApp(server);
    const narrow = await makeApp(server);
    const b = await connect(server, await rpConfig(server, broad), broad, manager, { scope: 'openid users:write schedules:read company_access' });
    const n = await connect(server, await rpConfig(server, narrow), narrow, manager, { scope: 'openid schedules:read' });
    const ccToken = String((await cc(broad)).body.access_token);
    await setRole(server.running.services, manager.user, 'employee');
    expect(await active(b.tokens.access_token)).toBe(false);
    expect(await active(n.tokens.access_token)).toBe(true);
    // The company grant belongs to the company: it stays, flagged.
    expect(await active(ccToken)).toBe(true);
    const row = (await session.api('GET', `/connected-apps/${broad.clientId}`)).body;
    expect(row.company_access).toMatchObject({ granted_by: { id: manager.user.guid, still_admin: false } });
    expect((row.authorizations as unknown[]).length).toBe(0);
    // Authorizing again as an employee: users:write withheld now.
    const again = await connect(server, await rpConfig(server, broad), broad, manager, { scope: 'openid users:write schedules:read' });
    expect(String((await introspect(server, gateway, again.tokens.access_token)).body.scope).split(' ')).not.toContain('users:write');
  });

  test('a deactivation ends every authorization of the person, and their company grant stays', async () => {
    const leaver = await makeUser(server.db, companyGuid, 'admin');
    const app = await makeApp(server);
    const t = await connect(server, await rpConfig(server, app), app, leaver, { scope: 'openid schedules:read company_access' });
    await deactivateUser(server.running.services, leaver.user);
    expect(await active(t.tokens.access_token)).toBe(false);
    expect((await cc(app)).status).toBe(200);
    expect((await session.api('GET', `/connected-apps/${app.clientId}`)).body).toMatchObject({ users: 0, company_access: { granted_by: { still_admin: false } } });
  });
});

describe('the page', () => {
  test('the app’s detail page lists each person with Revoke, and narrows company-wide access by form', async () => {
    const { app, employee } = await setUp('page');
    const page = await session.agent.get(`${server.url}/settings/developer-tools/connected-apps/${app.clientId}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(employee.email);
    expect(html).toContain(`/users/${employee.user.guid}/revoke`);
    expect(html).toContain('id="narrow-company-access"');
    const list = await (await session.agent.get(`${server.url}/settings/developer-tools`)).text();
    expect(list).toMatch(/2 people authorized it/);

    const narrowed = await session.agent.postForm(`${server.url}/settings/developer-tools/connected-apps/${app.clientId}/company-access`, {
      _csrf: session.csrf, action: 'narrow', 'scope:schedules:read': 'on',
    });
    expect(narrowed.status).toBe(303);
    expect((await session.api('GET', `/connected-apps/${app.clientId}`)).body.company_access).toMatchObject({ scopes: ['schedules:read'] });
    const revoked = await session.agent.postForm(`${server.url}/settings/developer-tools/connected-apps/${app.clientId}/users/${employee.user.guid}/revoke`, { _csrf: session.csrf });
    expect(revoked.status).toBe(303);
    expect((await session.api('GET', `/connected-apps/${app.clientId}`)).body.users).toBe(1);
    // Without the CSRF token: refused, nothing changed.
    const forged = await session.agent.postForm(`${server.url}/settings/developer-tools/connected-apps/${app.clientId}/company-access`, { action: 'remove' });
    expect(forged.status).toBe(403);
    expect((await session.api('GET', `/connected-apps/${app.clientId}`)).body.company_access).not.toBeNull();
  });
});
