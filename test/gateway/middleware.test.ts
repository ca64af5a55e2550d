// The gateway middleware against a real grantledger server: a real Koa V2 API on a real port,
// real tokens from real flows, real revocations; broken authorization servers are real sockets.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type GenerateKeyPairResult } from 'jose';
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { acceptIntrospection } from '../../src/gateway/acceptance.js';
import { AnswerCache } from '../../src/gateway/cache.js';
import { createGateway, type AuthorizationServerError, type GatewayOptions } from '../../src/gateway/index.js';
import { createToken, revokeToken } from '../../src/tokens/tokens.js';
import { freePort } from '../helpers/http.js';
import { authorize, connect, introspect, rpConfig } from '../helpers/oauth.js';
import { makeApp, makeUser, startTestServer, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { startOAuthWorld } from '../helpers/world.js';
import { bearer, call, closeServer, listen, startApi, startSilentServer, type TestApi } from './helpers.js';

let server: TestServer;
let companyGuid: string;
let admin: TestUser;
let member: TestUser;
let app: TestApp;
let gatewayCreds: { clientId: string; clientSecret: string };
let config: oidc.Configuration;
let adminPat: string;
let api: TestApi;
const REALM = 'test-api';

// A generous deadline (the default is 2 s): a loaded CI machine must not turn answers into 503s.
const gatewayOptions = (extra: Partial<GatewayOptions> = {}): GatewayOptions => ({
  issuer: server.url, clientId: gatewayCreds.clientId, clientSecret: gatewayCreds.clientSecret, realm: REALM, timeoutMs: 15_000, ...extra,
});

const SCOPE = 'openid offline_access schedules:read company:read';

async function revokeApp(clientId: string): Promise<void> {
  const res = await fetch(`${server.url}/api/v1/connected-apps/${clientId}`, { method: 'DELETE', headers: { authorization: bearer(adminPat) } });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  // A manager: their role may grant every read scope (an employee's may not grant company:read).
  ({ server, companyGuid, user: member, app, gateway: gatewayCreds, config } = await startOAuthWorld({}, { role: 'manager' }));
  admin = await makeUser(server.db, companyGuid, 'admin');
  adminPat = (await createToken(server.db, admin.user, { kind: 'access_token', name: 'admin', scopes: ['company:read', 'developer_tools:write'], expiresAt: null })).token;
  api = await startApi((url) => gatewayOptions({ publicOrigin: url }));
});
afterAll(async () => {
  await api?.close();
  await server?.close();
});

