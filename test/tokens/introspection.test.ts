// Access tokens and legacy API keys through the one RFC 7662 introspection endpoint, called
// as a V2 API gateway: active with the right company and auth type while the token is live,
// exactly {"active": false} once revoked, expired, or its technical contact is no longer an
// active admin — and active again when that admin is restored.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Company } from '../../src/companies/users.js';
import { deactivateUser, reactivateUser, setRole } from '../../src/companies/membership.js';
import { API_SCOPES } from '../../src/oidc/scopes.js';
import { generateToken, parseToken } from '../../src/tokens/format.js';
import { createToken } from '../../src/tokens/tokens.js';
import { signIn, type AdminSession } from '../helpers/admin.js';
import { introspect } from '../helpers/oauth.js';
import { makeCompany, makeUser, reloadUser, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { startOAuthWorld } from '../helpers/world.js';

let server: TestServer;
let company: Company;
let admin: TestUser;
let session: AdminSession;
let gateway: { clientId: string; clientSecret: string };
let app: TestApp;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const INACTIVE = { active: false };

beforeAll(async () => {
  ({ server, company, user: admin, gateway, app } = await startOAuthWorld({}, { role: 'admin' }));
  session = await signIn(server, admin);
});
afterAll(() => server.close());

const gatewaySees = async (token: string) => {
  const res = await introspect(server, gateway, token);
  expect(res.status).toBe(200);
  return res.body;
};

/** A token made the way the CLI makes it (createToken), for an admin of `company`. */
async function tokenOf(user: TestUser, kind: 'access_token' | 'api_key', extra: { scopes?: string[]; expiresAt?: number | null } = {}) {
  const { token, record } = await createToken(server.db, await reloadUser(server.db, user.user.guid), {
    kind, name: `${kind} of ${user.email}`, scopes: extra.scopes ?? ['schedules:read'], expiresAt: extra.expiresAt ?? null,
  });
  return { token, id: record.id };
}

describe('introspection of access tokens and API keys', () => {
  test('created in the admin API → active for a gateway with company and auth type → revoked → exactly {"active": false}', async () => {
    const expiresAt = new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString();
    const before = Date.now();
    const created = await session.api('POST', '/access-tokens', {
      name: 'Payroll export', scopes: ['users:read', 'schedules:read'], expires_at: expiresAt,
    });
    const after = Date.now();
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    const id = created.body.id as string;
    expect(parseToken(token)).toBe('access_token');
    expect(id).toMatch(GUID);
    expect(created.body.last4).toBe(token.slice(-4));

    const seen = await gatewaySees(token);
    expect(seen).toEqual({
      active: true,
      scope: expect.any(String),
      sub: admin.user.guid,
      iat: expect.any(Number),
      exp: Math.floor(Date.parse(expiresAt) / 1000),
      iss: server.settings.server.issuer,
      token_type: 'Bearer',
      company_guid: company.guid,
      auth_type: 'access_token',
    });
    expect('client_id' in seen).toBe(false);
    expect(String(seen.scope).split(' ').sort()).toEqual(['schedules:read', 'users:read']);
    expect(seen.iat).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(seen.iat).toBeLessThanOrEqual(Math.ceil(after / 1000));
    // A gateway's token_type_hint does not change the answer.
    expect((await introspect(server, gateway, token, 'access_token')).body).toEqual(seen);

    // Usage is visible: last_used_at is written (in the background) after the introspection.
    await server.running.services.lastUsed.idle();
    const lastUsed = (await session.api('GET', `/access-tokens/${id}`)).body.last_used_at;
    expect(Date.parse(String(lastUsed))).toBeGreaterThanOrEqual(before - 1000);
    // …at most once per interval (minutes), not on every call.
    for (let i = 0; i < 3; i++) await gatewaySees(token);
    await server.running.services.lastUsed.idle();
    expect((await session.api('GET', `/access-tokens/${id}`)).body.last_used_at).toBe(lastUsed);

    const revoked = await session.api('DELETE', `/access-tokens/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toEqual({ id, revoked_at: expect.any(String) });
    expect(await gatewaySees(token)).toStrictEqual(INACTIVE);
    expect((await introspect(server, gateway, token, 'access_token')).body).toStrictEqual(INACTIVE);
    // Gone from the list; a second revoke answers 404.
    const list = await session.api('GET', '/access-tokens');
    expect(list.body.data!.map((t) => t.id)).not.toContain(id);
    expect((await session.api('DELETE', `/access-tokens/${id}`)).status).toBe(404);
  });

  test('without scopes a token carries the admin’s full access, and without expiry no exp', async () => {
    const created = await session.api('POST', '/access-tokens', { name: 'Full access' });
    expect(created.status).toBe(201);
    const seen = await gatewaySees(created.body.token as string);
    expect(seen).toMatchObject({ active: true, sub: admin.user.guid, company_guid: company.guid, auth_type: 'access_token' });
    expect(String(seen.scope).split(' ').sort()).toEqual([...API_SCOPES].sort());
    expect('exp' in seen).toBe(false);
  });

  test('a token made with createToken (the CLI’s path) and an API key introspect alike, with their auth_type', async () => {
    const pat = await tokenOf(admin, 'access_token', { scopes: ['company:read'] });
    expect(await gatewaySees(pat.token)).toEqual({
      active: true, scope: 'company:read', sub: admin.user.guid, iat: expect.any(Number), iss: server.settings.server.issuer,
      token_type: 'Bearer', company_guid: company.guid, auth_type: 'access_token',
    });

    const key = await session.api('POST', '/api-keys', { name: 'Old integration', scopes: ['timepunches:read'] });
    expect(key.status).toBe(201);
    const keyToken = key.body.token as string;
    expect(parseToken(keyToken)).toBe('api_key');
    const seenKey = await gatewaySees(keyToken);
    expect(seenKey).toEqual({
      active: true, scope: 'timepunches:read', sub: admin.user.guid, iat: expect.any(Number), iss: server.settings.server.issuer,
      token_type: 'Bearer', company_guid: company.guid, auth_type: 'api_key',
    });
    expect('client_id' in seenKey).toBe(false);

    // Revoking the key works the same way.
    expect((await session.api('DELETE', `/api-keys/${key.body.id as string}`)).status).toBe(200);
    expect(await gatewaySees(keyToken)).toStrictEqual(INACTIVE);
  });

  test('existing API keys (created long ago) still introspect as active', async () => {
    const key = await tokenOf(admin, 'api_key', { scopes: ['users:read', 'users:write'] });
    const createdLongAgo = Date.parse('2021-03-04T05:06:07Z');
    await server.db.run('UPDATE access_tokens SET created_at = ? WHERE id = ?', [createdLongAgo, key.id]);
    const seen = await gatewaySees(key.token);
    expect(seen).toMatchObject({
      active: true, sub: admin.user.guid, company_guid: company.guid, auth_type: 'api_key', token_type: 'Bearer',
      iat: Math.floor(createdLongAgo / 1000),
    });
    expect(String(seen.scope).split(' ').sort()).toEqual(['users:read', 'users:write']);
    // It is listed as a deprecated key of the company.
    const list = await session.api('GET', '/api-keys');
    expect(list.body.data!.find((k) => k.id === key.id)).toMatchObject({ deprecated: true, last4: key.token.slice(-4) });
  });

  test('an expired token or key is inactive', async () => {
    const soon = Date.now() + 60_000;
    const pat = await tokenOf(admin, 'access_token', { expiresAt: soon });
    const key = await tokenOf(admin, 'api_key', { expiresAt: soon });
    expect(await gatewaySees(pat.token)).toMatchObject({ active: true, exp: Math.floor(soon / 1000) });
    expect(await gatewaySees(key.token)).toMatchObject({ active: true, exp: Math.floor(soon / 1000) });

    // Time passes: the expiry is now in the past.
    await server.db.run('UPDATE access_tokens SET expires_at = ? WHERE id IN (?, ?)', [Date.now() - 1, pat.id, key.id]);
    expect(await gatewaySees(pat.token)).toStrictEqual(INACTIVE);
    expect(await gatewaySees(key.token)).toStrictEqual(INACTIVE);
    // The expired token is no use for the admin API either.
    const api = await fetch(`${server.url}/api/v1/access-tokens`, { headers: { authorization: `Bearer ${pat.token}` } });
    expect(api.status).toBe(401);

    // It is the time that decides (not a flag): an expiry moved to the future makes it live again.
    await server.db.run('UPDATE access_tokens SET expires_at = ? WHERE id = ?', [Date.now() + 60_000, pat.id]);
    expect(await gatewaySees(pat.token)).toMatchObject({ active: true });
  });

  test('deactivating the technical contact makes their tokens inactive; reactivating restores them', async () => {
    const contact = await makeUser(server.db, company.guid, 'admin');
    const pat = await tokenOf(contact, 'access_token');
    const key = await tokenOf(contact, 'api_key');
    const other = await tokenOf(admin, 'access_token'); // another admin's token: untouched
    expect(await gatewaySees(pat.token)).toMatchObject({ active: true, sub: contact.user.guid });
    expect(await gatewaySees(key.token)).toMatchObject({ active: true, sub: contact.user.guid });

    await deactivateUser(server.running.services, await reloadUser(server.db, contact.user.guid));
    expect(await gatewaySees(pat.token)).toStrictEqual(INACTIVE);
    expect(await gatewaySees(key.token)).toStrictEqual(INACTIVE);
    expect(await gatewaySees(other.token)).toMatchObject({ active: true, sub: admin.user.guid });

    await reactivateUser(server.running.services, await reloadUser(server.db, contact.user.guid));
    expect(await gatewaySees(pat.token)).toMatchObject({ active: true, sub: contact.user.guid, auth_type: 'access_token' });
    expect(await gatewaySees(key.token)).toMatchObject({ active: true, sub: contact.user.guid, auth_type: 'api_key' });
  });

  test('demoting the technical contact makes their tokens inactive; making them admin again restores them', async () => {
    const contact = await makeUser(server.db, company.guid, 'admin');
    const pat = await tokenOf(contact, 'access_token');
    const key = await tokenOf(contact, 'api_key');
    expect(await gatewaySees(pat.token)).toMatchObject({ active: true });

    for (const role of ['employee', 'manager'] as const) {
      await setRole(server.running.services, await reloadUser(server.db, contact.user.guid), role);
      expect(await gatewaySees(pat.token)).toStrictEqual(INACTIVE);
      expect(await gatewaySees(key.token)).toStrictEqual(INACTIVE);
    }

    await setRole(server.running.services, await reloadUser(server.db, contact.user.guid), 'admin');
    expect(await gatewaySees(pat.token)).toMatchObject({ active: true, sub: contact.user.guid, company_guid: company.guid });
    expect(await gatewaySees(key.token)).toMatchObject({ active: true, sub: contact.user.guid, company_guid: company.guid });
  });

  test('tokens of another company introspect with that company', async () => {
    const other = await makeCompany(server.db);
    const otherAdmin = await makeUser(server.db, other.guid, 'admin');
    const pat = await tokenOf(otherAdmin, 'access_token');
    expect(await gatewaySees(pat.token)).toMatchObject({ active: true, sub: otherAdmin.user.guid, company_guid: other.guid });
  });

  test('only gateways get answers: an app introspecting a PAT gets {"active": false}; a bad gateway secret gets 401', async () => {
    const pat = await tokenOf(admin, 'access_token');
    const key = await tokenOf(admin, 'api_key');
    for (const token of [pat.token, key.token]) {
      const asApp = await introspect(server, app, token);
      expect(asApp.status).toBe(200);
      expect(asApp.body).toStrictEqual(INACTIVE);
      // …while the same token is live for a gateway.
      expect(await gatewaySees(token)).toMatchObject({ active: true });
    }

    const badSecret = await introspect(server, { clientId: gateway.clientId, clientSecret: `${gateway.clientSecret}x` }, pat.token);
    expect(badSecret.status).toBe(401);
    expect(badSecret.body).toMatchObject({ error: 'invalid_client' });
    expect(badSecret.body.active).toBeUndefined();

    const unknownClient = await introspect(server, { clientId: '00000000-0000-4000-8000-000000000000', clientSecret: 'x' }, pat.token);
    expect(unknownClient.status).toBe(401);
    expect(unknownClient.body.active).toBeUndefined();
  });

  test('unknown and garbage values are exactly {"active": false}', async () => {
    const real = await tokenOf(admin, 'access_token');
    const flipped = real.token.slice(0, 10) + (real.token[10] === 'a' ? 'b' : 'a') + real.token.slice(11);
    const values = [
      generateToken('access_token'), // the right shape and checksum, never issued
      generateToken('api_key'),
      flipped, // one character off: wrong checksum
      real.token.slice(0, -1),
      `${real.token}A`,
      'glpat_', 'glak_x', 'garbage', 'a'.repeat(43), 'x'.repeat(2000), '0', '☃',
    ];
    for (const value of values) {
      const res = await introspect(server, gateway, value);
      expect({ value, status: res.status, body: res.body }).toStrictEqual({ value, status: 200, body: INACTIVE });
    }
    // The real one is still fine.
    expect(await gatewaySees(real.token)).toMatchObject({ active: true });
  });
});
