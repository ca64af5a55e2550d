// The dispatcher (src/dispatch.ts): oidc-provider's JSON endpoints answered straight from
// node:http keep what the Koa app gave them (security headers, metrics by route name, hooks in
// front of the engine), and everything else still goes through the Koa app.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { directRoute, type DirectRoute } from '../../src/dispatch.js';
import { basicAuth } from '../helpers/http.js';
import { introspect } from '../helpers/oauth.js';
import { makeApp, makeGateway, startTestServer, type TestServer } from '../helpers/server.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

test('directRoute: the four JSON endpoints by exact path, the query string ignored, nothing else', () => {
  expect(directRoute('/token')).toBe('token');
  expect(directRoute('/token?x=1')).toBe('token');
  expect(directRoute('/token/introspection?token=a')).toBe('introspection');
  expect(directRoute('/token/revocation')).toBe('revocation');
  expect(directRoute('/me')).toBe('userinfo');
  for (const url of ['/', '/auth', '/jwks', '/.well-known/openid-configuration', '/token/', '/TOKEN', '/token/../token', '/tokens', '//token',
    '/me/', '/constructor', '/__proto__', '/toString', undefined]) {
    expect(directRoute(url)).toBeUndefined();
  }
});

describe('direct provider routes', () => {
  let server: TestServer;
  let gateway: { clientId: string; clientSecret: string };
  let app: { clientId: string; clientSecret: string };
  const seen: Array<{ route: DirectRoute; url: string }> = [];

  beforeAll(async () => {
    // A hook in front of the engine (where client-authentication throttling goes): it answers
    // 429 itself when asked to, fails when asked to, and otherwise lets the provider answer.
    const hook = (req: IncomingMessage, res: ServerResponse, route: DirectRoute) => {
      seen.push({ route, url: req.url! });
      if (req.headers['x-test-hook'] === 'refuse') {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' }).end('{"error":"slow_down"}');
        return true;
      }
      if (req.headers['x-test-hook'] === 'throw') throw new Error('hook failed on purpose');
      return false;
    };
    server = await startTestServer({}, undefined, { beforeProvider: [hook] });
    gateway = await makeGateway(server);
    app = await makeApp(server);
  });
  afterAll(() => server.close());

  test('each answers JSON with the security headers; pages of the provider still get the page headers from the Koa app', async () => {
    const answers = await Promise.all([
      fetch(`${server.url}/token`, { method: 'POST', headers: { ...FORM, authorization: basicAuth(app) }, body: 'grant_type=nope' }),
      fetch(`${server.url}/token/introspection`, { method: 'POST', headers: { ...FORM, authorization: basicAuth(gateway) }, body: 'token=abc' }),
      fetch(`${server.url}/token/revocation`, { method: 'POST', headers: { ...FORM, authorization: basicAuth(app) }, body: 'token=abc' }),
      fetch(`${server.url}/me`, { headers: { authorization: 'Bearer not-a-token' } }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([400, 200, 200, 401]);
    for (const [i, res] of answers.entries()) {
      // Revocation answers 200 with an empty body (RFC 7009), the others JSON.
      if (i !== 2) expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-frame-options')).toBeNull();
    }
    expect(seen.slice(-4).map((s) => s.route).sort()).toEqual(['introspection', 'revocation', 'token', 'userinfo']);

    // /auth renders a page (through the Koa app, not the dispatcher's direct path).
    const page = await fetch(`${server.url}/auth?client_id=nobody`);
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(seen.some((s) => s.url.startsWith('/auth'))).toBe(false);
  });

  test('a hook that answers stops the request before the engine; the answer is counted under the route', async () => {
    const res = await fetch(`${server.url}/token`, {
      method: 'POST', headers: { ...FORM, authorization: basicAuth(app), 'x-test-hook': 'refuse' }, body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toEqual({ error: 'slow_down' });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/grantledger_http_request_duration_seconds_count\{route="token",status="429"\} 1\b/);
    expect(metrics).toMatch(/grantledger_http_request_duration_seconds_count\{route="introspection",status="200"\} \d+/);
  });

  test('a failing hook answers a JSON 500 without a stack, and the server keeps answering', async () => {
    const res = await fetch(`${server.url}/token/introspection`, {
      method: 'POST', headers: { ...FORM, authorization: basicAuth(gateway), 'x-test-hook': 'throw' }, body: 'token=abc',
    });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: 'server_error', error_description: expect.any(String) });
    expect(text).not.toContain('hook failed');
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    expect((await introspect(server, gateway, 'abc')).body).toEqual({ active: false });
  });
});
