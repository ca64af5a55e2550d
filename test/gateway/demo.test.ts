// The demo V2 API (scripts/demo-api.ts) end to end, as its header tells it: an app connects,
// calls the API, the admin revokes the app, the next call gets 401 — against a real grantledger.
// Then the script itself, started the way `npm run demo:api` starts it.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { createDemoApi } from '../../scripts/demo-api.js';
import type { Gateway } from '../../src/gateway/index.js';
import { createToken } from '../../src/tokens/tokens.js';
import { freePort } from '../helpers/http.js';
import { connect } from '../helpers/oauth.js';
import type { TestApp, TestServer, TestUser } from '../helpers/server.js';
import { startOAuthWorld } from '../helpers/world.js';
import { bearer, call, closeServer } from './helpers.js';

let server: TestServer;
let companyGuid: string;
let admin: TestUser;
let app: TestApp;
let gatewayCreds: { clientId: string; clientSecret: string };
let config: oidc.Configuration;
let demo: { url: string; server: Server; gateway: Gateway };

beforeAll(async () => {
  // The app and the gateway are made as `grantledger client create` and `grantledger gateway create` make them.
  ({ server, companyGuid, user: admin, app, gateway: gatewayCreds, config } = await startOAuthWorld({}, {
    role: 'admin', app: { redirectUris: ['http://localhost:8080/callback'] },
  }));
  const { app: koa, gateway } = createDemoApi({ issuer: server.url, ...gatewayCreds, timeoutMs: 15_000 });
  const listening = koa.listen(0, '127.0.0.1');
  await new Promise((resolve) => listening.once('listening', resolve));
  demo = { url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}`, server: listening, gateway };
});
afterAll(async () => {
  demo?.gateway.close();
  if (demo) await closeServer(demo.server);
  await server?.close();
});

const json = (body: unknown) => ({ 'content-type': 'application/json', body: JSON.stringify(body) });

async function post(path: string, token: string, init: { 'content-type'?: string; body?: string }) {
  const res = await fetch(`${demo.url}${path}`, {
    method: 'POST',
    headers: { authorization: bearer(token), ...(init['content-type'] ? { 'content-type': init['content-type'] } : {}) },
    body: init.body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the demo V2 API: connect, call, revoke, 401', () => {
  test('the whole path', async () => {
    const scope = 'openid offline_access company:read schedules:read timepunches:write';

    // 1. The admin connects the app (login + consent); the app gets its tokens.
    const first = await connect(server, config, app, admin, { scope });
    expect(first.consentShown).toBe(true);
    const token = first.tokens.access_token;

    // 2. The app calls the API.
    const company = await call(`${demo.url}/v2/company`, { authorization: bearer(token) });
    expect(company.status).toBe(200);
    expect(company.body.data).toEqual({
      guid: companyGuid,
      caller: { auth_type: 'oauth', client_id: app.clientId, sub: admin.user.guid, scopes: expect.arrayContaining(['company:read']) },
    });
    const schedules = await call(`${demo.url}/v2/schedules`, { authorization: bearer(token) });
    expect(schedules.status).toBe(200);
    expect(schedules.body.data).toEqual(expect.arrayContaining([expect.objectContaining({ company_guid: companyGuid })]));
    const punch = await post('/v2/time-punches', token, json({ type: 'in' }));
    expect(punch.status).toBe(201);
    expect(punch.body.data).toMatchObject({ type: 'in', recorded_by: { auth_type: 'oauth', client_id: app.clientId } });
    // The API's own input checks, after authentication.
    expect((await post('/v2/time-punches', token, json({ type: 'sideways' }))).status).toBe(400);
    expect((await post('/v2/time-punches', token, { 'content-type': 'application/json', body: '{' })).status).toBe(400);
    expect((await post('/v2/time-punches', token, { 'content-type': 'text/plain', body: 'in' })).status).toBe(415);
    expect((await post('/v2/time-punches', token, json({ type: 'in', pad: 'x'.repeat(20_000) }))).status).toBe(413);

    // 3. The admin revokes the app (Developer Tools' "Revoke access", here through the admin API).
    const pat = await createToken(server.db, admin.user, { kind: 'access_token', name: 'cli', scopes: ['company:read', 'developer_tools:write'], expiresAt: null });
    const revoked = await fetch(`${server.url}/api/v1/connected-apps/${app.clientId}`, { method: 'DELETE', headers: { authorization: bearer(pat.token) } });
    expect(revoked.status).toBe(200);

    // 4. The next call gets 401, and the refresh token is dead too.
    const refused = await call(`${demo.url}/v2/schedules`, { authorization: bearer(token) });
    expect(refused.status).toBe(401);
    expect(refused.challenge).toBe('Bearer realm="demo-v2", error="invalid_token"');
    await expect(oidc.refreshTokenGrant(config, first.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    // 5. Access comes back only through consent again.
    const again = await connect(server, config, app, admin, { scope });
    expect(again.consentShown).toBe(true);
    expect((await call(`${demo.url}/v2/schedules`, { authorization: bearer(again.tokens.access_token) })).status).toBe(200);
    // The admin's own access token works too, told apart by auth_type.
    const own = await call(`${demo.url}/v2/company`, { authorization: bearer(pat.token) });
    expect((own.body.data as { caller: unknown }).caller).toMatchObject({ auth_type: 'access_token', client_id: null });
  });

  test('without a token: 401 with the demo realm; a missing scope: 403', async () => {
    const res = await call(`${demo.url}/v2/schedules`);
    expect(res.status).toBe(401);
    expect(res.challenge).toBe('Bearer realm="demo-v2"');
    const key = await createToken(server.db, admin.user, { kind: 'api_key', name: 'key', scopes: ['schedules:read'], expiresAt: null });
    const forbidden = await post('/v2/time-punches', key.token, json({ type: 'in' }));
    expect(forbidden.status).toBe(403);
  });
});

describe('the script (npm run demo:api)', () => {
  const run = (env: Record<string, string>) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo-api.ts'], {
      cwd: process.cwd(), env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, output: () => out };
  };

  test('reads its settings from the environment, serves, and stops on SIGTERM; refuses to start without credentials', async () => {
    const port = await freePort();
    const good = run({ GATEWAY_CLIENT_ID: gatewayCreds.clientId, GATEWAY_CLIENT_SECRET: gatewayCreds.clientSecret, ISSUER: server.url, DEMO_PORT: String(port), DEMO_TIMEOUT_MS: '15000' });
    const bad = run({ ISSUER: server.url });
    try {
      expect(await bad.exited).toBe(1);
      expect(bad.output()).toMatch(/set GATEWAY_CLIENT_ID and GATEWAY_CLIENT_SECRET/);

      const deadline = Date.now() + 20_000;
      while (!good.output().includes('demo V2 API on')) {
        if (Date.now() > deadline) throw new Error(`demo did not start: ${good.output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const key = await createToken(server.db, admin.user, { kind: 'api_key', name: 'script', scopes: ['schedules:read'], expiresAt: null });
      expect((await call(`http://127.0.0.1:${port}/v2/schedules`, { authorization: bearer(key.token) })).status).toBe(200);
      expect((await call(`http://127.0.0.1:${port}/v2/schedules`)).status).toBe(401);
      good.child.kill('SIGTERM');
      expect(await good.exited).toBe(0);
    } finally {
      good.child.kill('SIGKILL');
      bad.child.kill('SIGKILL');
    }
  });
});
