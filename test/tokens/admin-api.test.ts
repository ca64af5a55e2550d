// The admin API (/api/v1) for tokens and keys: a bearer access token of an active admin has
// the rights of that admin's session (no CSRF header needed); tenancy answers 404; non-admins
// 403; bad bearer tokens 401 with a challenge; API-key creation is flagged deprecated; bad
// input is a 400 JSON error that writes nothing; the OpenAPI document covers every route.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { apiRoutes } from '../../src/api/api.routes.js';
import type { Company } from '../../src/companies/users.js';
import { deactivateUser, reactivateUser, setRole } from '../../src/companies/membership.js';
import { API_SCOPES, TOKEN_SCOPES } from '../../src/oidc/scopes.js';
import { createToken } from '../../src/tokens/tokens.js';
import { bearerApi, signIn, type AdminSession, type ApiResponse } from '../helpers/admin.js';
import { basicAuth } from '../helpers/http.js';
import { UserAgent, connect, formField, introspect, rpConfig } from '../helpers/oauth.js';
import {
  makeApp, makeCompany, makeGateway, makeUser, reloadUser, startTestServer, type TestServer, type TestUser,
} from '../helpers/server.js';

let server: TestServer;
let company: Company;
let admin: TestUser;
let session: AdminSession;
let pat: string;
let gateway: { clientId: string; clientSecret: string };

/** Other company: its admin, one access token and one API key. */
let other: { company: Company; admin: TestUser; pat: { id: string; token: string }; key: { id: string; token: string } };

async function makeToken(user: TestUser, kind: 'access_token' | 'api_key', name = `${kind} ${Math.random()}`) {
  const { token, record } = await createToken(server.db, await reloadUser(server.db, user.user.guid), {
    // Access tokens for the admin API carry developer_tools:*; API keys never can.
    kind, name, scopes: kind === 'access_token' ? [...TOKEN_SCOPES] : [...API_SCOPES], expiresAt: null,
  });
  return { id: record.id, token };
}

function expectError(res: ApiResponse, status: number, code?: string): void {
  expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status, type: expect.stringMatching(/^application\/json/) });
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(res.body.error).toEqual({ code: code ?? expect.any(String), message: expect.any(String) });
  expect(res.body.error!.message.length).toBeGreaterThan(5);
}

