// LOGIN_MODE beyond `both`: `upstream` (no password accepted anywhere, straight to the SaaS's
// sign-in), `local` (no upstream routes at all); companies created from the claim when the
// operator allows it; the upstream down; settings that cannot work refused at start; a
// back-channel logout ending the end-user session while the app keeps its access.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { loadSettings } from '../../src/config.js';
import { createGateway } from '../../src/clients/clients.js';
import { DEVELOPER_TOOLS } from '../helpers/admin.js';
import { freePort } from '../helpers/http.js';
import { introspect, rpConfig, UserAgent, formField } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeUser, startTestServer, type TestServer } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';
import { plannedUpstream, startUpstream, TwoSiteAgent, walk, type Upstream } from '../helpers/upstream.js';

async function authorizationUrl(config: oidc.Configuration, redirectUri: string, scope = 'openid email schedules:read') {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope, state, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  return { url: url.href, verifier, state };
}

describe('LOGIN_MODE=upstream, companies created from the claim', () => {
  let server: TestServer;
  let upstream: Upstream;

  beforeAll(async () => {
    const planned = await plannedUpstream();
    server = await startTestServer({
      login: { mode: 'upstream', upstream: { issuer: planned.issuer, clientId: planned.clientId, clientSecret: planned.clientSecret, createCompanies: true } },
    });
    upstream = await startUpstream(planned.port, server.url, planned);
  });
  afterAll(async () => {
    await upstream?.close();
    await server?.close();
  });

  it('sends the browser straight to the upstream, and accepts no password anywhere', async () => {
    const company = await makeCompany(server.db);
    const admin = await makeUser(server.db, company.guid, 'admin');
    const agent = new UserAgent();
    const login = await agent.get(`${server.url}/login?next=${encodeURIComponent(DEVELOPER_TOOLS)}`);
    expect(login.status).toBe(302);
    expect(login.headers.get('location')).toBe(`/login/upstream?next=${encodeURIComponent(DEVELOPER_TOOLS)}`);

    // The password form's endpoint refuses a right password.
    const post = await agent.postForm(`${server.url}/login`, { email: admin.email, password: admin.password });
    expect(post.status).toBe(403);
    expect(await post.text()).toContain('passwords are not used here');
    expect(await server.db.get('SELECT 1 AS x FROM admin_sessions WHERE user_id = ?', [admin.user.id])).toBeUndefined();

    const app = await makeApp(server);
    const config = await rpConfig(server, app);
    const start = await authorizationUrl(config, app.redirectUri);
    const two = new TwoSiteAgent(upstream);
    const first = await walk(two, upstream, start.url);
    expect(first.url.startsWith(upstream.url)).toBe(true); // no grantledger login page in between
    const html = await first.res!.text();
    expect(html).toContain('upstream-login');
  });

  it('creates the company the claim names when UPSTREAM_CREATE_COMPANIES is on, with the person as its admin', async () => {
    await upstream.setPeople({ founder: { email: 'founder@new.example', email_verified: true, company: 'brand-new-co', role: 'admin' } });
    const r = await walk(new TwoSiteAgent(upstream), upstream, `${server.url}/login/upstream`, { sub: 'founder' });
    expect(r.url).toBe(`${server.url}${DEVELOPER_TOOLS}`);
    const row = await server.db.get<{ role: string; external_id: string }>(
      'SELECT u.role, c.external_id FROM users u JOIN companies c ON c.id = u.company_id WHERE u.email = ?', ['founder@new.example'],
    );
    expect(row).toEqual({ role: 'admin', external_id: 'brand-new-co' });
  });

  it('refuses the password step of an authorization', async () => {
    const app = await makeApp(server);
    const config = await rpConfig(server, app);
    const start = await authorizationUrl(config, app.redirectUri);
    const agent = new UserAgent();
    const res = await agent.get(start.url);
    const interaction = new URL(res.headers.get('location')!, server.url);
    const page = await agent.get(interaction.href);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe(`${interaction.pathname}/upstream`);
    const post = await agent.postForm(`${interaction.href}/login`, { email: 'a@b.example', password: 'whatever-it-is' });
    expect(post.status).toBe(403);
  });
});

