// Client authentication at the token, introspection and revocation endpoints, as someone
// guessing a gateway's or an app's secret tries it: throttled per client_id × IP (429 with
// Retry-After), counted in metrics, logged with client_id and IP but never the secret.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createLogger } from '../../src/shared/logger.js';
import { basicAuth } from '../helpers/http.js';
import { makeApp, makeGateway, startTestServer, type TestApp, type TestServer } from '../helpers/server.js';
import type { ClientCredentials } from '../helpers/http.js';

const LIMIT = 3;
const lines: string[] = [];
let server: TestServer;
let gateway: ClientCredentials;
let app: TestApp;
let ipSeq = 0;
const newIp = () => `198.18.0.${++ipSeq}`;

beforeAll(async () => {
  const logger = createLogger('info', {}, { write: (l: string) => void lines.push(l) });
  server = await startTestServer({ server: { trustProxy: 1, clientAuthRateLimit: LIMIT } }, undefined, { logger });
  gateway = await makeGateway(server);
  app = await makeApp(server);
});
afterAll(() => server.close());

async function post(path: string, fields: Record<string, string>, ip: string, client?: ClientCredentials) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip, ...(client ? { authorization: basicAuth(client) } : {}) },
    body: new URLSearchParams(fields).toString(),
  });
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body, cors: res.headers.get('access-control-allow-origin') };
}

describe('client-authentication throttling', () => {
  test('introspection: a parallel burst of wrong secrets gets CLIENT_AUTH_RATE_LIMIT 401s, then 429; the right secret is refused from that IP only', async () => {
    const ip = newIp();
    const wrong = { clientId: gateway.clientId, clientSecret: 'glcs_wrong-guess' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => post('/token/introspection', { token: 'x' }, ip, wrong)));
    expect(answers.filter((a) => a.status === 401)).toHaveLength(LIMIT);
    const throttled = answers.filter((a) => a.status === 429);
    expect(throttled).toHaveLength(8 - LIMIT);
    for (const a of throttled) {
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
      expect(a.body.error).toBe('rate_limited');
    }
    expect((await post('/token/introspection', { token: 'x' }, ip, gateway)).status).toBe(429);
    expect((await post('/token/introspection', { token: 'x' }, newIp(), gateway))).toMatchObject({ status: 200, body: { active: false } });
  });

  test.each([
    ['/token', { grant_type: 'client_credentials' }],
    ['/token/revocation', { token: 'x' }],
  ])('%s: wrong secrets in the body (client_secret_post) are throttled too', async (path, fields) => {
    const ip = newIp();
    const statuses = [];
    for (let i = 0; i < LIMIT + 2; i++) statuses.push((await post(path, { ...fields, client_id: app.clientId, client_secret: `wrong-${i}` }, ip)).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429, 429]);
  });

  test('the key is the address TRUST_PROXY trusts, never the client-chosen leftmost X-Forwarded-For (the provider’s own endpoints included)', async () => {
    const ip = newIp();
    const wrong = { clientId: gateway.clientId, clientSecret: 'glcs_wrong-guess' };
    const statuses = [];
    for (let i = 0; i < LIMIT + 2; i++) statuses.push((await post('/token/introspection', { token: 'x' }, `203.0.113.${i}, ${ip}`, wrong)).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429, 429]);
  });

  test('failures are counted in metrics and logged with client_id and IP, never the secret', async () => {
    const ip = newIp();
    await post('/token/introspection', { token: 'x' }, ip, { clientId: gateway.clientId, clientSecret: 'glcs_SECRET-IN-LOG-CHECK' });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/grantledger_client_auth_failures_total\{endpoint="introspection",throttled="false"\} [1-9]/);
    expect(metrics).toMatch(/grantledger_client_auth_failures_total\{endpoint="introspection",throttled="true"\} [1-9]/);
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'client authentication failed' && l.ip === ip);
    expect(logged).toEqual([expect.objectContaining({ client_id: gateway.clientId, ip, endpoint: 'introspection', level: 'warn' })]);
    expect(lines.join('\n')).not.toContain('SECRET-IN-LOG-CHECK');
  });
});

describe('no CORS on the introspection endpoint', () => {
  test('no Access-Control-* header on answers or preflights (the token endpoint keeps its own)', async () => {
    const a = await fetch(`${server.url}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(gateway), origin: 'https://evil.example' },
      body: 'token=x',
    });
    await a.arrayBuffer();
    const plain = await post('/token/introspection', { token: 'x' }, newIp(), gateway);
    expect(plain.cors).toBeNull();
    const preflight = await fetch(`${server.url}/token/introspection`, {
      method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    expect([...a.headers.keys(), ...preflight.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });
});