/** Rows of access_tokens (both kinds), for checks that nothing was written. */
const countTokenRows = async () => Number((await server.db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM access_tokens'))?.n ?? 0);
const countAudit = async () => Number((await server.db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM audit_events'))?.n ?? 0);

beforeAll(async () => {
  server = await startTestServer();
  company = await makeCompany(server.db);
  admin = await makeUser(server.db, company.guid, 'admin');
  session = await signIn(server, admin);
  pat = (await makeToken(admin, 'access_token', 'Admin API bearer')).token;
  gateway = await makeGateway(server);
  const otherCompany = await makeCompany(server.db);
  const otherAdmin = await makeUser(server.db, otherCompany.guid, 'admin');
  other = {
    company: otherCompany, admin: otherAdmin,
    pat: await makeToken(otherAdmin, 'access_token', 'Secret project of the other company'),
    key: await makeToken(otherAdmin, 'api_key', 'Other company key'),
  };
});
afterAll(() => server.close());

describe('bearer access tokens on /api/v1', () => {
  test('a bearer access token of an active admin has the rights of the session, without a CSRF header', async () => {
    // Reads answer the same as for the session.
    for (const path of ['/connected-apps', '/api-keys']) {
      const bySession = await session.api('GET', path);
      const byBearer = await bearerApi(server, pat, 'GET', path);
      expect(byBearer.status).toBe(200);
      expect(byBearer.body).toEqual(bySession.body);
    }
    const tokensBySession = await session.api('GET', '/access-tokens');
    const tokensByBearer = await bearerApi(server, pat, 'GET', '/access-tokens');
    expect(tokensByBearer.status).toBe(200);
    expect(tokensByBearer.body.data!.map((t) => t.id)).toEqual(tokensBySession.body.data!.map((t) => t.id));
    expect((await bearerApi(server, pat, 'GET', '/audit-events')).status).toBe(200);

    // The session needs the CSRF header to write…
    const rows = await countTokenRows();
    expectError(await session.api('POST', '/access-tokens', { name: 'no csrf' }, { csrf: null }), 403, 'csrf_failed');
    expect(await countTokenRows()).toBe(rows);

    // …the bearer token does not: create, read and revoke.
    const created = await bearerApi(server, pat, 'POST', '/access-tokens', { name: 'Made with a bearer token', scopes: ['schedules:read'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Made with a bearer token', scopes: ['schedules:read'], created_by: { id: admin.user.guid, email: admin.user.email },
    });
    const id = created.body.id as string;
    expect((await bearerApi(server, pat, 'GET', `/access-tokens/${id}`)).body).toMatchObject({ id, name: 'Made with a bearer token' });
    expect((await session.api('GET', `/access-tokens/${id}`)).status).toBe(200);
    const revoked = await bearerApi(server, pat, 'DELETE', `/access-tokens/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ id, revoked_at: expect.any(String) });
    expect((await introspect(server, gateway, created.body.token as string)).body).toEqual({ active: false });

    const key = await bearerApi(server, pat, 'POST', '/api-keys', { name: 'Key made with a bearer token' });
    expect(key.status).toBe(201);
    expect((await bearerApi(server, pat, 'DELETE', `/api-keys/${key.body.id as string}`)).status).toBe(200);
  });

  test('a bearer access token can see and revoke the company’s connected apps; an OAuth access token is no admin credential', async () => {
    const app = await makeApp(server);
    const { tokens } = await connect(server, await rpConfig(server, app), app, admin, { scope: 'openid schedules:read' });

    const list = await bearerApi(server, pat, 'GET', '/connected-apps');
    expect(list.body.data!.map((c) => c.client_id)).toContain(app.clientId);
    expect((await bearerApi(server, pat, 'GET', `/connected-apps/${app.clientId}`)).body).toMatchObject({ client_id: app.clientId });

    // An OAuth access token of the same admin does not open the admin API.
    const oauth = await bearerApi(server, tokens.access_token, 'GET', '/connected-apps');
    expectError(oauth, 401, 'invalid_token');
    expect(oauth.headers.get('www-authenticate')).toMatch(/^Bearer /);

    // Another company's admin sees nothing of it.
    expectError(await bearerApi(server, other.pat.token, 'GET', `/connected-apps/${app.clientId}`), 404, 'not_found');
    expectError(await bearerApi(server, other.pat.token, 'DELETE', `/connected-apps/${app.clientId}`), 404, 'not_found');

    const revoked = await bearerApi(server, pat, 'DELETE', `/connected-apps/${app.clientId}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ client_id: app.clientId, revoked: expect.objectContaining({ access_tokens: expect.any(Number) }) });
    expect((await introspect(server, gateway, tokens.access_token)).body).toEqual({ active: false });
    expectError(await bearerApi(server, pat, 'DELETE', `/connected-apps/${app.clientId}`), 404, 'not_found');
  });

  test('a demoted owner’s token gets 403; a deactivated owner’s token gets 401 with a challenge; restored, it works again', async () => {
    const owner = await makeUser(server.db, company.guid, 'admin');
    const { token } = await makeToken(owner, 'access_token');
    expect((await bearerApi(server, token, 'GET', '/access-tokens')).status).toBe(200);

    for (const role of ['employee', 'manager'] as const) {
      await setRole(server.running.services, await reloadUser(server.db, owner.user.guid), role);
      const rows = await countTokenRows();
      expectError(await bearerApi(server, token, 'GET', '/access-tokens'), 403, 'forbidden');
      expectError(await bearerApi(server, token, 'POST', '/access-tokens', { name: 'by a demoted admin' }), 403, 'forbidden');
      expectError(await bearerApi(server, token, 'DELETE', `/access-tokens/${other.pat.id}`), 403, 'forbidden');
      expect(await countTokenRows()).toBe(rows);
    }
    await setRole(server.running.services, await reloadUser(server.db, owner.user.guid), 'admin');
    expect((await bearerApi(server, token, 'GET', '/access-tokens')).status).toBe(200);

    await deactivateUser(server.running.services, await reloadUser(server.db, owner.user.guid));
    const refused = await bearerApi(server, token, 'GET', '/access-tokens');
    expectError(refused, 401, 'invalid_token');
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+", error="invalid_token"$/);
    await reactivateUser(server.running.services, await reloadUser(server.db, owner.user.guid));
    expect((await bearerApi(server, token, 'GET', '/access-tokens')).status).toBe(200);
  });

  test('API keys, revoked, expired, unknown or malformed tokens are refused with 401 and a challenge', async () => {
    const key = await makeToken(admin, 'api_key');
    const revoked = await makeToken(admin, 'access_token');
    expect((await session.api('DELETE', `/access-tokens/${revoked.id}`)).status).toBe(200);
    const expired = await makeToken(admin, 'access_token');
    await server.db.run('UPDATE access_tokens SET expires_at = ? WHERE id = ?', [Date.now() - 1, expired.id]);
    // The API key is live for introspection: it is only refused as an admin credential.
    expect((await introspect(server, gateway, key.token)).body).toMatchObject({ active: true, auth_type: 'api_key' });

    for (const token of [key.token, revoked.token, expired.token, `${pat.slice(0, -1)}${pat.endsWith('a') ? 'b' : 'a'}`, 'garbage']) {
      const res = await bearerApi(server, token, 'GET', '/access-tokens');
      expectError(res, 401, 'invalid_token');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]+", error="invalid_token"$/);
    }
    for (const authorization of [basicAuth({ clientId: 'x', clientSecret: pat }), 'Bearer', `Bearer ${pat} extra`, `Token ${pat}`]) {
      const res = await fetch(`${server.url}/api/v1/access-tokens`, { headers: { authorization } });
      expect({ authorization, status: res.status }).toEqual({ authorization, status: 401 });
    }
    // No credentials at all: 401.
    const anonymous = await fetch(`${server.url}/api/v1/access-tokens`, { headers: { accept: 'application/json' } });
    expect(anonymous.status).toBe(401);
  });
});

describe('tenancy and roles', () => {
  test('another company’s token or key id answers 404 on GET and DELETE, and stays live', async () => {
    const auditBefore = await countAudit();
    for (const caller of [
      (m: string, p: string) => session.api(m, p),
      (m: string, p: string) => bearerApi(server, pat, m, p),
    ]) {
      for (const path of [`/access-tokens/${other.pat.id}`, `/api-keys/${other.key.id}`]) {
        for (const method of ['GET', 'DELETE']) {
          const res = await caller(method, path);
          expectError(res, 404, 'not_found');
          expect(res.text).not.toContain('Secret project');
          expect(res.text).not.toContain(other.company.guid);
        }
      }
      // Not in the lists either.
      expect((await caller('GET', '/access-tokens')).body.data!.map((t) => t.id)).not.toContain(other.pat.id);
      expect((await caller('GET', '/api-keys')).body.data!.map((t) => t.id)).not.toContain(other.key.id);
    }
    expect(await countAudit()).toBe(auditBefore);
    expect((await introspect(server, gateway, other.pat.token)).body).toMatchObject({ active: true, company_guid: other.company.guid });
    expect((await introspect(server, gateway, other.key.token)).body).toMatchObject({ active: true, company_guid: other.company.guid });
    const theirs = await bearerApi(server, other.pat.token, 'GET', '/api-keys');
    expect(theirs.body.data!.map((k) => k.id)).toContain(other.key.id);
  });

  test('ids of the wrong kind, unknown or malformed ids answer 404', async () => {
    const ownKey = await makeToken(admin, 'api_key');
    const ownPat = await makeToken(admin, 'access_token');
    for (const path of [
      `/access-tokens/${ownKey.id}`, `/api-keys/${ownPat.id}`, '/access-tokens/00000000-0000-4000-8000-000000000000',
      '/access-tokens/not-a-guid', `/access-tokens/${ownPat.token}`, '/api-keys/%00', '/no-such-thing',
    ]) {
      for (const method of ['GET', 'DELETE']) expectError(await session.api(method, path), 404, 'not_found');
    }
    expect((await introspect(server, gateway, ownKey.token)).body).toMatchObject({ active: true });
    expect((await introspect(server, gateway, ownPat.token)).body).toMatchObject({ active: true });
  });

  test('an employee or a manager gets no session (403 at sign-in) and creates nothing; no session gets 401', async () => {
    for (const role of ['employee', 'manager'] as const) {
      const user = await makeUser(server.db, company.guid, role);
      const agent = new UserAgent();
      const page = await agent.get(`${server.url}/login`);
      const posted = await agent.postForm(`${server.url}/login`, { _csrf: formField(await page.text(), '_csrf'), email: user.email, password: user.password });
      expect(posted.status).toBe(403);
      expect(agent.cookies.has('gl.admin')).toBe(false);
      const rows = await countTokenRows();
      for (const [method, path] of [['GET', '/access-tokens'], ['POST', '/access-tokens'], ['POST', '/api-keys'], ['DELETE', `/access-tokens/${other.pat.id}`]]) {
        const res = await agent.request(`${server.url}/api/v1${path}`, {
          method, headers: { accept: 'application/json', 'content-type': 'application/json', 'x-csrf-token': 'x'.repeat(64) },
          ...(method === 'POST' ? { body: JSON.stringify({ name: `by ${role}` }) } : {}),
        });
        expect(res.status).toBe(401);
      }
      expect(await countTokenRows()).toBe(rows);
    }
    const anonymous = await fetch(`${server.url}/api/v1/api-keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
  });
});

describe('legacy API keys are deprecated', () => {
  test('POST /api-keys answers 201 with a Deprecation header and a Link rel="deprecation" to the access-token docs', async () => {
    const res = await session.api('POST', '/api-keys', { name: 'Legacy integration' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Legacy integration', deprecated: true, token: expect.stringMatching(/^grantledger_key_/) });
    expect(res.headers.get('cache-control')).toBe('no-store');
    // RFC 9745: an RFC 9651 date, `@<epoch seconds>`, in the past (deprecated already).
    const deprecation = res.headers.get('deprecation');
    expect(deprecation).toMatch(/^@\d+$/);
    expect(Number(deprecation!.slice(1)) * 1000).toBeLessThanOrEqual(Date.now());
    const link = res.headers.get('link');
    const m = /^<([^>]+)>;\s*rel="deprecation"(;.*)?$/.exec(link ?? '');
    expect(m).not.toBeNull();
    expect(m![1]).toBe(`${server.settings.server.issuer}/docs/access-tokens`);
    const docs = await fetch(m![1]!);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await docs.text()).toMatch(/access token/i);

    // Creating an access token is not deprecated.
    const patRes = await session.api('POST', '/access-tokens', { name: 'Supported' });
    expect(patRes.status).toBe(201);
    expect(patRes.headers.get('deprecation')).toBeNull();
    expect(patRes.headers.get('cache-control')).toBe('no-store');
  });
});

describe('validation', () => {
  const past = new Date(Date.now() - 60_000).toISOString();
  const tooFar = new Date(Date.now() + 6 * 365 * 24 * 3600 * 1000).toISOString();
  const invalid: Array<[string, unknown]> = [
    ['missing name', {}],
    ['empty name', { name: '' }],
    ['blank name', { name: '   ' }],
    ['name too long', { name: 'x'.repeat(201) }],
    ['name not a string', { name: 42 }],
    ['NUL in name', { name: 'a\u0000b' }],
    ['line break in name', { name: 'a\nb' }],
    ['lone surrogate in name', { name: 'a\ud800b' }],
    ['bidi override in name', { name: 'invoice\u202Egpj.exe' }],
    ['unknown scope', { name: 'a', scopes: ['nope:read'] }],
    ['OpenID scope', { name: 'a', scopes: ['openid'] }],
    ['empty scopes', { name: 'a', scopes: [] }],
    ['scopes not a list', { name: 'a', scopes: 'schedules:read' }],
    ['past expires_at', { name: 'a', expires_at: past }],
    ['past expiry date', { name: 'a', expires_at: '2020-01-01' }],
    ['expiry beyond 5 years', { name: 'a', expires_at: tooFar }],
    ['not a date', { name: 'a', expires_at: 'tomorrow' }],
    ['extra field', { name: 'a', admin: true }],
    ['non-JSON', '{"name": "a"'],
    ['JSON array', '[]'],
    ['JSON null', 'null'],
    ['JSON string', '"a"'],
  ];

  test.each(['/access-tokens', '/api-keys'])('%s: bad input → 400 {error: {code, message}} and nothing created', async (path) => {
    const rows = await countTokenRows();
    const audit = await countAudit();
    for (const [what, body] of invalid) {
      const res = await session.api('POST', path, body);
      expect({ what, status: res.status }).toEqual({ what, status: 400 });
      expectError(res, 400);
      const viaBearer = await bearerApi(server, pat, 'POST', path, body);
      expect({ what, status: viaBearer.status }).toEqual({ what, status: 400 });
    }
    // Not JSON at all, and too large: clear 4xx as well.
    expectError(await session.api('POST', path, 'name=a', { headers: { 'content-type': 'text/plain' } }), 415);
    expectError(await session.api('POST', path, JSON.stringify({ name: 'x'.repeat(server.settings.server.maxBodyBytes) })), 413);

    expect(await countTokenRows()).toBe(rows);
    expect(await countAudit()).toBe(audit);
    expect((await session.api('GET', path)).body.data!.map((t) => t.name)).not.toContain('a');
  });

  test('valid input is accepted: a date-only expiry, duplicate scopes folded', async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const res = await session.api('POST', '/access-tokens', { name: '  Padded  ', scopes: ['users:read', 'users:read'], expires_at: tomorrow });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Padded', scopes: ['users:read'], expires_at: `${tomorrow}T23:59:59.000Z` });
    // Names are text people write: accents, other scripts and emoji are fine.
    const unicode = await session.api('POST', '/api-keys', { name: 'Lohnbüro – 給与 👩‍💼' });
    expect(unicode.status).toBe(201);
    expect((await session.api('GET', `/api-keys/${unicode.body.id as string}`)).body.name).toBe('Lohnbüro – 給与 👩‍💼');
  });
});

describe('OpenAPI document', () => {
  test('/api/v1/openapi.json is valid JSON with a path and operation for every route of the admin API', async () => {
    const res = await fetch(`${server.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = JSON.parse(await res.text()) as {
      openapi: string; servers: Array<{ url: string }>; paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.servers[0]!.url).toBe(`${server.settings.server.issuer}/api/v1`);
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(['session', 'bearer']));

    // The routes, read from the router itself (so a new route without documentation fails here).
    const router = apiRoutes(server.running.services);
    const routes = new Set<string>();
    for (const layer of router.stack) {
      const routePath = String(layer.path);
      if (layer.methods.length === 0 || routePath.includes('{*') || routePath.endsWith('/openapi.json')) continue;
      const path = routePath.replace(/^\/api\/v1/, '').replace(/:(\w+)/g, '{$1}');
      for (const method of layer.methods) if (method !== 'HEAD') routes.add(`${method.toLowerCase()} ${path}`);
    }
    expect(routes.size).toBeGreaterThanOrEqual(12);
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) if (method !== 'parameters') documented.add(`${method} ${path}`);
    }
    expect([...routes].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((d) => !routes.has(d))).toEqual([]);
    for (const route of ['get /access-tokens', 'post /access-tokens', 'delete /access-tokens/{id}', 'get /api-keys/{id}', 'post /api-keys']) {
      expect(documented).toContain(route);
    }
    for (const item of Object.values(doc.paths)) {
      for (const [method, op] of Object.entries(item)) if (method !== 'parameters') expect(Object.keys(op.responses ?? {}).length).toBeGreaterThan(0);
    }
    expect(doc.paths['/api-keys']!.post).toMatchObject({
      deprecated: true, responses: { 201: { headers: { Deprecation: expect.any(Object), Link: expect.any(Object) } } },
    });

    // The documented shapes are the real ones (presenters and document do not drift apart).
    const schemas = doc.components.schemas as Record<string, { properties: Record<string, unknown> }>;
    for (const [path, schema] of [['/access-tokens', 'AccessToken'], ['/api-keys', 'ApiKey']] as const) {
      const created = await session.api('POST', path, { name: `Shape of ${schema}` });
      expect(created.status).toBe(201);
      const one = await session.api('GET', `${path}/${created.body.id as string}`);
      expect(Object.keys(one.body).sort()).toEqual(Object.keys(schemas[schema]!.properties).sort());
      expect(Object.keys(created.body).sort()).toEqual([...Object.keys(schemas[schema]!.properties), 'token'].sort());
    }

    // Every $ref points at a schema that exists.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((r) => !(r in doc.components.schemas))).toEqual([]);
  });
});
