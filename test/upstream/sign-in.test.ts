// Sign-in through the SaaS's identity provider (LOGIN_MODE=both), against a real upstream:
// oidc-provider in its own process (test/helpers/upstream-idp.ts). Matching (identity, external
// id, verified e-mail only), just-in-time creation, the role claim at every sign-in (a lower one
// revokes what the new role may not hold), Developer Tools sign-in, and every hostile callback:
// tampered or foreign state, replay, wrong `iss`, an ID token without `nonce`; back-channel logout.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { findUserByGuid } from '../../src/companies/users.js';
import { DEVELOPER_TOOLS } from '../helpers/admin.js';
import { introspect, rpConfig } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeUser, startTestServer, type TestApp, type TestServer } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';
import { createGateway } from '../../src/clients/clients.js';
import { plannedUpstream, startUpstream, TwoSiteAgent, walk, type Upstream } from '../helpers/upstream.js';

let server: TestServer;
let upstream: Upstream;
let app: TestApp;
let config: oidc.Configuration;
let gateway: { clientId: string; clientSecret: string };
const companyExternalId = 'saas-company-42';
let company: Awaited<ReturnType<typeof makeCompany>>;

beforeAll(async () => {
  const planned = await plannedUpstream();
  server = await startTestServer({
    login: { mode: 'both', upstream: { issuer: planned.issuer, clientId: planned.clientId, clientSecret: planned.clientSecret, name: 'Acme SaaS' } },
  });
  upstream = await startUpstream(planned.port, server.url, planned);
  company = await makeCompany(server.db, 'Upstream Company');
  await server.db.run('UPDATE companies SET external_id = ? WHERE id = ?', [companyExternalId, company.id]);
  app = await makeApp(server);
  config = await rpConfig(server, app);
  const g = await createGateway(server.db, 'Gateway');
  gateway = { clientId: g.client_id, clientSecret: g.client_secret };
});

afterAll(async () => {
  await upstream?.close();
  await server?.close();
});

async function authorizationStart(scope = 'openid email schedules:read') {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: app.redirectUri, scope, state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  return { url: url.href, verifier, state };
}