describe('OAuth access tokens', () => {
  let tokens: oidc.TokenEndpointResponse;
  beforeAll(async () => {
    ({ tokens } = await connect(server, config, app, member, { scope: SCOPE }));
  });

  test('a token with the route’s scopes reaches the handler, which sees who calls', async () => {
    const res = await call(`${api.url}/v2/schedules`, { authorization: bearer(tokens.access_token) });
    expect(res.status).toBe(200);
    expect(res.body.auth).toEqual({
      company_guid: companyGuid, client_id: app.clientId, sub: member.user.guid,
      scopes: expect.arrayContaining(['openid', 'schedules:read', 'company:read']), auth_type: 'oauth',
    });
    // Every required scope: both present.
    expect((await call(`${api.url}/v2/company`, { authorization: bearer(tokens.access_token) })).status).toBe(200);
    // The scheme name is case-insensitive, and several spaces may follow it (RFC 7235).
    expect((await call(`${api.url}/v2/open`, { authorization: `bEaReR   ${tokens.access_token}` })).status).toBe(200);
  });

  test('a missing scope is 403 insufficient_scope naming the scope the route needs', async () => {
    const res = await call(`${api.url}/v2/time-punches`, { method: 'POST', authorization: bearer(tokens.access_token) });
    expect(res.status).toBe(403);
    expect(res.challenge).toBe(`Bearer realm="${REALM}", error="insufficient_scope", scope="timepunches:write"`);
    expect(res.body).toEqual({ error: { code: 'insufficient_scope', message: expect.stringContaining('timepunches:write') } });
  });

  test('a route needing several scopes names them all', async () => {
    // A second app, connected with schedules:read only.
    const narrowApp = await makeApp(server);
    const narrow = await connect(server, await rpConfig(server, narrowApp), narrowApp, member, { scope: 'openid schedules:read' });
    const res = await call(`${api.url}/v2/company`, { authorization: bearer(narrow.tokens.access_token) });
    expect(res.status).toBe(403);
    expect(res.challenge).toBe(`Bearer realm="${REALM}", error="insufficient_scope", scope="company:read schedules:read"`);
  });

  test('a refresh token is refused: 401 invalid_token', async () => {
    const res = await call(`${api.url}/v2/open`, { authorization: bearer(tokens.refresh_token!) });
    expect(res.status).toBe(401);
    expect(res.challenge).toBe(`Bearer realm="${REALM}", error="invalid_token"`);
    expect(res.body).toEqual({ error: { code: 'invalid_token', message: expect.any(String) } });
  });

  test('even when the server calls a refresh token active (gateway misconfigured with the app’s own credentials)', async () => {
    // An app may introspect its own tokens, refresh tokens included: active, but with neither
    // token_type nor auth_type (a refresh token is not a credential for an API).
    const own = await introspect(server, app, tokens.refresh_token!);
    expect(own.body).toMatchObject({ active: true, client_id: app.clientId });
    expect(own.body.token_type).toBeUndefined();
    expect(own.body.auth_type).toBeUndefined();
    const misconfigured = await startApi(gatewayOptions({ clientId: app.clientId, clientSecret: app.clientSecret }));
    try {
      expect((await call(`${misconfigured.url}/v2/open`, { authorization: bearer(tokens.refresh_token!) })).status).toBe(401);
      expect((await call(`${misconfigured.url}/v2/open`, { authorization: bearer(tokens.access_token) })).status).toBe(200);
    } finally {
      await misconfigured.close();
    }
  });
});

describe('access tokens (PAT) and legacy API keys', () => {
  test('are accepted with their auth_type, for their company, without an app', async () => {
    const pat = await createToken(server.db, admin.user, { kind: 'access_token', name: 'pat', scopes: ['schedules:read'], expiresAt: null });
    const key = await createToken(server.db, admin.user, { kind: 'api_key', name: 'key', scopes: ['schedules:read'], expiresAt: null });
    for (const [token, authType] of [[pat.token, 'access_token'], [key.token, 'api_key']] as const) {
      const res = await call(`${api.url}/v2/schedules`, { authorization: bearer(token) });
      expect(res.status).toBe(200);
      expect(res.body.auth).toEqual({
        company_guid: companyGuid, client_id: null, sub: admin.user.guid, scopes: ['schedules:read'], auth_type: authType,
      });
      expect((await call(`${api.url}/v2/time-punches`, { method: 'POST', authorization: bearer(token) })).status).toBe(403);
    }
  });

  test('a revoked access token is refused by the very next call', async () => {
    const pat = await createToken(server.db, admin.user, { kind: 'access_token', name: 'short', scopes: ['schedules:read'], expiresAt: null });
    expect((await call(`${api.url}/v2/schedules`, { authorization: bearer(pat.token) })).status).toBe(200);
    const del = await fetch(`${server.url}/api/v1/access-tokens/${pat.record.id}`, { method: 'DELETE', headers: { authorization: bearer(adminPat) } });
    expect(del.status).toBe(200);
    expect((await call(`${api.url}/v2/schedules`, { authorization: bearer(pat.token) })).status).toBe(401);
  });
});

