// Malformed, oversized and hostile input on every endpoint of the real server: each answer is
// a 4xx — an OAuth error, a JSON error (API) or a page (UI) — never a 5xx, never a stack trace,
// never a partial write.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { createToken } from '../src/tokens/tokens.js';
import { basicAuth } from './helpers/http.js';
import { connect, formField, introspect, UserAgent } from './helpers/oauth.js';
import type { TestApp, TestServer, TestUser } from './helpers/server.js';
import { startOAuthWorld } from './helpers/world.js';

/** Tables a refused request must never write to (sessions, throttling and payloads aside). */
const DATA_TABLES = ['companies', 'users', 'clients', 'connections', 'consents', 'access_tokens', 'audit_events', 'webhook_deliveries', 'grant_purges', 'keys'];

let server: TestServer;
let app: TestApp;
let gateway: { clientId: string; clientSecret: string };
let pat: string;
let accessToken: string;
/** A browser holding a valid gl.csrf cookie, and the matching form token. */
let browser: UserAgent;
let csrf: string;
let admin: TestUser;

beforeAll(async () => {
  const world = await startOAuthWorld({}, { role: 'admin' });
  ({ server, app, gateway } = world);
  ({ user: admin } = world);
  const { config } = world;
  ({ token: pat } = await createToken(server.db, admin.user, { kind: 'access_token', name: 'hostile', scopes: ['schedules:read', 'developer_tools:write'], expiresAt: null }));
  ({ tokens: { access_token: accessToken } } = await connect(server, config, app, admin));
  browser = new UserAgent();
  csrf = formField(await (await browser.get(`${server.url}/login`)).text(), '_csrf');
});

const FORM = 'application/x-www-form-urlencoded';
const MB = 'x'.repeat(1024 * 1024);
const NOT_UTF8 = Buffer.from([0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x3d, 0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]);
const JWT_SHAPED = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln';

interface Answer {
  status: number;
  type: string;
  body: string;
  headers: Headers;
}

/** The 4xx answers `send` saw (the metrics must have counted at least those). */
let refusals = 0;

async function send(path: string, init: RequestInit & { agent?: UserAgent } = {}): Promise<Answer> {
  const { agent, ...rest } = init;
  let res: Response;
  try {
    res = agent ? await agent.request(`${server.url}${path}`, rest) : await fetch(`${server.url}${path}`, { redirect: 'manual', ...rest });
  } catch (err) {
    // The server may answer an oversized upload and close before the client finished sending:
    // that is a refusal too, but one this suite cannot read. Make it visible.
    throw new Error(`no HTTP answer for ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (res.status >= 400 && res.status < 500) refusals++;
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text(), headers: res.headers };
}

/** A 4xx (one of `statuses` when given) whose body leaks no stack trace or internal error. */
function expectRefused(a: Answer, statuses?: number[]) {
  if (statuses) expect(statuses).toContain(a.status);
  expect(a.status).toBeGreaterThanOrEqual(400);
  expect(a.status).toBeLessThan(500);
  expectNoLeak(a);
}

function expectNoLeak(a: Answer) {
  expect(a.body).not.toMatch(/^\s*at .+:\d+:\d+\)?$/m);
  expect(a.body).not.toMatch(/\bat (async )?[\w.<>]+ \(/);
  expect(a.body).not.toContain('Error:');
  expect(a.body).not.toMatch(/node_modules|\/src\/|\.ts:\d+|\.js:\d+/);
  expect(a.body).not.toMatch(/SQLITE_|syntax error|relation ".*"|duplicate key/i);
}

function oauthError(a: Answer): string {
  expect(a.type).toMatch(/application\/json/);
  return (JSON.parse(a.body) as { error: string }).error;
}

function apiError(a: Answer): string {
  expect(a.type).toMatch(/application\/json/);
  const body = JSON.parse(a.body) as { error: { code: string; message: string } };
  expect(body.error.message).toEqual(expect.any(String));
  return body.error.code;
}

const form = (fields: Record<string, string> | string, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': FORM, ...headers },
  body: typeof fields === 'string' ? fields : new URLSearchParams(fields).toString(),
});

/** Every row of the data tables, `last_used_at` aside (a valid bearer token's use is recorded). */
async function fingerprint(): Promise<string> {
  const parts: string[] = [];
  for (const table of DATA_TABLES) {
    const rows = await server.db.all<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY 1`);
    parts.push(JSON.stringify(rows.map(({ last_used_at: _l, ...row }) => row)));
  }
  return parts.join('\n');
}