/** The app's authorization through the upstream, as far as grantledger's consent page (or the first other page). */
async function throughUpstream(sub: string, opts: { tamper?: (u: URL) => URL; agent?: TwoSiteAgent; scope?: string } = {}) {
  const agent = opts.agent ?? new TwoSiteAgent(upstream);
  const start = await authorizationStart(opts.scope);
  const login = await walk(agent, upstream, start.url);
  const html = await login.res!.text();
  expect(html).toContain('Continue with Acme SaaS');
  const href = /id="upstream-sign-in"[^>]*href="([^"]+)"|href="([^"]+)"[^>]*id="upstream-sign-in"/.exec(html);
  const path = (href?.[1] ?? href?.[2])!.replace(/&amp;/g, '&');
  const out = await walk(agent, upstream, `${server.url}${path}`, { sub, tamper: opts.tamper, stopAt: app.redirectUri });
  return { ...out, agent, start };
}

/** Allows on grantledger's consent page; returns the code's callback URL. */
async function allow(agent: TwoSiteAgent, res: Response) {
  const html = await res.text();
  expect(html).toContain('id="consent"');
  const uid = /\/interaction\/([^/"]+)\//.exec(html)![1]!;
  const csrf = /name="_csrf" value="([^"]*)"/.exec(html)![1]!;
  const out = await walk(agent, upstream, await agent.postForm(`${server.url}/interaction/${uid}/confirm`, { _csrf: csrf }), { stopAt: app.redirectUri });
  expect(out.url.startsWith(app.redirectUri)).toBe(true);
  return new URL(out.url);
}

const identityCount = async (sub: string) =>
  Number((await server.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM user_identities WHERE subject = ?', [sub]))!.n);

describe('the OAuth login page through the upstream', () => {
  it('creates an unknown person in the company the claim names, with the claimed role, and the app gets its tokens', async () => {
    await upstream.setPeople({ 'p-new': { email: 'new.person@acme.example', email_verified: true, name: 'New Person', company: companyExternalId, role: 'manager' } });
    const r = await throughUpstream('p-new');
    if (!r.res) throw new Error(`no consent page: sent to ${r.url}`);
    const callback = await allow(r.agent, r.res!);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: r.start.verifier, expectedState: r.start.state });
    const at = (await introspect(server, gateway, tokens.access_token)).body;
    expect(at).toMatchObject({ active: true, company_guid: company.guid });
    const user = await findUserByGuid(server.db, String(at.sub));
    expect(user).toMatchObject({ email: 'new.person@acme.example', role: 'manager', company: { guid: company.guid } });
    expect(await identityCount('p-new')).toBe(1);

    // The next sign-in finds the same person (no second account).
    const again = await throughUpstream('p-new');
    expect(again.url.startsWith(app.redirectUri)).toBe(true); // consent remembered
    const users = await server.db.all('SELECT id FROM users WHERE email = ?', ['new.person@acme.example']);
    expect(users).toHaveLength(1);
  });

  it('links an existing user by external_id, and by an e-mail the upstream verified', async () => {
    const byExternal = await makeUser(server.db, company.guid, 'employee');
    await server.db.run('UPDATE users SET external_id = ? WHERE id = ?', ['p-ext', byExternal.user.id]);
    const byEmail = await makeUser(server.db, company.guid, 'employee');
    await upstream.setPeople({
      'p-ext': { email: 'other-address@acme.example', company: companyExternalId, role: 'employee' },
      'p-mail': { email: byEmail.email, email_verified: true, company: companyExternalId, role: 'employee' },
    });
    for (const [sub, user] of [['p-ext', byExternal], ['p-mail', byEmail]] as const) {
      const r = await throughUpstream(sub);
      await allow(r.agent, r.res!);
      const row = await server.db.get<{ user_id: number }>('SELECT user_id FROM user_identities WHERE subject = ?', [sub]);
      expect(Number(row!.user_id)).toBe(user.user.id);
    }
  });

  it('never links by an unverified e-mail: a hostile upstream person with an admin’s address is refused', async () => {
    const admin = await makeUser(server.db, company.guid, 'admin');
    await upstream.setPeople({ 'p-hostile': { email: admin.email, email_verified: false, company: companyExternalId, role: 'admin' } });
    const r = await throughUpstream('p-hostile');
    expect(r.res!.status).toBe(403);
    const html = await r.res!.text();
    expect(html).toContain('has not verified that this address is yours');
    expect(html).not.toMatch(/at .*\.ts:\d+/);
    expect(await identityCount('p-hostile')).toBe(0);
    expect(await server.db.all('SELECT id FROM users WHERE email = ?', [admin.email])).toHaveLength(1);
  });

  it('refuses a company that is not set up here, and a person without a company claim, with a readable page', async () => {
    await upstream.setPeople({
      'p-nocompany': { email: 'x@elsewhere.example', email_verified: true, company: 'not-a-customer', role: 'admin' },
      'p-noclaim': { email: 'y@elsewhere.example', email_verified: true },
    });
    for (const [sub, words] of [['p-nocompany', 'not set up here'], ['p-noclaim', 'did not say which company']] as const) {
      const r = await throughUpstream(sub);
      expect(r.res!.status).toBe(403);
      expect(await r.res!.text()).toContain(words);
    }
    expect(await server.db.get("SELECT 1 AS x FROM companies WHERE name = 'not-a-customer'")).toBeUndefined();
  });

  it('applies a lower role from the claim at the next sign-in: authorizations beyond it end', async () => {
    await upstream.setPeople({ 'p-demoted': { email: 'demoted@acme.example', email_verified: true, company: companyExternalId, role: 'admin' } });
    const first = await throughUpstream('p-demoted', { scope: 'openid users:write' });
    const callback = await allow(first.agent, first.res!);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: first.start.verifier, expectedState: first.start.state });
    expect((await introspect(server, gateway, tokens.access_token)).body).toMatchObject({ active: true, scope: expect.stringContaining('users:write') });

    await upstream.setPeople({ 'p-demoted': { email: 'demoted@acme.example', email_verified: true, company: companyExternalId, role: 'employee' } });
    await throughUpstream('p-demoted');
    const user = (await server.db.get<{ role: string }>("SELECT role FROM users WHERE email = 'demoted@acme.example'"))!;
    expect(user.role).toBe('employee');
    await eventually(async () => ((await introspect(server, gateway, tokens.access_token)).body.active === false ? true : undefined), 5000, 'token revoked');
  });
});