describe('requests without a usable token', () => {
  test('no Authorization header: 401 with a bare challenge; another scheme is the same', async () => {
    for (const authorization of [undefined, 'Basic dXNlcjpwYXNz', 'Token abc']) {
      const res = await call(`${api.url}/v2/schedules`, { authorization });
      expect(res.status).toBe(401);
      expect(res.challenge).toBe(`Bearer realm="${REALM}"`);
      expect(res.body).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
    }
  });

  test('a malformed header, or a token in the query string: 400 invalid_request', async () => {
    const cases: Array<[string, string | undefined]> = [
      ['/v2/schedules', 'Bearer'],
      ['/v2/schedules', 'Bearer two tokens'],
      ['/v2/schedules', 'Bearer tok"en'],
      ['/v2/schedules', 'Bearer tok,en'],
      ['/v2/schedules', 'Bearer =abc'],
      ['/v2/schedules?access_token=abc', undefined],
      ['/v2/schedules?x=1&access_token=abc', 'Bearer abc'],
    ];
    for (const [path, authorization] of cases) {
      const res = await call(`${api.url}${path}`, { authorization });
      expect({ path, authorization, status: res.status, challenge: res.challenge }).toEqual({
        path, authorization, status: 400, challenge: `Bearer realm="${REALM}", error="invalid_request"`,
      });
      expect(res.body).toEqual({ error: { code: 'invalid_request', message: expect.any(String) } });
    }
  });

  test('unknown, garbage, JWT-shaped, mistyped or oversized tokens: 401 invalid_token', async () => {
    const jwtShaped = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2ln`;
    const tokens = [
      randomBytes(32).toString('base64url'),
      'x',
      'glpat_' + 'A'.repeat(49), // our prefix, wrong checksum
      'glak_' + 'b'.repeat(49),
      jwtShaped, // the authorization server refuses these with 400 unsupported_token_type
      'a'.repeat(5000),
      'abc+/def==',
    ];
    for (const token of tokens) {
      const res = await call(`${api.url}/v2/open`, { authorization: bearer(token) });
      expect({ token: token.slice(0, 20), status: res.status, challenge: res.challenge }).toEqual({
        token: token.slice(0, 20), status: 401, challenge: `Bearer realm="${REALM}", error="invalid_token"`,
      });
    }
  });
});

describe('the authorization server cannot answer: 503, never a pass', () => {
  const expect503 = async (options: GatewayOptions, reason: string, token = 'some-token') => {
    const errors: AuthorizationServerError[] = [];
    const broken = await startApi({ ...options, onError: (err) => errors.push(err) });
    try {
      const res = await call(`${broken.url}/v2/open`, { authorization: bearer(token) });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.challenge).toBeNull();
      expect(res.body).toEqual({ error: { code: 'authorization_server_unavailable', message: expect.any(String) } });
      expect(errors.map((e) => e.reason)).toEqual([reason]);
      return errors[0]!;
    } finally {
      await broken.close();
    }
  };

  test('a discovery document without an introspection endpoint: 503 misconfigured, never a guess', async () => {
    const fake = await listen((req, res) => {
      const origin = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
      res.writeHead(req.url === '/.well-known/openid-configuration' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: origin, token_endpoint: `${origin}/token` }));
    });
    try {
      const issuer = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
      const err = await expect503({ ...gatewayOptions(), issuer }, 'misconfigured');
      expect(err.message).toMatch(/introspection/);
    } finally {
      await closeServer(fake);
    }
  });

  test('unreachable (nothing listens)', async () => {
    const port = await freePort();
    await expect503({ ...gatewayOptions(), issuer: `http://127.0.0.1:${port}` }, 'unreachable');
    await expect503({ ...gatewayOptions(), issuer: undefined, introspectionEndpoint: `http://127.0.0.1:${port}/token/introspection` }, 'unreachable');
  });

  test('timeout: the server accepts and never answers', async () => {
    const silent = await startSilentServer();
    try {
      // The reason says the deadline ended it (a hang would end in the test's own timeout).
      await expect503({ ...gatewayOptions(), issuer: undefined, introspectionEndpoint: `http://127.0.0.1:${silent.port}/i`, timeoutMs: 300 }, 'timeout');
    } finally {
      await silent.close();
    }
  });

  test('5xx, 429, garbage, a JSON array, a huge body', async () => {
    const replies: Array<[number, string, string]> = [
      [500, '{"error":"server_error"}', 'bad_status'],
      [502, '<html>bad gateway</html>', 'bad_status'],
      [429, '{"error":"slow_down"}', 'bad_status'],
      [200, 'not json', 'bad_response'],
      [200, '[{"active":true}]', 'bad_response'],
      [200, `{"active":false,"pad":"${'x'.repeat(300_000)}"}`, 'bad_response'],
    ];
    for (const [status, body, reason] of replies) {
      const fake = await listen((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      });
      try {
        const endpoint = `http://127.0.0.1:${(fake.address() as { port: number }).port}/introspect`;
        await expect503({ ...gatewayOptions(), issuer: undefined, introspectionEndpoint: endpoint }, reason);
      } finally {
        await closeServer(fake);
      }
    }
  });

  test('wrong gateway credentials: 503 with a message that says so', async () => {
    const err = await expect503(gatewayOptions({ clientSecret: 'glcs_wrong' }), 'bad_status');
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/invalid_client.*gateway client id and secret/);
  });

  test('discovery naming another issuer is refused, not followed', async () => {
    const err = await expect503(gatewayOptions({ issuer: server.url.replace('127.0.0.1', 'localhost') }), 'misconfigured');
    expect(err.message).toMatch(/names the issuer/);
  });

  test('a failed discovery is retried: the gateway recovers when the server comes up', async () => {
    const port = await freePort();
    const late = await startApi({ ...gatewayOptions(), issuer: `http://127.0.0.1:${port}` });
    let second: TestServer | undefined;
    try {
      expect((await call(`${late.url}/v2/open`, { authorization: bearer(adminPat) })).status).toBe(503);
      second = await startTestServer({ server: { port, issuer: `http://127.0.0.1:${port}` }, secrets: server.settings.secrets }, server.database);
      const res = await call(`${late.url}/v2/open`, { authorization: bearer(adminPat) });
      expect(res.status).toBe(200);
      expect(res.body.auth).toMatchObject({ auth_type: 'access_token', company_guid: companyGuid });
    } finally {
      await late.close();
      await second?.running.close();
    }
  });
});

