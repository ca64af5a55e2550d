// A token with a wrong checksum is rejected before any database lookup. Proven two ways:
// the database's statement counter does not move for it (while a well-formed unknown token
// costs one lookup), and a live row planted under its hash is never found.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Company } from '../../src/companies/users.js';
import { sha256, uuid } from '../../src/shared/crypto.js';
import { generateToken, parseToken } from '../../src/tokens/format.js';
import { createToken, resolveToken } from '../../src/tokens/tokens.js';
import { bearerApi } from '../helpers/admin.js';
import { introspect } from '../helpers/oauth.js';
import { makeCompany, makeGateway, makeUser, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

let server: TestServer;
let company: Company;
let admin: TestUser;
let gateway: { clientId: string; clientSecret: string };

beforeAll(async () => {
  // No background work during the counts: the webhook worker and cleanup stay asleep.
  server = await startTestServer({ webhooks: { pollInterval: 3600 }, cleanupInterval: 3600 });
  company = await makeCompany(server.db);
  admin = await makeUser(server.db, company.guid, 'admin');
  gateway = await makeGateway(server);
  // Warm the gateway's client cache so that client authentication costs no statement below.
  await introspect(server, gateway, generateToken('access_token'));
});
afterAll(() => server.close());

/** `value` with the character at `at` (after the prefix) replaced by another base62 digit: same shape, wrong checksum. */
function typo(value: string, at: number): string {
  // Positions are counted as in the earlier 6-character prefix (glpat_): past the prefix.
  const i = at + 'grantledger_pat_'.length - 'glpat_'.length;
  const replacement = value[i] === 'a' ? 'b' : 'a';
  const changed = value.slice(0, i) + replacement + value.slice(i + 1);
  expect(changed).toHaveLength(value.length);
  expect(changed).toMatch(/^grantledger_(pat|key)_[0-9A-Za-z]{49}$/);
  expect(parseToken(changed)).toBeUndefined();
  return changed;
}

/** Statements the database executed while `fn` ran. */
async function statementsDuring(fn: () => Promise<unknown>): Promise<number> {
  // No background usage flush inside the window (the timer stops; idle() still writes).
  await server.running.services.lastUsed.usage.close();
  const before = server.db.statements;
  await fn();
  return server.db.statements - before;
}

/** A live row in access_tokens stored under the hash of `value` (as if it had been issued). */
async function plantRow(value: string, kind: 'access_token' | 'api_key'): Promise<void> {
  await server.db.run(
    `INSERT INTO access_tokens (id, kind, company_id, user_id, name, scopes, token_hash, last4, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [uuid(), kind, company.id, admin.user.id, 'planted', 'schedules:read developer_tools:read', sha256(value), value.slice(-4), Date.now(), null],
  );
}

describe('checksum before lookup', () => {
  test('resolveToken: a wrong checksum costs no statement; a well-formed unknown token costs one lookup', async () => {
    const { token } = await createToken(server.db, admin.user, { kind: 'access_token', name: 'real', scopes: ['schedules:read'], expiresAt: null });

    // The control: the counter sees lookups.
    let found: unknown;
    expect(await statementsDuring(async () => { found = await resolveToken(server.db, token); })).toBe(1);
    expect(found).toMatchObject({ kind: 'access_token', companyGuid: company.guid });
    expect(await statementsDuring(() => resolveToken(server.db, generateToken('access_token')))).toBe(1);
    expect(await statementsDuring(() => resolveToken(server.db, generateToken('api_key')))).toBe(1);

    // Typos anywhere in the body or the checksum: no statement at all.
    for (const i of [6, 20, 48, 49, 54]) {
      let result: unknown = 'not called';
      expect(await statementsDuring(async () => { result = await resolveToken(server.db, typo(token, i)); })).toBe(0);
      expect(result).toBeUndefined();
    }
  });

  test('a live row stored under the hash of a bad-checksum value is never found (it is never looked up)', async () => {
    // A well-formed value with a planted row resolves: planted rows are visible to lookups…
    const wellFormed = generateToken('access_token');
    await plantRow(wellFormed, 'access_token');
    expect(await resolveToken(server.db, wellFormed)).toMatchObject({ kind: 'access_token', companyGuid: company.guid });
    expect(await introspect(server, gateway, wellFormed)).toMatchObject({ status: 200, body: { active: true, company_guid: company.guid } });

    // …but a bad-checksum value with a planted row does not, at resolveToken, introspection or the admin API.
    const bad = typo(generateToken('access_token'), 30);
    await plantRow(bad, 'access_token');
    expect(await resolveToken(server.db, bad)).toBeUndefined();
    expect(await introspect(server, gateway, bad)).toEqual({ status: 200, body: { active: false } });
    expect((await bearerApi(server, bad, 'GET', '/access-tokens')).status).toBe(401);
    expect((await bearerApi(server, wellFormed, 'GET', '/access-tokens')).status).toBe(200);

    const badKey = typo(generateToken('api_key'), 12);
    await plantRow(badKey, 'api_key');
    expect(await resolveToken(server.db, badKey)).toBeUndefined();
    expect(await introspect(server, gateway, badKey)).toEqual({ status: 200, body: { active: false } });
  });

  test('introspection as a gateway: a wrong checksum costs no statement; a well-formed unknown token costs one', async () => {
    const unknown = generateToken('access_token');
    let res: Awaited<ReturnType<typeof introspect>> | undefined;
    expect(await statementsDuring(async () => { res = await introspect(server, gateway, unknown); })).toBe(1);
    expect(res).toEqual({ status: 200, body: { active: false } });

    for (const value of [typo(unknown, 7), typo(generateToken('api_key'), 40), typo(unknown, 52)]) {
      expect(await statementsDuring(async () => { res = await introspect(server, gateway, value); })).toBe(0);
      expect(res).toEqual({ status: 200, body: { active: false } });
    }
  });

  test('admin API bearer: a wrong checksum is refused (401) without a statement', async () => {
    const { token } = await createToken(server.db, admin.user, { kind: 'access_token', name: 'bearer', scopes: ['schedules:read'], expiresAt: null });
    let res: Awaited<ReturnType<typeof bearerApi>> | undefined;
    // Control: an unknown well-formed token is looked up (and refused).
    expect(await statementsDuring(async () => { res = await bearerApi(server, generateToken('access_token'), 'GET', '/access-tokens'); })).toBeGreaterThanOrEqual(1);
    expect(res!.status).toBe(401);

    expect(await statementsDuring(async () => { res = await bearerApi(server, typo(token, 25), 'GET', '/access-tokens'); })).toBe(0);
    expect(res!.status).toBe(401);
    expect(res!.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
  });
});