describe('hostile callbacks', () => {
  beforeAll(async () => {
    await upstream.setPeople({ 'p-h': { email: 'h@acme.example', email_verified: true, company: companyExternalId, role: 'employee' } });
  });

  it('a tampered state, a callback from another browser and a replayed callback get a page, no sign-in', async () => {
    const tampered = await throughUpstream('p-h', { tamper: (u) => { u.searchParams.set('state', 'x'.repeat(43)); return u; } });
    expect(tampered.res!.status).toBe(400);
    expect(await tampered.res!.text()).toContain('not started in this browser');

    const ok = await throughUpstream('p-h');
    expect(ok.res!.status).toBe(200);
    const callback = ok.callback!;
    // Another browser (no state cookie) with the same callback URL:
    const stranger = new TwoSiteAgent(upstream);
    const foreign = await stranger.get(callback.href);
    expect(foreign.status).toBe(400);
    // The same browser again (the sign-in was used):
    const replay = await ok.agent.get(callback.href);
    expect(replay.status).toBe(400);
    expect(await replay.text()).toContain('Start again');
  });

  it('a wrong iss (RFC 9207) and an ID token without nonce are refused', async () => {
    const wrongIss = await throughUpstream('p-h', { tamper: (u) => { u.searchParams.set('iss', 'https://evil.example'); return u; } });
    expect(wrongIss.res!.status).toBe(400);
    expect(await wrongIss.res!.text()).toContain('could not be verified');

    await upstream.setFlags({ dropNonce: true });
    try {
      const noNonce = await throughUpstream('p-h');
      expect(noNonce.res!.status).toBe(400);
      expect(await noNonce.res!.text()).toContain('could not be verified');
    } finally {
      await upstream.setFlags({ dropNonce: false });
    }
  });

  it('a person the upstream does not know cannot sign in', async () => {
    const agent = new TwoSiteAgent(upstream);
    const start = await authorizationStart();
    await walk(agent, upstream, start.url);
    const r = await throughUpstream('nobody-there', { agent });
    expect(r.res!.status).toBe(401);
    expect(r.url.startsWith(upstream.url)).toBe(true);
  });
});

describe('Developer Tools through the upstream, and back-channel logout', () => {
  it('signs an admin in to Developer Tools; an employee gets a page saying it is for admins', async () => {
    await upstream.setPeople({
      'p-admin': { email: 'boss@acme.example', email_verified: true, company: companyExternalId, role: 'admin' },
      'p-emp': { email: 'emp@acme.example', email_verified: true, company: companyExternalId, role: 'employee' },
    });
    const page = await new TwoSiteAgent(upstream).get(`${server.url}/login`);
    expect(await page.text()).toContain('Continue with Acme SaaS');

    const agent = new TwoSiteAgent(upstream);
    const r = await walk(agent, upstream, `${server.url}/login/upstream?next=${encodeURIComponent(DEVELOPER_TOOLS)}`, { sub: 'p-admin' });
    expect(r.res!.status).toBe(200);
    expect(r.url).toBe(`${server.url}${DEVELOPER_TOOLS}`);

    const emp = await walk(new TwoSiteAgent(upstream), upstream, `${server.url}/login/upstream`, { sub: 'p-emp' });
    expect(emp.res!.status).toBe(403);
    expect(await emp.res!.text()).toContain('for company admins');
  });

  it('ends the grantledger sessions when the person signs out at the upstream', async () => {
    await upstream.setPeople({ 'p-admin': { email: 'boss@acme.example', email_verified: true, company: companyExternalId, role: 'admin' } });
    const agent = new TwoSiteAgent(upstream);
    await walk(agent, upstream, `${server.url}/login/upstream`, { sub: 'p-admin' });
    expect((await agent.get(`${server.url}${DEVELOPER_TOOLS}`)).status).toBe(200);

    // Sign out at the upstream (its end-session confirmation form).
    const end = await agent.get(`${upstream.url}/session/end`);
    const html = await end.text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1]!;
    const action = /action="([^"]+)"/.exec(html)![1]!;
    const out = await walk(agent, upstream, await agent.postForm(new URL(action, upstream.url).href, { xsrf, logout: 'yes' }));
    expect(out.url).toBe(`${upstream.url}/session/end/success`);

    await eventually(async () => ((await agent.get(`${server.url}${DEVELOPER_TOOLS}`)).status === 302 ? true : undefined), 5000, 'session ended');
  });

  it('refuses a logout token it cannot verify', async () => {
    const forged = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url') + '.' +
      Buffer.from(JSON.stringify({ iss: upstream.url, sub: 'p-admin', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })).toString('base64url') + '.';
    for (const body of [new URLSearchParams({ logout_token: forged }), new URLSearchParams({ logout_token: 'garbage' }), new URLSearchParams()]) {
      const res = await fetch(`${server.url}/login/upstream/backchannel-logout`, { method: 'POST', body });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    }
  });
});