describe('authenticate()', () => {
  test('authenticate(): the auth of an accepted bearer token, undefined otherwise, AuthorizationServerError when nobody answers', async () => {
    const gateway = createGateway(gatewayOptions());
    try {
      expect(await gateway.authenticate(adminPat)).toMatchObject({ auth_type: 'access_token', company_guid: companyGuid, client_id: null });
      for (const bad of ['', 'garbage', `${adminPat}x`, 'x'.repeat(5000)]) expect(await gateway.authenticate(bad)).toBeUndefined();
    } finally {
      gateway.close();
    }
    const port = await freePort();
    const down = createGateway({ ...gatewayOptions(), issuer: undefined, introspectionEndpoint: `http://127.0.0.1:${port}/token/introspection` });
    try {
      await expect(down.authenticate(adminPat)).rejects.toMatchObject({ reason: 'unreachable' });
    } finally {
      down.close();
    }
  });

});

describe('revocation and the cache', () => {
  test('cache off (the default): revoking the app is seen by the very next call', async () => {
    const revocable = await makeApp(server);
    const { tokens } = await connect(server, await rpConfig(server, revocable), revocable, member, { scope: SCOPE });
    expect((await call(`${api.url}/v2/schedules`, { authorization: bearer(tokens.access_token) })).status).toBe(200);
    await revokeApp(revocable.clientId);
    const res = await call(`${api.url}/v2/schedules`, { authorization: bearer(tokens.access_token) });
    expect(res.status).toBe(401);
    expect(res.challenge).toBe(`Bearer realm="${REALM}", error="invalid_token"`);
  });

  test('cache on: a revoked token keeps working for cacheTtlMs exactly, then 401', async () => {
    const ttl = 1200;
    let clock = Date.now();
    const cached = await startApi(gatewayOptions({ cacheTtlMs: ttl, now: () => clock }));
    try {
      const revocable = await makeApp(server);
      const { tokens } = await connect(server, await rpConfig(server, revocable), revocable, member, { scope: SCOPE });
      const authorization = bearer(tokens.access_token);
      const cachedAt = clock;
      expect((await call(`${cached.url}/v2/schedules`, { authorization })).status).toBe(200);
      await revokeApp(revocable.clientId);
      // Without the cache the revocation is seen at once; with it, the cached answer still serves…
      expect((await call(`${api.url}/v2/schedules`, { authorization })).status).toBe(401);
      clock = cachedAt + ttl - 1;
      expect((await call(`${cached.url}/v2/schedules`, { authorization })).status).toBe(200);
      // …but never beyond cacheTtlMs: from cachedAt + ttl on, the server is asked again.
      clock = cachedAt + ttl;
      expect((await call(`${cached.url}/v2/schedules`, { authorization })).status).toBe(401);
      // A negative answer is never cached: a new token works immediately.
      const fresh = await createToken(server.db, admin.user, { kind: 'access_token', name: 'fresh', scopes: ['schedules:read'], expiresAt: null });
      expect((await call(`${cached.url}/v2/schedules`, { authorization: bearer(fresh.token) })).status).toBe(200);
    } finally {
      await cached.close();
    }
  });

  test('cache on: an entry never outlives the token’s exp', async () => {
    let clock = Date.now();
    const cached = await startApi(gatewayOptions({ cacheTtlMs: 3_600_000, now: () => clock }));
    try {
      const expiresAt = Date.now() + 60_000;
      const pat = await createToken(server.db, admin.user, { kind: 'access_token', name: 'brief', scopes: ['schedules:read'], expiresAt });
      expect((await call(`${cached.url}/v2/schedules`, { authorization: bearer(pat.token) })).status).toBe(200);
      await revokeToken(server.db, admin.user, 'access_token', pat.record.id);
      // Cached for an hour, but the token's exp (a minute away) comes first (its introspection says so, in seconds):
      // just before the exp the cached answer serves, from it on the server is asked (and refuses).
      const exp = Math.floor(expiresAt / 1000) * 1000;
      clock = exp - 1;
      expect((await call(`${cached.url}/v2/schedules`, { authorization: bearer(pat.token) })).status).toBe(200);
      clock = exp;
      expect((await call(`${cached.url}/v2/schedules`, { authorization: bearer(pat.token) })).status).toBe(401);
    } finally {
      await cached.close();
    }
  });
  test('the LRU is bounded and drops the least recently used answer', () => {
    const verdict = acceptIntrospection({ active: true, auth_type: 'api_key', token_type: 'Bearer', company_guid: 'c', scope: 'a' })!;
    const lru = new AnswerCache(10_000, 2);
    const now = 1_000_000;
    lru.set(AnswerCache.keyOf('a'), verdict, now);
    lru.set(AnswerCache.keyOf('b'), verdict, now);
    expect(lru.get(AnswerCache.keyOf('a'), now)).toBe(verdict); // a is now the most recent
    lru.set(AnswerCache.keyOf('c'), verdict, now);
    expect(lru.size).toBe(2);
    expect(lru.get(AnswerCache.keyOf('b'), now)).toBeUndefined();
    expect(lru.get(AnswerCache.keyOf('a'), now)).toBe(verdict);
    expect(lru.get(AnswerCache.keyOf('a'), now + 10_000)).toBeUndefined(); // expired and removed
    const expiring = acceptIntrospection({ active: true, auth_type: 'api_key', token_type: 'Bearer', company_guid: 'c', exp: (now + 500) / 1000 })!;
    lru.set('e', expiring, now);
    expect(lru.get('e', now + 499)).toBe(expiring);
    expect(lru.get('e', now + 500)).toBeUndefined();
  });
});