describe('back-channel logout and the apps', () => {
  let server: TestServer;
  let upstream: Upstream;

  beforeAll(async () => {
    const planned = await plannedUpstream();
    server = await startTestServer({ login: { mode: 'both', upstream: { issuer: planned.issuer, clientId: planned.clientId, clientSecret: planned.clientSecret } } });
    upstream = await startUpstream(planned.port, server.url, planned);
  });
  afterAll(async () => {
    await upstream?.close();
    await server?.close();
  });

  it('ends the person’s end-user session here; the app keeps its tokens', async () => {
    const company = await makeCompany(server.db);
    await server.db.run('UPDATE companies SET external_id = ? WHERE id = ?', ['co-logout', company.id]);
    await upstream.setPeople({ 'p-out': { email: 'out@acme.example', email_verified: true, company: 'co-logout', role: 'employee' } });
    const app = await makeApp(server);
    const config = await rpConfig(server, app);
    const g = await createGateway(server.db, 'Gateway');
    const gateway = { clientId: g.client_id, clientSecret: g.client_secret };

    const agent = new TwoSiteAgent(upstream);
    const start = await authorizationUrl(config, app.redirectUri);
    const login = await walk(agent, upstream, start.url);
    const uid = /\/interaction\/([^/"]+)\//.exec(await login.res!.text())![1]!;
    const consent = await walk(agent, upstream, `${server.url}/interaction/${uid}/upstream`, { sub: 'p-out', stopAt: app.redirectUri });
    const html = await consent.res!.text();
    const cuid = /\/interaction\/([^/"]+)\//.exec(html)![1]!;
    const done = await walk(agent, upstream, await agent.postForm(`${server.url}/interaction/${cuid}/confirm`, { _csrf: formField(html, '_csrf') }), { stopAt: app.redirectUri });
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.url), { pkceCodeVerifier: start.verifier, expectedState: start.state });
    const user = await server.db.get<{ guid: string }>("SELECT guid FROM users WHERE email = 'out@acme.example'");
    const sessions = () => server.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM oidc_payloads WHERE model = 'Session' AND account_id = ?", [user!.guid]);
    expect(Number((await sessions())!.n)).toBe(1);

    const end = await agent.get(`${upstream.url}/session/end`);
    const page = await end.text();
    await walk(agent, upstream, await agent.postForm(new URL(/action="([^"]+)"/.exec(page)![1]!, upstream.url).href, {
      xsrf: /name="xsrf" value="([^"]+)"/.exec(page)![1]!, logout: 'yes',
    }));
    await eventually(async () => (Number((await sessions())!.n) === 0 ? true : undefined), 5000, 'end-user session ended');
    expect((await introspect(server, gateway, tokens.access_token)).body).toMatchObject({ active: true });

    // The next authorization asks the upstream again (no grantledger session left).
    const again = await walk(agent, upstream, (await authorizationUrl(config, app.redirectUri)).url);
    expect(await again.res!.text()).toContain('Continue with');
  });
});

describe('LOGIN_MODE=local, an upstream that is down, settings that cannot work', () => {
  it('local: no upstream routes and no button', async () => {
    const server = await startTestServer();
    try {
      expect((await fetch(`${server.url}/login/upstream`, { redirect: 'manual' })).status).toBe(404);
      expect((await fetch(`${server.url}/login/upstream/backchannel-logout`, { method: 'POST' })).status).toBe(404);
      expect(await (await fetch(`${server.url}/login`)).text()).not.toContain('upstream-sign-in');
    } finally {
      await server.close();
    }
  });

  it('an upstream that does not answer: a readable page, never a 500', async () => {
    const dead = await freePort();
    const server = await startTestServer({ login: { mode: 'both', upstream: { issuer: `http://localhost:${dead}`, clientId: 'x', name: 'Acme SaaS' } } });
    try {
      const res = await fetch(`${server.url}/login/upstream`, { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(res.status).toBe(503);
      const html = await res.text();
      expect(html).toContain('Signing in with Acme SaaS is not possible right now');
      expect(html).not.toMatch(/ECONNREFUSED|at .*\.js:\d+/);
      // The password form still works beside it.
      expect((await fetch(`${server.url}/login`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('refuses LOGIN_MODE=upstream without an upstream, in one line naming what to set', async () => {
    await expect(loadSettings({ login: { mode: 'upstream' } }, { NODE_ENV: 'test' })).rejects.toThrow(/UPSTREAM_ISSUER and UPSTREAM_CLIENT_ID/);
    await expect(loadSettings({}, { NODE_ENV: 'test', LOGIN_MODE: 'both', UPSTREAM_ISSUER: 'not a url', UPSTREAM_CLIENT_ID: 'x' })).rejects.toThrow(/UPSTREAM_ISSUER/);
  });
});
