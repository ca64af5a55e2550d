// Developer Tools over HTTP, as a browser without JavaScript would use it: the post-login
// redirect, signing out, session expiry and sliding, revoking an API key from the page, form
// validation errors, and the security headers of pages and API answers. Assertions are about
// outcomes (status, where a redirect goes, what the database and the API hold), not the HTML,
// so reshaping the pages keeps these green while the behaviour holds.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SESSION_COOKIE } from '../../src/admin/auth.js';
import { sha256 } from '../../src/shared/crypto.js';
import { DEVELOPER_TOOLS, signIn, type SignedIn } from '../helpers/admin.js';
import { formField, UserAgent } from '../helpers/oauth.js';
import { makeCompany, makeUser, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

const TTL_S = 3600;
let server: TestServer;
let admin: TestUser;
let other: TestUser;

beforeAll(async () => {
  server = await startTestServer({ admin: { sessionTtl: TTL_S } });
  const company = await makeCompany(server.db);
  admin = await makeUser(server.db, company.guid, 'admin');
  other = await makeUser(server.db, (await makeCompany(server.db)).guid, 'admin');
});
afterAll(() => server.close());

/** The session row behind an agent's gl.admin cookie. */
async function sessionRow(agent: UserAgent) {
  const value = agent.cookies.get(SESSION_COOKIE);
  if (!value) return undefined;
  // The signed cookie's value is the session id; its .sig companion is Koa's signature.
  return server.db.get<{ expires_at: number; user_id: number }>('SELECT expires_at, user_id FROM admin_sessions WHERE id = ?', [sha256(decodeURIComponent(value))]);
}

async function page(agent: UserAgent, path = DEVELOPER_TOOLS) {
  const res = await agent.get(`${server.url}${path}`);
  return { status: res.status, location: res.headers.get('location'), html: await res.text(), headers: res.headers };
}

async function postPage(session: SignedIn, path: string, fields: Record<string, string>) {
  const res = await session.agent.postForm(`${server.url}${path}`, fields);
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

describe('signing in', () => {
  test('a page asked for without a session sends to /login and back to it after signing in', async () => {
    const agent = new UserAgent();
    const wanted = `${DEVELOPER_TOOLS}/connected-apps/00000000-0000-4000-8000-000000000000`;
    const first = await page(agent, wanted);
    expect(first.status).toBe(302);
    const login = new URL(first.location!, server.url);
    expect(login.pathname).toBe('/login');
    expect(login.searchParams.get('next')).toBe(wanted);
    const form = await page(agent, `${login.pathname}${login.search}`);
    expect(form.status).toBe(200);
    expect(formField(form.html, 'next')).toBe(wanted);
    const posted = await agent.postForm(`${server.url}/login`, {
      _csrf: formField(form.html, '_csrf'), email: admin.email, password: admin.password, next: formField(form.html, 'next'),
    });
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toBe(wanted);
    expect(await sessionRow(agent)).toMatchObject({ user_id: admin.user.id });
  });

  test('without next, the sign-in lands on Developer Tools', async () => {
    const agent = new UserAgent();
    const form = await page(agent, '/login');
    const posted = await agent.postForm(`${server.url}/login`, { _csrf: formField(form.html, '_csrf'), email: admin.email, password: admin.password });
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toBe(DEVELOPER_TOOLS);
  });

  test('a wrong password: the form again (401), no session', async () => {
    const agent = new UserAgent();
    const form = await page(agent, '/login');
    const posted = await agent.postForm(`${server.url}/login`, { _csrf: formField(form.html, '_csrf'), email: admin.email, password: `${admin.password}x` });
    expect(posted.status).toBe(401);
    expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
  });
});

describe('signing out', () => {
  test('POST /logout ends the session on the server: the old cookie no longer opens the page or the API', async () => {
    const session = await signIn(server, admin);
    const stolen = new UserAgent();
    for (const [k, v] of session.agent.cookies) stolen.cookies.set(k, v);
    expect(await sessionRow(session.agent)).toBeDefined();
    const out = await postPage(session, '/logout', { _csrf: session.csrf });
    expect(out.status).toBe(303);
    expect(out.location).toBe('/login');
    expect(session.agent.cookies.has(SESSION_COOKIE)).toBe(false);
    expect(await sessionRow(stolen)).toBeUndefined();
    // A copy of the cookie taken before the sign-out is worth nothing.
    expect((await page(stolen)).status).toBe(302);
    expect((await session.on(server.url).api('GET', '/connected-apps')).status).toBe(401);
    const replay = await stolen.request(`${server.url}/api/v1/connected-apps`, { headers: { accept: 'application/json' } });
    expect(replay.status).toBe(401);
  });

  test('POST /logout without the CSRF token is refused and the session goes on', async () => {
    const session = await signIn(server, admin);
    for (const fields of [{}, { _csrf: 'f'.repeat(64) }] as Array<Record<string, string>>) {
      expect((await postPage(session, '/logout', fields)).status).toBe(403);
    }
    expect(await sessionRow(session.agent)).toBeDefined();
    expect((await session.api('GET', '/connected-apps')).status).toBe(200);
  });

  test('POST /logout without a session: back to /login, nothing else happens', async () => {
    const before = await server.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM admin_sessions');
    const res = await new UserAgent().postForm(`${server.url}/logout`, {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login');
    expect(await server.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM admin_sessions')).toEqual(before);
  });
});

describe('expiry and sliding', () => {
  test('an expired session opens neither the page nor the API, and its forms are refused', async () => {
    const session = await signIn(server, admin);
    const value = decodeURIComponent(session.agent.cookies.get(SESSION_COOKIE)!);
    await server.db.run('UPDATE admin_sessions SET expires_at = ? WHERE id = ?', [Date.now() - 1, sha256(value)]);
    const p = await page(session.agent);
    expect(p.status).toBe(302);
    expect(new URL(p.location!, server.url).pathname).toBe('/login');
    expect((await session.api('GET', '/connected-apps')).status).toBe(401);
    const before = await server.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM access_tokens');
    const form = await postPage(session, `${DEVELOPER_TOOLS}/access-tokens`, { _csrf: session.csrf, name: 'after expiry', 'scope:schedules:read': 'on' });
    expect(form.status).toBe(401);
    expect(await server.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM access_tokens')).toEqual(before);
  });

  test('a session of a deactivated admin ends', async () => {
    const person = await makeUser(server.db, admin.user.company.guid, 'admin');
    const session = await signIn(server, person);
    await server.db.run('UPDATE users SET active = 0 WHERE id = ?', [person.user.id]);
    expect((await session.api('GET', '/connected-apps')).status).toBe(401);
    expect((await page(session.agent)).status).toBe(302);
  });

  test('use slides the expiry (written at most once a minute) and renews the cookie', async () => {
    const session = await signIn(server, admin);
    const value = decodeURIComponent(session.agent.cookies.get(SESSION_COOKIE)!);
    // Just signed in: a request inside the minute writes nothing and sets no new cookie.
    const fresh = (await sessionRow(session.agent))!.expires_at;
    const quiet = await session.agent.get(`${server.url}${DEVELOPER_TOOLS}`);
    expect(quiet.status).toBe(200);
    expect(quiet.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=`))).toBe(false);
    expect((await sessionRow(session.agent))!.expires_at).toBe(fresh);

    // Ten minutes left: the next use pushes the expiry a whole TTL ahead and renews the cookie.
    await server.db.run('UPDATE admin_sessions SET expires_at = ? WHERE id = ?', [Date.now() + 600_000, sha256(value)]);
    const before = Date.now();
    const used = await session.agent.get(`${server.url}${DEVELOPER_TOOLS}`);
    expect(used.status).toBe(200);
    const cookie = used.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    expect(cookie).toMatch(new RegExp(`max-age=${TTL_S}|expires=`, 'i'));
    const slid = (await sessionRow(session.agent))!.expires_at;
    expect(slid).toBeGreaterThanOrEqual(before + TTL_S * 1000);
    // The same session id: sliding does not sign in again.
    expect(decodeURIComponent(session.agent.cookies.get(SESSION_COOKIE)!)).toBe(value);
  });
});

describe('API keys on the page', () => {
  async function newKey(session: SignedIn, name: string): Promise<string> {
    const res = await session.api('POST', '/api-keys', { name, scopes: ['schedules:read'] });
    expect(res.status).toBe(201);
    return String(res.body.id);
  }
  const listed = async (session: SignedIn) => (await session.api('GET', '/api-keys')).body.data!.map((k) => k.id);

  test('the revoke form revokes the key and comes back to the page', async () => {
    const session = await signIn(server, admin);
    const id = await newKey(session, 'page revoke');
    const res = await postPage(session, `${DEVELOPER_TOOLS}/api-keys/${id}/revoke`, { _csrf: session.csrf });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`${DEVELOPER_TOOLS}#api-keys`);
    expect(await listed(session)).not.toContain(id);
    const row = await server.db.get<{ revoked_at: number | null }>('SELECT revoked_at FROM access_tokens WHERE id = ?', [id]);
    expect(row?.revoked_at).toEqual(expect.any(Number));
    // Revoking it again, or a key that never was: 404, nothing else changes.
    expect((await postPage(session, `${DEVELOPER_TOOLS}/api-keys/${id}/revoke`, { _csrf: session.csrf })).status).toBe(404);
    expect((await postPage(session, `${DEVELOPER_TOOLS}/api-keys/00000000-0000-4000-8000-000000000000/revoke`, { _csrf: session.csrf })).status).toBe(404);
  });

  test('without the CSRF token, or from another company, the key stays', async () => {
    const session = await signIn(server, admin);
    const id = await newKey(session, 'kept');
    expect((await postPage(session, `${DEVELOPER_TOOLS}/api-keys/${id}/revoke`, {})).status).toBe(403);
    expect((await postPage(session, `${DEVELOPER_TOOLS}/api-keys/${id}/revoke`, { _csrf: '0'.repeat(64) })).status).toBe(403);
    const stranger = await signIn(server, other);
    expect((await postPage(stranger, `${DEVELOPER_TOOLS}/api-keys/${id}/revoke`, { _csrf: stranger.csrf })).status).toBe(404);
    expect(await listed(session)).toContain(id);
  });
});

describe('form validation', () => {
  test('invalid token forms show the page again with a 400 and create nothing', async () => {
    const session = await signIn(server, admin);
    const count = async () => Number((await server.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM access_tokens'))!.n);
    const before = await count();
    // The page's form: a scope preset (custom = the ticked ones) and an expiry preset must be chosen.
    const C = { scope_preset: 'custom', expiry: '90' } as const;
    for (const [segment, fields] of [
      ['access-tokens', { ...C, name: '', 'scope:schedules:read': 'on' }],
      ['access-tokens', { ...C, name: ' ', 'scope:schedules:read': 'on' }],
      ['access-tokens', { ...C, name: 'x'.repeat(201), 'scope:schedules:read': 'on' }],
      ['access-tokens', { ...C, name: 'bad scope', 'scope:root': 'on' }],
      ['access-tokens', { name: 'no preset', 'scope:schedules:read': 'on', expiry: '90' }],
      ['access-tokens', { name: 'no expiry', scope_preset: 'read' }],
      ['access-tokens', { ...C, name: 'bad date', 'scope:schedules:read': 'on', expiry: 'custom', expires_at: 'tomorrow' }],
      ['access-tokens', { ...C, name: 'past', 'scope:schedules:read': 'on', expiry: 'custom', expires_at: '2000-01-01' }],
      ['api-keys', { ...C, name: 'not confirmed', 'scope:schedules:read': 'on' }],
      ['api-keys', { ...C, name: '', confirm_deprecated: 'yes', 'scope:schedules:read': 'on' }],
      ['api-keys', { ...C, name: 'bad scope', confirm_deprecated: 'yes', 'scope:developer_tools:write': 'on', 'scope:nope': 'on' }],
    ] as const) {
      const res = await postPage(session, `${DEVELOPER_TOOLS}/${segment}`, { _csrf: session.csrf, ...fields });
      expect([segment, fields, res.status]).toEqual([segment, fields, 400]);
      expect(res.html).toContain('csrf-token'); // the page itself, still usable
    }
    expect(await count()).toBe(before);
    // The same form, valid: created (the control).
    const ok = await postPage(session, `${DEVELOPER_TOOLS}/access-tokens`, { _csrf: session.csrf, ...C, name: 'valid', 'scope:schedules:read': 'on' });
    expect(ok.status).toBe(303); // post/redirect/get
    expect(await count()).toBe(before + 1);
  });

  test('a non-admin gets no session: the sign-in answers 403 and the page stays closed', async () => {
    const employee = await makeUser(server.db, admin.user.company.guid, 'employee');
    const agent = new UserAgent();
    const form = await page(agent, '/login');
    const posted = await agent.postForm(`${server.url}/login`, { _csrf: formField(form.html, '_csrf'), email: employee.email, password: employee.password });
    expect(posted.status).toBe(403);
    expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
    expect((await page(agent)).status).toBe(302);
  });
});

describe('security headers', () => {
  const PAGE_HEADERS = {
    'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer',
  };

  function expectPageHeaders(headers: Headers) {
    for (const [name, value] of Object.entries(PAGE_HEADERS)) expect([name, headers.get(name)]).toEqual([name, value]);
    const csp = headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) expect(csp).toContain(directive);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  }

  test('pages: CSP, X-Frame-Options DENY, nosniff, no referrer, not cached', async () => {
    const session = await signIn(server, admin);
    const tools = await page(session.agent);
    expect(tools.status).toBe(200);
    expectPageHeaders(tools.headers);
    expect(tools.headers.get('cache-control')).toBe('no-store');
    const login = await page(new UserAgent(), '/login');
    expectPageHeaders(login.headers);
    expect(login.headers.get('cache-control')).toBe('no-store');
    // Error pages too (an unknown app's page).
    const missing = await page(session.agent, `${DEVELOPER_TOOLS}/connected-apps/00000000-0000-4000-8000-000000000000`);
    expect(missing.status).toBe(404);
    expectPageHeaders(missing.headers);
  });

  test('JSON answers: nosniff and no referrer', async () => {
    const session = await signIn(server, admin);
    for (const res of [await session.api('GET', '/connected-apps'), await new UserAgent().request(`${server.url}/api/v1/connected-apps`)]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
  });
});