describe('keep-alive', () => {
  test('many calls reuse one connection to the authorization server', async () => {
    const fresh = await startApi(gatewayOptions());
    let connections = 0;
    const count = () => connections++;
    server.running.server.on('connection', count);
    try {
      for (let i = 0; i < 20; i++) {
        expect((await call(`${fresh.url}/v2/open`, { authorization: bearer(adminPat) })).status).toBe(200);
      }
      expect(connections).toBe(1); // discovery and 20 introspections on one socket
    } finally {
      server.running.server.off('connection', count);
      await fresh.close();
    }
  });
});

describe('DPoP-bound tokens', () => {
  let dpopKey: GenerateKeyPairResult;
  let handle: oidc.DPoPHandle;
  let dpopToken: string;
  beforeAll(async () => {
    const dpopApp = await makeApp(server);
    const dpopConfig = await rpConfig(server, dpopApp);
    dpopKey = await generateKeyPair('ES256', { extractable: true });
    handle = oidc.getDPoPHandle(dpopConfig, dpopKey);
    const a = await authorize(server, dpopConfig, dpopApp, member, { scope: SCOPE });
    const tokens = await oidc.authorizationCodeGrant(dpopConfig, a.callbackUrl, { pkceCodeVerifier: a.codeVerifier, expectedState: a.state }, undefined, { DPoP: handle });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    dpopToken = tokens.access_token;
  });

  const proof = async (opts: { htu: string; htm?: string; token?: string; iat?: number; jti?: string; key?: GenerateKeyPairResult }) => {
    const key = opts.key ?? dpopKey;
    return new SignJWT({
      htm: opts.htm ?? 'GET', htu: opts.htu, iat: opts.iat ?? Math.floor(Date.now() / 1000), jti: opts.jti ?? randomBytes(12).toString('base64url'),
      ath: createHash('sha256').update(opts.token ?? dpopToken).digest('base64url'),
    }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(key.publicKey) }).sign(key.privateKey);
  };
  const send = (url: string, p: string | undefined, token = dpopToken, method = 'GET') =>
    call(url, { method, authorization: `DPoP ${token}`, headers: p ? { dpop: p } : {} });
  const expectProofRefused = (res: Awaited<ReturnType<typeof send>>) => {
    expect(res.status).toBe(401);
    expect(res.challenge).toMatch(new RegExp(`^DPoP realm="${REALM}", error="invalid_dpop_proof", algs="[^"]*ES256`));
    expect(res.body).toEqual({ error: { code: 'invalid_dpop_proof', message: expect.any(String) } });
  };

  test('with the DPoP scheme and a proof by the bound key: accepted (openid-client as the caller)', async () => {
    const res = await oidc.fetchProtectedResource(config, dpopToken, new URL(`${api.url}/v2/schedules?page=2`), 'GET', undefined, undefined, { DPoP: handle });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { auth: Record<string, unknown> }).auth).toMatchObject({
      auth_type: 'oauth', company_guid: companyGuid, sub: member.user.guid,
    });
  });

  test('presented as a plain bearer token: 401 invalid_token', async () => {
    const res = await call(`${api.url}/v2/schedules`, { authorization: bearer(dpopToken) });
    expect(res.status).toBe(401);
    expect(res.challenge).toBe(`Bearer realm="${REALM}", error="invalid_token"`);
    expect((res.body.error as { message: string }).message).toMatch(/DPoP/);
  });

  test('a missing scope: 403 with a DPoP challenge', async () => {
    const url = `${api.url}/v2/time-punches`;
    const res = await send(url, await proof({ htu: url, htm: 'POST' }), dpopToken, 'POST');
    expect(res.status).toBe(403);
    expect(res.challenge).toMatch(new RegExp(`^DPoP realm="${REALM}", error="insufficient_scope", scope="timepunches:write", algs="`));
  });

  test('a proof is good once: replayed, it is refused', async () => {
    const url = `${api.url}/v2/schedules`;
    const once = await proof({ htu: url });
    expect((await send(url, once)).status).toBe(200);
    expectProofRefused(await send(url, once));
  });

  test('bad proofs: missing, not a JWT, another key, URL, method, token, stale', async () => {
    const url = `${api.url}/v2/schedules`;
    const otherKey = await generateKeyPair('ES256', { extractable: true });
    expectProofRefused(await send(url, undefined));
    expectProofRefused(await send(url, 'not.a.jwt'));
    const good = await proof({ htu: url });
    expectProofRefused(await send(url, `${good}, ${good}`)); // two DPoP headers, as Node joins them
    expectProofRefused(await send(url, await proof({ htu: url, key: otherKey })));
    expectProofRefused(await send(url, await proof({ htu: `${api.url}/v2/company` })));
    expectProofRefused(await send(url, await proof({ htu: url, htm: 'POST' })));
    expectProofRefused(await send(url, await proof({ htu: url, token: 'another-token' })));
    expectProofRefused(await send(url, await proof({ htu: url, iat: Math.floor(Date.now() / 1000) - 600 })));
    expectProofRefused(await send(url, await proof({ htu: url, iat: Math.floor(Date.now() / 1000) + 600 })));
  });

  test('a proof carrying a private key, or without a jti, is refused', async () => {
    const url = `${api.url}/v2/schedules`;
    const claims = () => ({ htm: 'GET', htu: url, iat: Math.floor(Date.now() / 1000), ath: createHash('sha256').update(dpopToken).digest('base64url') });
    // The header's jwk with its private part `d` (RFC 9449 §4.2: MUST NOT contain a private key).
    const withPrivate = await new SignJWT({ ...claims(), jti: randomBytes(12).toString('base64url') })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(dpopKey.privateKey) }).sign(dpopKey.privateKey);
    expectProofRefused(await send(url, withPrivate));
    const noJti = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(dpopKey.publicKey) }).sign(dpopKey.privateKey);
    expectProofRefused(await send(url, noJti));
    // The control: the same proof with a jti and the public key is accepted.
    expect((await send(url, await proof({ htu: url }))).status).toBe(200);
  });

  test('dpop: false — the DPoP scheme is not accepted and challenges name Bearer only', async () => {
    const plain = await startApi(gatewayOptions({ dpop: false }));
    try {
      const url = `${plain.url}/v2/schedules`;
      const res = await send(url, await proof({ htu: url }));
      expect(res.status).toBe(401);
      expect(res.challenge).toMatch(new RegExp(`^Bearer realm="${REALM}"`));
      expect(res.challenge).not.toMatch(/DPoP|algs=/);
      const missing = await call(url, {});
      expect(missing.challenge).toBe(`Bearer realm="${REALM}"`);
      // Bearer tokens still work.
      const pat = await createToken(server.db, admin.user, { kind: 'access_token', name: 'no-dpop', scopes: ['schedules:read'], expiresAt: null });
      expect((await call(url, { authorization: bearer(pat.token) })).status).toBe(200);
    } finally {
      await plain.close();
    }
  });

  test('behind a proxy, htu is checked against publicOrigin', async () => {
    const proxied = await startApi(gatewayOptions({ publicOrigin: 'https://api.example.com' }));
    try {
      const url = `${proxied.url}/v2/schedules`;
      expect((await send(url, await proof({ htu: 'https://api.example.com/v2/schedules' }))).status).toBe(200);
      expectProofRefused(await send(url, await proof({ htu: url })));
    } finally {
      await proxied.close();
    }
  });

  test('htu is checked against publicOrigin, never the Host header the client sends', async () => {
    const url = `${api.url}/v2/schedules`;
    const res = await call(url, { authorization: `DPoP ${dpopToken}`, headers: { dpop: await proof({ htu: 'http://evil.test/v2/schedules' }), host: 'evil.test', 'x-forwarded-host': 'evil.test' } });
    expectProofRefused(res);
  });

  test('without publicOrigin a gateway accepts no DPoP (it could not check htu); dpop: true without it fails at start-up', async () => {
    const plain = await startApi(gatewayOptions());
    try {
      const url = `${plain.url}/v2/schedules`;
      expect((await send(url, await proof({ htu: url }))).status).toBe(401);
    } finally {
      await plain.close();
    }
    expect(() => createGateway({ ...gatewayOptions(), dpop: true })).toThrow(/dpop needs publicOrigin/);
  });

  test('an unbound token with the DPoP scheme, even with a valid proof: 401 invalid_token', async () => {
    const url = `${api.url}/v2/schedules`;
    const pat = await createToken(server.db, admin.user, { kind: 'access_token', name: 'unbound', scopes: ['schedules:read'], expiresAt: null });
    const res = await send(url, await proof({ htu: url, token: pat.token }), pat.token);
    expect(res.status).toBe(401);
    expect(res.challenge).toMatch(new RegExp(`^DPoP realm="${REALM}", error="invalid_token", algs="`));
  });
});
describe('configuration mistakes fail at start-up, with a clear message', () => {
  test.each<[string, Partial<GatewayOptions>, RegExp]>([
    ['no credentials', { clientSecret: '' }, /clientId and clientSecret/],
    ['both issuer and endpoint', { introspectionEndpoint: 'https://as.example.com/i' }, /exactly one/],
    ['neither', { issuer: undefined }, /exactly one/],
    ['http to another host', { issuer: 'http://auth.example.com' }, /https/],
    ['a URL with credentials', { issuer: 'https://u:p@auth.example.com' }, /credentials/],
    ['a realm with a quote', { realm: 'a"b' }, /realm/],
    ['a zero timeout', { timeoutMs: 0 }, /timeoutMs/],
    ['a negative cache', { cacheTtlMs: -1 }, /cacheTtlMs/],
  ])('%s', (_name, extra, message) => {
    expect(() => createGateway({ ...gatewayOptions(), ...extra })).toThrow(message);
  });

  test('http to another host is allowed only when asked for', () => {
    createGateway({ ...gatewayOptions(), issuer: 'http://auth.internal', allowInsecureHttp: true }).close();
  });

  test('invalid scope names in a route', () => {
    const g = createGateway(gatewayOptions());
    expect(() => g.requireToken(['a b'])).toThrow(/invalid scope/);
    expect(() => g.requireToken(['a"b'])).toThrow(/invalid scope/);
    g.close();
  });
});

