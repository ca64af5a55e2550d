// The operator API (/operator/v1) as a SaaS's provisioning calls it, over real HTTP: operator
// keys (shown once, hashed, revocable), companies and users idempotent on the SaaS's external_id
// (also under parallel retries: one object, not two) with tenancy of users' external ids, apps
// and gateways (create, list, get, update, rotate secret), every change audited with the key's
// name, the OpenAPI document, and hostile input answered with a 4xx JSON error, never a 500.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { listOperatorAudit } from '../../src/audit/operator-audit.js';
import { sha256 } from '../../src/shared/crypto.js';
import { createOperatorKey, revokeOperatorKey } from '../../src/operators/operator-keys.js';
import { introspect } from '../helpers/oauth.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let key: string;

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
  headers: Headers;
}

async function call(method: string, path: string, body?: unknown, opts: { key?: string | null; raw?: string; type?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = opts.key === null ? {} : { authorization: `Bearer ${opts.key ?? key}` };
  if (body !== undefined || opts.raw !== undefined) headers['content-type'] = opts.type ?? 'application/json';
  const res = await fetch(`${server.url}/operator/v1${path}`, {
    method,
    headers,
    ...(opts.raw !== undefined ? { body: opts.raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Answer['body']) : {}, headers: res.headers };
}

beforeAll(async () => {
  server = await startTestServer();
  key = (await createOperatorKey(server.db, { operator: 'cli' }, 'provisioning')).key;
});
afterAll(() => server?.close());

describe('operator keys', () => {
  test('no key, a wrong key, an admin’s access token: 401 with the JSON error', async () => {
    for (const k of [null, 'glop_not-a-key', `${key}x`, 'grantledger_pat_whatever']) {
      const r = await call('GET', '/companies', undefined, { key: k });
      expect(r.status).toBe(401);
      expect(r.body.error).toEqual({ code: 'unauthenticated', message: expect.stringMatching(/operator key/) });
    }
  });

  test('only the key’s hash is stored; a revoked key stops at once', async () => {
    const created = await createOperatorKey(server.db, { operator: 'cli' }, 'short-lived');
    expect(created.key).toMatch(/^glop_/);
    const row = await server.db.get<{ key_hash: string }>('SELECT key_hash FROM operator_keys WHERE id = ?', [created.id]);
    expect(row!.key_hash).toBe(sha256(created.key));
    expect((await call('GET', '/companies', undefined, { key: created.key })).status).toBe(200);
    await revokeOperatorKey(server.db, { operator: 'cli' }, created.id);
    expect((await call('GET', '/companies', undefined, { key: created.key })).status).toBe(401);
  });

  test('two live keys cannot share a name (it is the actor in the audit trail)', async () => {
    await expect(createOperatorKey(server.db, { operator: 'cli' }, 'provisioning')).rejects.toMatchObject({ status: 409 });
  });
});

describe('companies', () => {
  test('create → 201 {guid, name, external_id}; a repeat answers the same company, marked as replayed', async () => {
    const first = await call('POST', '/companies', { name: 'Acme', external_id: 'acme-1' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ guid: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Acme', external_id: 'acme-1', users: 0 });
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await call('POST', '/companies', { name: 'Acme (renamed?)', external_id: 'acme-1' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect((await call('GET', `/companies/${String(first.body.guid)}`)).body).toEqual(first.body);
    expect((await call('GET', '/companies?external_id=acme-1')).body.data).toEqual([first.body]);
  });

  test('parallel retries with one external_id create one company, and every answer names it', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => call('POST', '/companies', { name: 'Racy', external_id: 'race-1' })));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(201));
    expect(new Set(answers.map((a) => a.body.guid)).size).toBe(1);
    const rows = await server.db.all('SELECT id FROM companies WHERE external_id = ?', ['race-1']);
    expect(rows).toHaveLength(1);
  });

  test('without external_id, each call creates a company', async () => {
    const [a, b] = await Promise.all([call('POST', '/companies', { name: 'Twin' }), call('POST', '/companies', { name: 'Twin' })]);
    expect(a.body.guid).not.toBe(b.body.guid);
    expect(a.body.external_id).toBeNull();
  });

  test('the change is audited with the operator key’s name', async () => {
    const created = await call('POST', '/companies', { name: 'Audited', external_id: 'audited-1' });
    const events = (await listOperatorAudit(server.db)).filter((e) => e.target_id === created.body.guid);
    expect(events).toEqual([expect.objectContaining({ actor: 'operator:provisioning', action: 'company.created' })]);
  });
});

describe('users', () => {
  let acme: string;
  let other: string;
  beforeAll(async () => {
    acme = String((await call('POST', '/companies', { name: 'Users Inc', external_id: 'users-inc' })).body.guid);
    other = String((await call('POST', '/companies', { name: 'Other Co', external_id: 'other-co' })).body.guid);
  });

  test('create → 201; a repeat in the same company answers the same user; the same external_id in another company is another person', async () => {
    const first = await call('POST', '/users', { company: acme, email: 'Ada@Example.com', role: 'manager', external_id: 'u-1' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ company: acme, email: 'ada@example.com', role: 'manager', active: true, external_id: 'u-1' });
    const again = await call('POST', '/users', { company: acme, email: 'ada@example.com', role: 'admin', external_id: 'u-1' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const elsewhere = await call('POST', '/users', { company: other, email: 'ada@example.com', role: 'employee', external_id: 'u-1' });
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.headers.get('idempotent-replayed')).toBeNull();
    expect(elsewhere.body.id).not.toBe(first.body.id);
    expect(elsewhere.body.company).toBe(other);
  });

  test('parallel retries create one user', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => call('POST', '/users', { company: acme, email: 'grace@example.com', role: 'employee', external_id: 'u-2' })));
    expect(new Set(answers.map((a) => `${a.status} ${String(a.body.id)}`)).size).toBe(1);
    expect(await server.db.all("SELECT id FROM users WHERE email = 'grace@example.com'")).toHaveLength(1);
  });

  test('an e-mail taken in the company by someone else: 409; an unknown company: 404; a bad role or e-mail: 400 naming the field', async () => {
    expect((await call('POST', '/users', { company: acme, email: 'ada@example.com', role: 'employee', external_id: 'u-other' })).status).toBe(409);
    expect((await call('POST', '/users', { company: '00000000-0000-4000-8000-000000000000', email: 'x@example.com', role: 'employee' })).status).toBe(404);
    const badRole = await call('POST', '/users', { company: acme, email: 'x@example.com', role: 'owner' });
    expect(badRole.status).toBe(400);
    expect(badRole.body.error!.message).toMatch(/^role: /);
    const badEmail = await call('POST', '/users', { company: acme, email: 'not an address', role: 'employee' });
    expect(badEmail.body.error!.message).toMatch(/^email: must be an e-mail address/);
    const short = await call('POST', '/users', { company: acme, email: 'y@example.com', role: 'employee', password: 'short' });
    expect(short.body.error!.message).toBe('password: must be at least 8 characters');
  });

  test('list, get, and a role change and deactivation through the membership rules, audited in the company’s trail', async () => {
    const u = await call('POST', '/users', { company: acme, email: 'lin@example.com', role: 'admin', external_id: 'u-3' });
    const id = String(u.body.id);
    const list = await call('GET', `/users?company=${acme}`);
    expect((list.body.data as Array<{ email: string }>).map((x) => x.email)).toEqual(['ada@example.com', 'grace@example.com', 'lin@example.com']);
    expect((await call('PATCH', `/users/${id}`, { role: 'employee' })).body).toMatchObject({ role: 'employee', active: true });
    expect((await call('PATCH', `/users/${id}`, { active: false })).body).toMatchObject({ role: 'employee', active: false });
    expect((await call('GET', `/users/${id}`)).body).toMatchObject({ active: false });
    const events = await server.db.all<{ actor: string; action: string }>(
      "SELECT actor, action FROM audit_events WHERE target_id = ? AND action LIKE 'user.%' ORDER BY id", [id],
    );
    expect(events).toEqual([
      { actor: 'operator:provisioning', action: 'user.created' },
      { actor: 'operator:provisioning', action: 'user.updated' },
      { actor: 'operator:provisioning', action: 'user.updated' },
    ]);
    expect((await call('PATCH', `/users/${id}`, {})).status).toBe(400);
    expect((await call('PATCH', '/users/00000000-0000-4000-8000-000000000000', { active: true })).status).toBe(404);
  });
});

describe('apps and gateways', () => {
  test('an app: create (secrets once), get (never a secret), update, rotate — validation names this API’s fields', async () => {
    const bad = await call('POST', '/apps', { name: 'Evil', redirect_uris: ['http://evil.example/cb'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error!.message).toBe('redirect_uris.0: must be https://, http:// on loopback, or a reverse-DNS custom scheme');
    const created = await call('POST', '/apps', { name: 'Shifty', redirect_uris: ['https://shifty.example/cb'], webhook_url: 'https://shifty.example/hook' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Shifty', client_secret: expect.stringMatching(/^glcs_/), webhook_secret: expect.stringMatching(/^whsec_/) });
    const id = String(created.body.client_id);
    const got = await call('GET', `/apps/${id}`);
    expect(JSON.stringify(got.body)).not.toMatch(/glcs_|whsec_|secret/);
    expect((await call('PATCH', `/apps/${id}`, { name: 'Shifty 2' })).body).toMatchObject({ name: 'Shifty 2' });
    expect((await call('GET', '/apps')).body.data).toEqual(expect.arrayContaining([expect.objectContaining({ client_id: id, name: 'Shifty 2' })]));
    const rotated = await call('POST', `/apps/${id}/rotate-secret`, { keep_old_seconds: 60 });
    expect(rotated.body).toEqual({ client_id: id, client_secret: expect.stringMatching(/^glcs_/), previous_secret_expires_at: expect.any(String) });
    const hook = await call('POST', `/apps/${id}/rotate-webhook-secret`, {});
    expect(hook.body).toMatchObject({ client_id: id, webhook_secret: expect.stringMatching(/^whsec_/) });
    expect((await call('POST', `/apps/${id}/rotate-secret`, { keep_old_seconds: -5 })).body.error!.message).toBe('keep_old_seconds: must be 0 or more');
    const actions = (await listOperatorAudit(server.db)).filter((e) => e.target_id === id).map((e) => `${e.actor} ${e.action}`);
    expect(actions.sort()).toEqual([
      'operator:provisioning app.created', 'operator:provisioning app.secret_rotated', 'operator:provisioning app.updated',
      'operator:provisioning app.webhook_secret_rotated',
    ]);
  });

  test('a gateway: create, rename, rotate; the new secret introspects at once, an app id is not a gateway', async () => {
    const created = await call('POST', '/gateways', { name: 'V2 API' });
    expect(created.status).toBe(201);
    const id = String(created.body.client_id);
    expect((await call('PATCH', `/gateways/${id}`, { name: 'V2 API (eu)' })).body).toEqual({ client_id: id, name: 'V2 API (eu)', created_at: created.body.created_at });
    const rotated = await call('POST', `/gateways/${id}/rotate-secret`, { keep_old_seconds: 0 });
    expect((await introspect(server, { clientId: id, clientSecret: String(rotated.body.client_secret) }, 'x')).status).toBe(200);
    const app = await call('POST', '/apps', { name: 'Not a gateway', redirect_uris: ['https://n.example/cb'] });
    expect((await call('GET', `/gateways/${String(app.body.client_id)}`)).status).toBe(404);
    expect((await call('GET', `/apps/${id}`)).status).toBe(404);
    expect((await call('GET', '/gateways')).body.data).toEqual(expect.arrayContaining([expect.objectContaining({ client_id: id })]));
  });
});

describe('hostile input', () => {
  test('malformed, wrongly typed, oversized or unknown: a 4xx JSON error, never a 500, nothing written', async () => {
    const before = await server.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM companies');
    const cases: Array<[Promise<Answer>, number]> = [
      [call('POST', '/companies', undefined, { raw: '{"name":' }), 400],
      [call('POST', '/companies', undefined, { raw: 'name=x', type: 'application/x-www-form-urlencoded' }), 415],
      [call('POST', '/companies', undefined, { raw: JSON.stringify({ name: 'x'.repeat(100_000) }) }), 413],
      [call('POST', '/companies', { name: 'X', admin: true }), 400],
      [call('POST', '/companies', { name: ['X'] }), 400],
      [call('POST', '/companies', { name: 'Bell\u0007' }), 400],
      [call('POST', '/companies', { name: 'X', external_id: '' }), 400],
      [call('POST', '/companies', []), 400],
      [call('GET', '/companies/not-a-guid'), 404],
      [call('GET', '/users'), 400],
      [call('GET', '/users?company=nope'), 400],
      [call('GET', '/nothing-here'), 404],
      [call('DELETE', '/companies'), 404],
    ];
    for (const [pending, status] of cases) {
      const r = await pending;
      expect({ status: r.status }).toEqual({ status });
      expect(r.body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    }
    expect(await server.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM companies')).toEqual(before);
  });
});

describe('OpenAPI', () => {
  test('/operator/v1/openapi.json documents every operation, with the operator key as the security scheme', async () => {
    const res = await fetch(`${server.url}/operator/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, { operationId: string }>>; components: { securitySchemes: object } };
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId)).sort();
    expect(ops).toEqual([
      'createApp', 'createCompany', 'createGateway', 'createUser', 'getApp', 'getCompany', 'getGateway', 'getUser', 'listApps', 'listCompanies',
      'listGateways', 'listUsers', 'rotateAppSecret', 'rotateAppWebhookSecret', 'rotateGatewaySecret', 'updateApp', 'updateGateway', 'updateUser',
    ]);
    expect(doc.components.securitySchemes).toHaveProperty('operatorKey');
  });
});