/** Runs `requests` and checks they changed no row of a data table. */
async function withoutWrites(requests: () => Promise<void>): Promise<void> {
  const before = await fingerprint();
  await requests();
  expect(await fingerprint()).toBe(before);
}

describe('/auth', () => {
  const cases: Array<[string, string]> = [
    ['no parameters', ''],
    ['an unknown client', '?client_id=00000000-0000-4000-8000-000000000000&response_type=code&scope=openid'],
    ['a garbage client_id', `?client_id=${encodeURIComponent('<script>alert(1)</script>\u0000')}&response_type=code`],
    ['a 6 KB client_id', `?client_id=${'a'.repeat(6000)}&response_type=code`],
    ['broken percent-encoding', '?client_id=%E0%A4%A&redirect_uri=%&scope=%ZZ'],
    ['a duplicated client_id', '?client_id=a&client_id=b&response_type=code'],
    ['an array-shaped parameter', '?client_id[]=a&client_id[x]=b&response_type[__proto__]=code'],
    ['a garbage request object', '?client_id=00000000-0000-4000-8000-000000000000&request=not.a.jwt&response_type=code'],
  ];
  test.each(cases)('GET with %s: 4xx page', async (_name, query) => {
    const a = await send(`/auth${query}`, { headers: { accept: 'text/html' } });
    expectRefused(a, [400]);
    expect(a.headers.get('location')).toBeNull();
  });

  // With a registered redirect URI, OAuth sends errors back to the app (RFC 6749 §4.1.2.1).
  test.each([
    ['an unsupported response_type', { response_type: 'code token id_token' }, 'unsupported_response_type'],
    ['an unknown prompt', { prompt: 'garbage' }, 'invalid_request'],
    ['a negative max_age', { max_age: '-1' }, 'invalid_request'],
    ['a malformed code_challenge', { code_challenge: 'x' }, 'invalid_request'],
    ['a request_uri never pushed', { request_uri: 'urn:ietf:params:oauth:request_uri:garbage' }, 'invalid_request_uri'],
    ['a request object (not supported)', { request: 'not.a.jwt' }, 'request_not_supported'],
  ])('a valid client with %s is refused back to its redirect URI, without a code', async (_name, bad, error) => {
    const q = new URLSearchParams({
      client_id: app.clientId, redirect_uri: app.redirectUri, response_type: 'code', scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', ...bad,
    });
    const a = await send(`/auth?${q}`);
    expect(a.status).toBe(303);
    const location = new URL(a.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(app.redirectUri);
    // The error travels in the query, or in the fragment for response types that use it.
    const answer = new URLSearchParams(location.hash ? location.hash.slice(1) : location.search);
    expect(answer.get('error')).toBe(error);
    expect(answer.has('code')).toBe(false);
  });

  test('a 20 KB query string: 4xx', async () => {
    expectRefused(await send(`/auth?client_id=${'a'.repeat(20_000)}`), [400, 414, 431]);
  });

  test('a POST with a non-form body: 4xx', async () => {
    expectRefused(await send('/auth', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_id":' }));
  });
});

describe('/token', () => {
  const auth = () => ({ authorization: basicAuth(app) });

  test('an unsupported grant type: unsupported_grant_type', async () => {
    for (const grant of ['password', 'urn:ietf:params:oauth:grant-type:jwt-bearer', '', 'x'.repeat(3000)]) {
      const a = await send('/token', form({ grant_type: grant }, auth()));
      expectRefused(a, [400]);
      expect(['unsupported_grant_type', 'invalid_request']).toContain(oauthError(a));
    }
  });

  test('missing parameters: invalid_request', async () => {
    const cases: Array<Record<string, string>> = [{}, { grant_type: 'authorization_code' }, { grant_type: 'refresh_token' }, { grant_type: 'client_credentials', scope: '' }];
    for (const fields of cases) {
      const a = await send('/token', form(fields, auth()));
      expectRefused(a, [400]);
      expect(oauthError(a)).toBe('invalid_request');
    }
  });

  test('garbage codes and refresh tokens: invalid_grant', async () => {
    const cases: Array<Record<string, string>> = [
      { grant_type: 'authorization_code', code: 'x'.repeat(5000), redirect_uri: app.redirectUri, code_verifier: 'y'.repeat(43) },
      { grant_type: 'authorization_code', code: JWT_SHAPED, redirect_uri: app.redirectUri, code_verifier: 'y'.repeat(43) },
      { grant_type: 'refresh_token', refresh_token: '\' OR 1=1 --' },
      { grant_type: 'refresh_token', refresh_token: pat },
      { grant_type: 'refresh_token', refresh_token: accessToken },
    ];
    for (const fields of cases) {
      const a = await send('/token', form(fields, auth()));
      expectRefused(a, [400]);
      expect(oauthError(a)).toBe('invalid_grant');
    }
  });

  test('a malformed code_verifier: 4xx', async () => {
    const a = await send('/token', form({ grant_type: 'authorization_code', code: 'abc', redirect_uri: app.redirectUri, code_verifier: 'short' }, auth()));
    expectRefused(a, [400]);
  });

  test('duplicated parameters: invalid_request', async () => {
    const a = await send('/token', form('grant_type=client_credentials&grant_type=refresh_token&scope=a', auth()));
    expectRefused(a, [400]);
    expect(oauthError(a)).toBe('invalid_request');
  });

  test('a 1 MB body: 4xx', async () => {
    const a = await send('/token', form(`grant_type=client_credentials&scope=${MB}`, auth()));
    expectRefused(a, [400, 413]);
  });

  test('a JSON body (and invalid JSON): invalid_request', async () => {
    for (const body of ['{"grant_type":"client_credentials"}', '{"grant_type":']) {
      const a = await send('/token', { method: 'POST', headers: { 'content-type': 'application/json', ...auth() }, body });
      expectRefused(a, [400]);
      expect(oauthError(a)).toBe('invalid_request');
    }
  });

  test('no content type, an unknown charset, a non-UTF-8 body: 4xx', async () => {
    expectRefused(await send('/token', { method: 'POST', headers: auth(), body: 'grant_type=client_credentials' }), [400]);
    expectRefused(await send('/token', { method: 'POST', headers: { 'content-type': `${FORM}; charset=x-klingon`, ...auth() }, body: 'grant_type=client_credentials' }), [400]);
    expectRefused(await send('/token', { method: 'POST', headers: { 'content-type': FORM, ...auth() }, body: NOT_UTF8 }), [400]);
  });

  test('a content-length that lies: 4xx', async () => {
    // fetch sets content-length itself; a raw request is needed to lie about it.
    const { request } = await import('node:http');
    const url = new URL(`${server.url}/token`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
        headers: { 'content-type': FORM, 'content-length': '10', authorization: basicAuth(app) },
      }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('grant_type=');
    });
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
  });

  test('client credentials with a garbage, duplicated or unconnected company: 4xx', async () => {
    for (const body of [
      'grant_type=client_credentials&company=garbage', `grant_type=client_credentials&company=${'a'.repeat(5000)}`,
      'grant_type=client_credentials&company=00000000-0000-4000-8000-000000000000&company=00000000-0000-4000-8000-000000000001',
      'grant_type=client_credentials&company=00000000-0000-4000-8000-000000000000',
    ]) {
      const a = await send('/token', form(body, auth()));
      expectRefused(a, [400]);
      expect(['invalid_request', 'unauthorized_client']).toContain(oauthError(a));
    }
  });

  test('GET and PUT: 4xx', async () => {
    expectRefused(await send('/token?grant_type=client_credentials'));
    expectRefused(await send('/token', { method: 'PUT', headers: { 'content-type': FORM }, body: 'grant_type=client_credentials' }));
  });
});

describe('/token/introspection', () => {
  const asGateway = (token: string, extra: Record<string, string> = {}) =>
    send('/token/introspection', form({ token, ...extra }, { authorization: basicAuth(gateway) }));

  /** 200 {"active": false}, or a 4xx OAuth error: never a 5xx, never active. */
  function expectInactiveOrRefused(a: Answer) {
    expectNoLeak(a);
    if (a.status === 200) expect(JSON.parse(a.body)).toEqual({ active: false });
    else expectRefused(a, [400]);
  }

  test('an oversized token', async () => {
    expectInactiveOrRefused(await asGateway('a'.repeat(40_000)));
    expectRefused(await asGateway(MB), [400, 413]);
  });

  test('a JWT-shaped token: refused, never introspected', async () => {
    const a = await asGateway(JWT_SHAPED);
    expectRefused(a, [400]);
    expect(oauthError(a)).toBe('unsupported_token_type');
  });

  test('our glpat_ and glak_ prefixes with a bad checksum: {active: false}', async () => {
    const flipped = pat.slice(0, -1) + (pat.endsWith('A') ? 'B' : 'A');
    for (const token of [flipped, `glpat_${'A'.repeat(49)}`, 'glpat_', `glak_${'z'.repeat(49)}`, `${pat}x`]) {
      const a = await asGateway(token);
      expect(a.status).toBe(200);
      expect(JSON.parse(a.body)).toEqual({ active: false });
    }
    // Control: the well-formed token is active.
    expect((await introspect(server, gateway, pat)).body.active).toBe(true);
  });

  test('garbage tokens', async () => {
    for (const token of ['\u0000\u0001', "' OR '1'='1", '../../etc/passwd', '%00', '☃'.repeat(1000)]) {
      expectInactiveOrRefused(await asGateway(token));
    }
  });

  test('garbage hints are ignored (RFC 7662 §2.1), never an error', async () => {
    for (const hint of ['x'.repeat(500), 'id_token', 'refresh_token', '\u0000']) {
      const a = await asGateway(accessToken, { token_type_hint: hint });
      expectNoLeak(a);
      expect(a.status).toBe(200);
      expect(JSON.parse(a.body)).toMatchObject({ active: true, client_id: app.clientId });
    }
  });

  test('a missing or duplicated token parameter: invalid_request', async () => {
    for (const body of ['', 'token=', `token=${accessToken}&token=x`]) {
      const a = await send('/token/introspection', form(body, { authorization: basicAuth(gateway) }));
      expectRefused(a, [400]);
      expect(oauthError(a)).toBe('invalid_request');
    }
  });

  test('a non-UTF-8 body', async () => {
    expectInactiveOrRefused(await send('/token/introspection', { method: 'POST', headers: { 'content-type': FORM, authorization: basicAuth(gateway) }, body: NOT_UTF8 }));
  });
});

describe('/token/revocation', () => {
  const asApp = (body: Record<string, string> | string) => send('/token/revocation', form(body, { authorization: basicAuth(app) }));

  test('garbage tokens are answered as RFC 7009 says (200) without effect, JWT-shaped ones refused', async () => {
    for (const token of ['x'.repeat(40_000), "' OR 1=1 --", `glpat_${'A'.repeat(49)}`]) {
      const a = await asApp({ token });
      expect(a.status).toBe(200);
      expectNoLeak(a);
    }
    expectRefused(await asApp({ token: JWT_SHAPED }), [400]);
    expect((await introspect(server, gateway, accessToken)).body.active).toBe(true);
  });

  test('missing token, 1 MB body, no client authentication: 4xx', async () => {
    expectRefused(await asApp({}), [400]);
    expectRefused(await asApp(`token=${MB}`), [400, 413]);
    expectRefused(await send('/token/revocation', form({ token: accessToken })), [400, 401]);
    expect((await introspect(server, gateway, accessToken)).body.active).toBe(true);
  });
});

describe('/request (PAR) and /session/end', () => {
  test('pushed authorization requests with garbage: 4xx', async () => {
    for (const body of ['', 'client_id=zzz', 'response_type=code&redirect_uri=https://evil.example', `request=${JWT_SHAPED}`, `scope=${MB}`]) {
      const a = await send('/request', form(body, { authorization: basicAuth(app) }));
      expectRefused(a, [400, 413]);
    }
  });

  test('end session with a garbage id_token_hint or an unregistered post_logout_redirect_uri: 4xx, no redirect', async () => {
    for (const query of [
      `id_token_hint=${JWT_SHAPED}`, 'id_token_hint=garbage', `post_logout_redirect_uri=https://evil.example&client_id=${app.clientId}`,
    ]) {
      const a = await send(`/session/end?${query}`, { headers: { accept: 'text/html' } });
      expectRefused(a, [400]);
      expect(a.headers.get('location')).toBeNull();
    }
    expectRefused(await send('/session/end/confirm', form({ xsrf: 'forged', logout: 'yes' })), [400]);
  });
});

describe('/me (userinfo)', () => {
  // Headers are built when the test runs (the access token exists only after beforeAll).
  const bad: Array<[string, () => string]> = [
    ['none', () => ''], ['Bearer', () => 'Bearer'], ['Bearer and a space', () => 'Bearer '], ['two words', () => 'Bearer a b'],
    ['Basic', () => basicAuth({ clientId: 'a', clientSecret: 'b' })], ['an 8 KB token', () => `Bearer ${'x'.repeat(8000)}`],
    ['a JWT-shaped token', () => `Bearer ${JWT_SHAPED}`], ['a glpat_ token', () => `Bearer ${pat}`],
    ['a DPoP scheme for a Bearer token', () => `DPoP ${accessToken}`], ['a near-miss token', () => `Bearer ${accessToken}x`],
    ['a Latin-1 byte', () => 'Bearer \u00ff'],
  ];
  test.each(bad)('Authorization with %s: 4xx', async (_label, header) => {
    const value = header();
    const a = await send('/me', { headers: value ? { authorization: value } : {} });
    expectRefused(a, [400, 401]);
  });

  test('a token in both the header and the query: 4xx', async () => {
    expectRefused(await send(`/me?access_token=${accessToken}`, { headers: { authorization: `Bearer ${accessToken}` } }), [400]);
  });

  test('control: the valid token works', async () => {
    expect((await send('/me', { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(200);
  });
});

describe('/interaction/:uid', () => {
  test('GET with a bogus uid: 400 page', async () => {
    for (const uid of ['bogus', 'x'.repeat(500), '%00', '..%2F..%2Fetc']) {
      const a = await send(`/interaction/${uid}`, { headers: { accept: 'text/html' } });
      expectRefused(a, [400, 404]);
      expect(a.type).toMatch(/text\/html/);
    }
  });

  test.each(['login', 'confirm', 'abort'])('POST /%s without a CSRF token: 403', async (step) => {
    const a = await send(`/interaction/bogus/${step}`, form({ email: 'a@example.com', password: 'x' }, { accept: 'text/html' }));
    expectRefused(a, [403]);
    // With the CSRF cookie but a forged form token: 403 too.
    const b = await send(`/interaction/bogus/${step}`, { ...form({ _csrf: 'forged', email: 'a@example.com' }, { accept: 'text/html' }), agent: browser });
    expectRefused(b, [403]);
  });

  test.each(['login', 'confirm', 'abort'])('POST /%s with a valid CSRF token but a bogus uid: 400 page', async (step) => {
    const a = await send(`/interaction/bogus/${step}`, { ...form({ _csrf: csrf, email: 'a@example.com', password: 'x' }, { accept: 'text/html' }), agent: browser });
    expectRefused(a, [400]);
    expect(a.type).toMatch(/text\/html/);
  });

  test('POST with the wrong content type, an oversized or non-UTF-8 body', async () => {
    expectRefused(await send('/interaction/bogus/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), [415]);
    expectRefused(await send('/interaction/bogus/login', form(`_csrf=${csrf}&email=${MB}`)), [413]);
    expectRefused(await send('/interaction/bogus/login', { method: 'POST', headers: { 'content-type': FORM }, body: NOT_UTF8 }), [400]);
  });
});

describe('/login (Developer Tools sign-in)', () => {
  test('POST without a CSRF token: 403', async () => {
    expectRefused(await send('/login', form({ email: 'a@example.com', password: 'x' }, { accept: 'text/html' })), [403]);
  });

  test('POST with the wrong content type, an oversized or non-UTF-8 body', async () => {
    expectRefused(await send('/login', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'email=a' }), [415]);
    expectRefused(await send('/login', { ...form(`_csrf=${csrf}&password=${MB}`), agent: browser }), [413]);
    expectRefused(await send('/login', { method: 'POST', headers: { 'content-type': FORM }, body: NOT_UTF8, agent: browser }), [400]);
  });

  test('absurd credentials with a valid CSRF token: 4xx page, no session', async () => {
    for (const fields of [{ email: '', password: '' }, { email: 'a@example.com', password: 'p'.repeat(5000) }, { email: "' OR 1=1 --", password: 'x' }]) {
      const a = await send('/login', { ...form({ _csrf: csrf, ...fields }, { accept: 'text/html' }), agent: browser });
      expectRefused(a, [400, 401]);
      expect(browser.cookies.has('gl.admin')).toBe(false);
    }
  });

  test('a hostile next parameter never redirects off-site', async () => {
    const a = await send('/login?next=//evil.example/x', { agent: browser, headers: { accept: 'text/html' } });
    expect(a.status).toBe(200);
    expect(a.body).not.toContain('evil.example');
    // The redirect happens after a successful POST /login: each hostile next lands on our origin.
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)', '/%2F%2Fevil.example']) {
      const agent = new UserAgent();
      const page = await agent.get(`${server.url}/login`);
      const posted = await agent.postForm(`${server.url}/login`, { _csrf: formField(await page.text(), '_csrf'), email: admin.email, password: admin.password, next });
      expect(posted.status).toBe(303);
      const location = posted.headers.get('location')!;
      expect(location).toMatch(/^\/(?![/\\])/);
      expect(new URL(location, server.url).origin).toBe(server.url);
    }
  });
});

describe('/api/v1', () => {
  // Every test of this block sends only requests that must be refused: none may change a row.
  let before: string;
  beforeEach(async () => {
    before = await fingerprint();
  });
  afterEach(async () => {
    expect(await fingerprint()).toBe(before);
  });
  const bearer = () => ({ authorization: `Bearer ${pat}` });
  const json = (body: string | Buffer, headers: Record<string, string> = {}): RequestInit => ({
    method: 'POST', headers: { 'content-type': 'application/json', ...bearer(), ...headers }, body,
  });

  test('no credentials: 401 JSON on every resource', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/connected-apps'], ['DELETE', `/api/v1/connected-apps/${app.clientId}`], ['GET', '/api/v1/access-tokens'],
      ['POST', '/api/v1/access-tokens'], ['GET', '/api/v1/api-keys'], ['GET', '/api/v1/audit-events'], ['GET', '/api/v1/nope'],
    ]) {
      const a = await send(path!, { method, headers: { accept: 'application/json' } });
      expectRefused(a, [401]);
      expect(apiError(a)).toBe('unauthenticated');
    }
  });

  test('bad bearer credentials: 401 JSON', async () => {
    for (const header of ['Bearer', 'Bearer x', `Bearer ${accessToken}`, `Bearer ${pat.slice(0, -1)}${pat.endsWith('A') ? 'B' : 'A'}`, basicAuth({ clientId: 'a', clientSecret: 'b' }), `Bearer ${'x'.repeat(8000)}`]) {
      const a = await send('/api/v1/connected-apps', { headers: { authorization: header } });
      expectRefused(a, [401]);
      expect(apiError(a)).toMatch(/^(invalid_token|unauthenticated)$/);
    }
  });

  test('bad JSON: 400', async () => {
    for (const body of ['{"name":', '{"name": "x",}', 'null', '[]', '"x"', '{"name": "x", "__proto__": {"admin": true}}', '{"name": ["x"]}']) {
      const a = await send('/api/v1/access-tokens', json(body));
      expectRefused(a, [400]);
      expect(apiError(a)).toBe('invalid_request');
    }
  });

  test('invalid fields: 400 naming the field', async () => {
    for (const body of [
      { name: '' }, { name: 'x'.repeat(201) }, { name: 'x', scopes: ['root'] }, { name: 'x', scopes: 'schedules:read' },
      { name: 'x', expires_at: 'tomorrow' }, { name: 'x', expires_at: '2000-01-01' }, { name: 'x', unexpected: 1 },
      { name: 'x', expires_at: '2027-02-30' }, { name: 'x', expires_at: '9999-12-31' }, { name: 'x', expires_at: '2027-01-01T25:00:00Z' },
    ]) {
      const a = await send('/api/v1/access-tokens', json(JSON.stringify(body)));
      expectRefused(a, [400]);
      expect(apiError(a)).toBe('invalid_request');
    }
  });

  test('oversized bodies: 413', async () => {
    const a = await send('/api/v1/access-tokens', json(JSON.stringify({ name: MB })));
    expectRefused(a, [413]);
    expect(apiError(a)).toBe('payload_too_large');
  });

  test('wrong content type: 415', async () => {
    for (const type of ['text/plain', FORM, 'application/xml']) {
      const a = await send('/api/v1/access-tokens', json('{"name":"x"}', { 'content-type': type }));
      expectRefused(a, [415]);
      expect(apiError(a)).toBe('unsupported_media_type');
    }
  });

  test('non-UTF-8 JSON: 400', async () => {
    const a = await send('/api/v1/access-tokens', json(Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])));
    expectRefused(a, [400]);
  });

  test('malformed ids and query strings: 4xx JSON', async () => {
    for (const path of [
      '/api/v1/connected-apps/not-a-guid', `/api/v1/connected-apps/${'x'.repeat(3000)}`, '/api/v1/access-tokens/%00',
      '/api/v1/audit-events?limit=abc', '/api/v1/audit-events?limit=100000', '/api/v1/audit-events?cursor=-1',
      '/api/v1/audit-events?cursor=1&cursor=2', '/api/v1/audit-events?limit=1&limit=2',
    ]) {
      const a = await send(path, { headers: bearer() });
      expectRefused(a, [400, 404]);
      apiError(a);
    }
    const del = await send('/api/v1/access-tokens/00000000-0000-4000-8000-000000000000', { method: 'DELETE', headers: bearer() });
    expectRefused(del, [404]);
  });

  test('none of the refused requests wrote anything', async () => {
    const a = await send('/api/v1/access-tokens', { headers: bearer() });
    expect(a.status).toBe(200);
    const names = (JSON.parse(a.body) as { data: Array<{ name: string }> }).data.map((t) => t.name);
    expect(names).toEqual(['hostile']);
    expect((await server.db.all('SELECT id FROM access_tokens')).length).toBe(1);
  });
});