describe('the acceptance rule, answer by answer', () => {
  const good = { active: true, auth_type: 'oauth', token_type: 'Bearer', company_guid: 'c1', client_id: 'app', sub: 'u1', scope: 'a b', exp: 2e9 };
  test.each<[string, Record<string, unknown>]>([
    ['active as a string', { ...good, active: 'true' }],
    ['no auth_type (not a grantledger gateway answer)', { ...good, auth_type: undefined }],
    ['an unknown auth_type', { ...good, auth_type: 'refresh' }],
    ['no token_type (a refresh token)', { ...good, token_type: undefined }],
    ['another token_type', { ...good, token_type: 'N_A' }],
    ['DPoP without cnf.jkt', { ...good, token_type: 'DPoP' }],
    ['DPoP for an access token', { ...good, auth_type: 'access_token', token_type: 'DPoP', cnf: { jkt: 'k' } }],
    ['mTLS-bound (cnf x5t#S256)', { ...good, cnf: { 'x5t#S256': 'x' } }],
    ['cnf with jkt and more', { ...good, cnf: { jkt: 'k', 'x5t#S256': 'x' } }],
    ['no company', { ...good, company_guid: undefined }],
    ['an empty company', { ...good, company_guid: '' }],
    ['oauth without client_id', { ...good, client_id: undefined }],
    ['a numeric sub', { ...good, sub: 42 }],
    ['a scope array', { ...good, scope: ['a'] }],
    ['exp as a string', { ...good, exp: '2000000000' }],
  ])('refused: %s', (_name, answer) => {
    expect(acceptIntrospection(answer)).toBeUndefined();
  });

  test('accepted: a frozen view for the handler', () => {
    const verdict = acceptIntrospection(good)!;
    expect(verdict.auth).toEqual({ company_guid: 'c1', client_id: 'app', sub: 'u1', scopes: ['a', 'b'], auth_type: 'oauth' });
    expect(Object.isFrozen(verdict.auth) && Object.isFrozen(verdict.auth.scopes)).toBe(true);
    expect(verdict.expiresAt).toBe(2e12);
    expect(acceptIntrospection({ ...good, token_type: 'dpop', cnf: { jkt: 'k' } })?.jkt).toBe('k');
    expect(acceptIntrospection({ ...good, auth_type: 'api_key', client_id: undefined, sub: undefined, scope: undefined })?.auth)
      .toEqual({ company_guid: 'c1', client_id: null, sub: null, scopes: [], auth_type: 'api_key' });
  });
});
