// Leaked credentials: the token format secret scanners can register (TOKEN_PREFIX), the
// earlier glpat_/glak_ tokens still working, and POST /credentials/revoke — no authentication,
// 202 whatever was sent (no oracle), the recognised ones revoked and audited for their company.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sha256 } from '../../src/shared/crypto.js';
import { createToken } from '../../src/tokens/tokens.js';
import { generateToken } from '../../src/tokens/format.js';
import { bearerApi, signIn, type SignedIn } from '../helpers/admin.js';
import { introspect } from '../helpers/oauth.js';
import { makeCompany, makeUser, startTestServer, makeGateway, type TestServer, type TestUser } from '../helpers/server.js';
import type { ClientCredentials } from '../helpers/http.js';

let server: TestServer;
let admin: TestUser;
let other: TestUser;
let gateway: ClientCredentials;
let session: SignedIn;
let otherSession: SignedIn;

beforeAll(async () => {
  server = await startTestServer({ server: { trustProxy: 1 } });
  admin = await makeUser(server.db, (await makeCompany(server.db)).guid, 'admin');
  other = await makeUser(server.db, (await makeCompany(server.db)).guid, 'admin');
  gateway = await makeGateway(server);
  session = await signIn(server, admin);
  otherSession = await signIn(server, other);
});
afterAll(() => server.close());

const make = async (kind: 'access_token' | 'api_key', user = admin) =>
  (await createToken(server.db, user.user, { kind, name: `leak ${kind}`, scopes: ['schedules:read', ...(kind === 'access_token' ? ['developer_tools:read'] : [])], expiresAt: null })).token;
const active = async (token: string) => (await introspect(server, gateway, token)).body.active;

let ipSeq = 0;
async function report(body: unknown, ip = `192.0.2.${++ipSeq}`) {
  const res = await fetch(`${server.url}/credentials/revoke`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

describe('token format', () => {
  test('new access tokens and API keys carry the product prefix (grantledger_pat_, grantledger_key_)', async () => {
    expect(await make('access_token')).toMatch(/^grantledger_pat_[0-9A-Za-z]{49}$/);
    expect(await make('api_key')).toMatch(/^grantledger_key_[0-9A-Za-z]{49}$/);
  });

  test('a token of the earlier format (glpat_…) keeps working', async () => {
    const token = await make('access_token');
    const legacy = `glpat_${token.slice('grantledger_pat_'.length)}`;
    await server.db.run('UPDATE access_tokens SET token_hash = ? WHERE token_hash = ?', [sha256(legacy), sha256(token)]);
    expect(await active(legacy)).toBe(true);
    expect((await bearerApi(server, legacy, 'GET', '/access-tokens')).status).toBe(200);
    // …and it can be reported like any other.
    expect((await report({ credentials: [legacy] })).status).toBe(202);
    expect(await active(legacy)).toBe(false);
  });
});

describe('POST /credentials/revoke', () => {
  test('revokes the recognised ones, answers 202 whatever was sent, and each company sees its own event', async () => {
    const [pat, key, foreign] = [await make('access_token'), await make('api_key'), await make('access_token', other)];
    expect(await active(pat)).toBe(true);
    const valid = await report({ credentials: [pat, key, foreign, generateToken('access_token'), 'not-a-token', pat] });
    const garbage = await report({ credentials: [generateToken('api_key'), 'x'] });
    expect(valid.status).toBe(202);
    expect(garbage.status).toBe(202);
    // The same kind of answer either way: only how many values arrived.
    expect(JSON.parse(valid.body)).toEqual({ received: 6 });
    expect(JSON.parse(garbage.body)).toEqual({ received: 2 });
    for (const t of [pat, key, foreign]) expect(await active(t)).toBe(false);

    const events = (await session.api('GET', '/audit-events?limit=100')).body.data!.filter((e) => e.action === 'credential.reported');
    expect(events.map((e) => e.target_type).sort()).toEqual(['access_token', 'access_token', 'api_key']); // incl. the legacy one above
    expect(events[0]).toMatchObject({ actor: 'system', details: { revoked: true, reported_from: expect.stringMatching(/^192\.0\.2\./) } });
    const theirs = (await otherSession.api('GET', '/audit-events?limit=100')).body.data!.filter((e) => e.action === 'credential.reported');
    expect(theirs).toHaveLength(1);

    // Reporting again revokes nothing more and writes no second event.
    expect((await report({ credentials: [pat] })).status).toBe(202);
    expect((await session.api('GET', '/audit-events?limit=100')).body.data!.filter((e) => e.action === 'credential.reported')).toHaveLength(3);
  });

  test.each<[string, unknown]>([
    ['no credentials field', {}],
    ['an empty list', { credentials: [] }],
    ['more than 1,000', { credentials: Array.from({ length: 1001 }, () => 'x') }],
    ['a non-string', { credentials: [42] }],
    ['an unknown field', { credentials: ['x'], also: 1 }],
    ['malformed JSON', '{"credentials": ['],
  ])('%s: 400 JSON error, nothing revoked', async (_name, body) => {
    const pat = await make('access_token');
    const a = await report(typeof body === 'string' ? body : body);
    expect(a.status).toBe(400);
    expect(a.type).toMatch(/application\/json/);
    expect(await active(pat)).toBe(true);
  });

  test('throttled per client IP: 429 with Retry-After', async () => {
    const ip = '192.0.2.250';
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await report({ credentials: ['x'] }, ip)).status);
    expect(statuses.slice(0, 30).every((s) => s === 202)).toBe(true);
    const last = await report({ credentials: ['x'] }, ip);
    expect(last.status).toBe(429);
    expect(Number(last.retryAfter)).toBeGreaterThan(0);
    expect((await report({ credentials: ['x'] }, '192.0.2.251')).status).toBe(202);
  });
});

describe('TOKEN_PREFIX', () => {
  test('a server with TOKEN_PREFIX=acme issues acme_pat_…; tokens with the default prefix keep working', async () => {
    const { token: before } = await createToken(server.db, admin.user, { kind: 'access_token', name: 'writer', scopes: ['schedules:read', 'developer_tools:write'], expiresAt: null });
    const acme = await startTestServer({ tokens: { prefix: 'acme' }, secrets: { secretKey: server.settings.secrets.secretKey } }, server.database);
    try {
      const res = await bearerApi(acme, before, 'POST', '/access-tokens', { name: 'acme', scopes: ['schedules:read'] });
      expect(res.status).toBe(201);
      expect(res.body.token).toMatch(/^acme_pat_[0-9A-Za-z]{49}$/);
      expect((await introspect(acme, gateway, res.body.token as string)).body.active).toBe(true);
    } finally {
      await acme.running.close();
    }
  });
});