describe('Developer Tools pages', () => {
  test('forms without a session: 401 page, never a write', async () => {
    await withoutWrites(async () => {
      for (const path of ['/settings/developer-tools/access-tokens', '/settings/developer-tools/api-keys', `/settings/developer-tools/connected-apps/${app.clientId}/revoke`]) {
        expectRefused(await send(path, form({ name: 'x', _csrf: csrf }, { accept: 'text/html' })), [401]);
        expectRefused(await send(path, { ...form({ name: 'x', _csrf: csrf }, { accept: 'text/html' }), agent: browser }), [401]);
      }
    });
  });
});

describe('everything else', () => {
  test('unknown paths, traversal and odd methods: 4xx', async () => {
    for (const [method, path] of [
      ['GET', '/nope'], ['GET', '/assets/..%2F..%2Fpackage.json'], ['GET', '/assets/x.exe'], ['GET', '/.well-known/../../etc/passwd'],
      ['DELETE', '/.well-known/openid-configuration'], ['POST', '/jwks'], ['PATCH', '/me'], ['GET', '/reg'],
    ]) {
      const a = await send(path!, { method });
      expectRefused(a);
    }
  });

  test('a hostile Host header does not leak into discovery', async () => {
    const a = await send('/.well-known/openid-configuration', { headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' } });
    expect(a.status).toBe(200);
    expect(a.body).not.toContain('evil.example');
  });
});

describe('control characters in credentials and form fields', () => {
  const CONTROL = ['\u0000', '\u001b[2J', '\u0008', '\u007f'];

  test.each(CONTROL.map((c) => [JSON.stringify(c), c]))('%s in the e-mail or password of the Developer Tools sign-in: 400 page, no session', async (_n, c) => {
    for (const fields of [{ email: `a${c}@example.com`, password: 'x' }, { email: 'a@example.com', password: `pass${c}word` }]) {
      const a = await send('/login', { ...form({ _csrf: csrf, ...fields }, { accept: 'text/html' }), agent: browser });
      expectRefused(a, [400]);
      expect(a.type).toMatch(/text\/html/);
      expect(browser.cookies.has('gl.admin')).toBe(false);
    }
  });

  test('a NUL in the e-mail of the OAuth login page: 400 page', async () => {
    const agent = new UserAgent();
    const q = new URLSearchParams({
      client_id: app.clientId, redirect_uri: app.redirectUri, response_type: 'code', scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    });
    const { res } = await agent.follow(await agent.get(`${server.url}/auth?${q}`), `${server.url}/auth?${q}`, server.url);
    const html = await res.text();
    const uid = /\/interaction\/([^/"]+)\//.exec(html)![1]!;
    const a = await send(`/interaction/${uid}/login`, { ...form({ _csrf: formField(html, '_csrf'), email: 'a\u0000@example.com', password: 'x' }, { accept: 'text/html' }), agent });
    expectRefused(a, [400]);
    expect(a.type).toMatch(/text\/html/);
  });

  test.each(['/token', '/token/introspection', '/token/revocation'])('a NUL in the client_id or secret at %s: 4xx OAuth error', async (path) => {
    const fields: Record<string, string> = path === '/token' ? { grant_type: 'client_credentials' } : { token: 'x' };
    for (const client of [{ clientId: `${app.clientId}\u0000`, clientSecret: app.clientSecret }, { clientId: app.clientId, clientSecret: 'secret\u0000' }]) {
      expectRefused(await send(path, form(fields, { authorization: basicAuth(client) })), [400, 401]);
      expectRefused(await send(path, form({ ...fields, client_id: client.clientId, client_secret: client.clientSecret })), [400, 401]);
    }
  });

  test('a NUL in a bearer token (userinfo, admin API): 4xx', async () => {
    expectRefused(await send('/me', { headers: { authorization: `Bearer ${pat}%00` } }), [400, 401]);
    expectRefused(await send('/api/v1/access-tokens', { headers: { authorization: `Bearer ${pat.slice(0, 10)}\u0000${pat.slice(11)}`.replace('\u0000', '%00') } }), [400, 401]);
  });
});

// After every test of this file, whatever order they ran in (`--randomize`): every answer,
// including the ones this file accepted without reading, went through the server's metrics by
// status class. A failure here fails the file.
afterAll(async () => {
  try {
    await expectNo5xx();
  } finally {
    await server.close();
  }
});

async function expectNo5xx(): Promise<void> {
  const a = await send('/metrics');
  const counts = Object.fromEntries(
    [...a.body.matchAll(/^grantledger_http_requests_total\{code="(\dxx)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
  );
  expect(counts['4xx'] ?? 0).toBeGreaterThanOrEqual(refusals);
  expect(counts['5xx'] ?? 0).toBe(0);
}
