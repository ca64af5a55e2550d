// A real relying party logging out in one browser while the same person stays signed in to it in
// another (DESIGN.md, "Consent and grants"): the RP — a node:http server using openid-client
// (discovery, PKCE, state, a session per browser by cookie) — revokes its own refresh token at
// logout (RFC 7009). That ends that browser's chain (the refresh token and the access tokens of
// its grant), not the other browser's, and not the remembered consent: signing in again without
// prompt=consent shows no consent page (with prompt=consent it does, by design, OIDC Core §11).
// Both browsers are Debian chromium contexts going through the real login and consent pages.
// SCREENSHOTS=<dir> saves screenshots of each step there.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { randomSecret } from '../../src/shared/crypto.js';
import { signIn } from '../helpers/admin.js';
import { launchBrowser, newContext } from '../helpers/browser.js';
import type { ClientCredentials } from '../helpers/http.js';
import { introspect, refresh, rpConfig, userinfo } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeGateway, makeUser, startTestServer, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';

/** What the RP asks for: `email` so that /me can say who is signed in. */
const SCOPE = 'openid email offline_access schedules:read';
/** The same consent without a refresh token: no prompt=consent needed, so none is shown. */
const SILENT_SCOPE = 'openid email schedules:read';
const COOKIE = 'rp_session';

interface RpTokens {
  accessToken: string;
  refreshToken?: string;
  sub: string;
}

interface RpSession {
  codeVerifier?: string;
  state?: string;
  tokens?: RpTokens;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A tiny relying party: /login[?silent=1], /callback, /me, /logout. */
class RelyingParty {
  readonly sessions = new Map<string, RpSession>();
  config!: oidc.Configuration;

  readonly #server: Server = createServer((req, res) => void this.handle(req, res));
  url = '';

  static async start(): Promise<RelyingParty> {
    const rp = new RelyingParty();
    await new Promise<void>((resolve) => rp.#server.listen(0, '127.0.0.1', resolve));
    rp.url = `http://127.0.0.1:${(rp.#server.address() as AddressInfo).port}`;
    return rp;
  }

  get redirectUri(): string {
    return `${this.url}/callback`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const sid = /(?:^|;\s*)rp_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const session = sid ? this.sessions.get(sid) : undefined;
    try {
      if (url.pathname === '/login') return await this.#login(res, url, sid && session ? sid : undefined);
      if (url.pathname === '/callback') return await this.#callback(res, url, session);
      if (url.pathname === '/me') return await this.#me(res, session);
      if (url.pathname === '/logout') return await this.#logout(res, session);
      page(res, 404, 'not found');
    } catch (err) {
      page(res, 500, `error: ${(err as Error).message}`);
    }
  }

  async #login(res: ServerResponse, url: URL, sid: string | undefined): Promise<void> {
    const id = sid ?? randomSecret(16);
    const session: RpSession = this.sessions.get(id) ?? {};
    this.sessions.set(id, session);
    session.codeVerifier = oidc.randomPKCECodeVerifier();
    session.state = oidc.randomState();
    const silent = url.searchParams.get('silent') === '1';
    const authorizationUrl = oidc.buildAuthorizationUrl(this.config, {
      redirect_uri: this.redirectUri,
      scope: silent ? SILENT_SCOPE : SCOPE,
      ...(silent ? {} : { prompt: 'consent' }),
      code_challenge: await oidc.calculatePKCECodeChallenge(session.codeVerifier),
      code_challenge_method: 'S256',
      state: session.state,
    });
    res.writeHead(302, { location: authorizationUrl.href, 'set-cookie': `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax` });
    res.end();
  }

  async #callback(res: ServerResponse, url: URL, session: RpSession | undefined): Promise<void> {
    if (!session?.codeVerifier) return page(res, 400, 'no sign-in in progress');
    const tokens = await oidc.authorizationCodeGrant(this.config, url, {
      pkceCodeVerifier: session.codeVerifier, expectedState: session.state,
    });
    session.codeVerifier = session.state = undefined;
    session.tokens = { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, sub: tokens.claims()!.sub };
    res.writeHead(302, { location: '/me' });
    res.end();
  }

  async #me(res: ServerResponse, session: RpSession | undefined): Promise<void> {
    if (!session?.tokens) return page(res, 200, 'signed out');
    try {
      const info = await oidc.fetchUserInfo(this.config, session.tokens.accessToken, session.tokens.sub);
      page(res, 200, `signed in as ${String(info.email)}`);
    } catch {
      page(res, 200, 'token refused');
    }
  }

  async #logout(res: ServerResponse, session: RpSession | undefined): Promise<void> {
    if (session?.tokens?.refreshToken) {
      await oidc.tokenRevocation(this.config, session.tokens.refreshToken, { token_type_hint: 'refresh_token' });
    }
    if (session) session.tokens = undefined;
    page(res, 200, 'logged out');
  }
}

function page(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><title>RP</title><p id="status">${escapeHtml(text)}</p>`);
}

let server: TestServer;
let employee: TestUser;
let admin: TestUser;
let gateway: ClientCredentials;
let app: TestApp;
let rp: RelyingParty;
let browser: Browser;

beforeAll(async () => {
  server = await startTestServer();
  const company = await makeCompany(server.db, 'Acme Logistics');
  employee = await makeUser(server.db, company.guid, 'employee');
  admin = await makeUser(server.db, company.guid, 'admin');
  gateway = await makeGateway(server);
  rp = await RelyingParty.start();
  app = await makeApp(server, { name: 'Shift Planner', redirectUris: [rp.redirectUri], grantTypes: ['authorization_code', 'refresh_token'] });
  rp.config = await rpConfig(server, app);
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await server?.close();
});

async function shot(p: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS) await p.screenshot({ path: join(process.env.SCREENSHOTS, `rp-logout-${name}.png`), fullPage: true });
}

const status = async (p: Page) => (await p.locator('#status').textContent())?.trim();

async function visitMe(p: Page): Promise<string | undefined> {
  await p.goto(`${rp.url}/me`);
  return status(p);
}

/** The tokens the RP holds for a browser (its session cookie). */
async function tokensOf(context: BrowserContext): Promise<RpTokens> {
  const cookie = (await context.cookies(rp.url)).find((c) => c.name === COOKIE);
  const tokens = cookie && rp.sessions.get(cookie.value)?.tokens;
  if (!tokens) throw new Error('the RP holds no tokens for this browser');
  return { ...tokens };
}

const active = async (token: string) => (await introspect(server, gateway, token)).body;

/** URLs the page's main frame committed (redirects in between are not committed). */
function recordVisits(p: Page): string[] {
  const visited: string[] = [];
  p.on('framenavigated', (frame) => {
    if (frame === p.mainFrame()) visited.push(frame.url());
  });
  return visited;
}

describe('a relying party revoking its own refresh token at logout, in one of two browsers', () => {
  let contextA: BrowserContext;
  let contextB: BrowserContext;
  let pageA: Page;
  let pageB: Page;
  let a: RpTokens;
  let b: RpTokens;

  beforeAll(async () => {
    contextA = await newContext(browser, server.url);
    contextB = await newContext(browser, server.url);
    pageA = await contextA.newPage();
    pageB = await contextB.newPage();
  });
  afterAll(async () => {
    await contextA?.close();
    await contextB?.close();
  });

  /** The RP's /login, then grantledger's real login and consent pages, back to the RP's /me. */
  async function signInThroughRp(p: Page, label: string): Promise<void> {
    await p.goto(`${rp.url}/login`);
    await p.waitForSelector('form#login');
    await p.fill('#email', employee.email);
    await p.fill('#password', employee.password);
    await shot(p, `${label}-login`);
    await Promise.all([p.waitForSelector('form#consent'), p.click('form#login button[type=submit]')]);
    expect(await p.locator('main, body').first().textContent()).toContain('Shift Planner');
    await shot(p, `${label}-consent`);
    await Promise.all([p.waitForURL(`${rp.url}/me`), p.click('form#consent button[type=submit]')]);
    await shot(p, `${label}-signed-in`);
    expect(await status(p)).toBe(`signed in as ${employee.email}`);
  }

  test('the same person signs in to the RP in two browsers, through the login and consent pages', async () => {
    await signInThroughRp(pageA, 'a');
    await signInThroughRp(pageB, 'b');
    a = await tokensOf(contextA);
    b = await tokensOf(contextB);
    expect(a.refreshToken && b.refreshToken).toBeTruthy();
    expect(a.accessToken).not.toBe(b.accessToken);
    for (const t of [a, b]) expect(await active(t.accessToken)).toMatchObject({ active: true, sub: employee.user.guid, client_id: app.clientId });
  });

  test('browser A logs out at the RP: A’s refresh token and access token are dead', async () => {
    await pageA.goto(`${rp.url}/logout`);
    await shot(pageA, 'a-logged-out');
    expect(await status(pageA)).toBe('logged out');
    expect(await visitMe(pageA)).toBe('signed out');

    expect((await active(a.accessToken)).active).toBe(false);
    expect(await userinfo(server, a.accessToken)).toBe(401);
    expect(await refresh(server, app, a.refreshToken!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  test('browser B stays signed in: its access token works at the RP and its refresh token refreshes', async () => {
    expect(await visitMe(pageB)).toBe(`signed in as ${employee.email}`);
    await shot(pageB, 'b-still-signed-in');
    expect(await active(b.accessToken)).toMatchObject({ active: true, sub: employee.user.guid });
    const refreshed = await refresh(server, app, b.refreshToken!);
    expect(refreshed.status).toBe(200);
    expect(await active(String(refreshed.body.access_token))).toMatchObject({ active: true, sub: employee.user.guid });
    expect(await visitMe(pageB)).toBe(`signed in as ${employee.email}`);
  });

  test('the consent stays: the app is still authorized, and signing in again in A without prompt=consent shows no consent page', async () => {
    const session = await signIn(server, admin);
    const detail = await session.api('GET', `/connected-apps/${app.clientId}`);
    expect(detail.status).toBe(200);
    expect((detail.body.authorizations as Array<{ user_guid: string }>).map((x) => x.user_guid)).toEqual([employee.user.guid]);

    const visited = recordVisits(pageA);
    await pageA.goto(`${rp.url}/login?silent=1`);
    await pageA.waitForURL(`${rp.url}/me`);
    await shot(pageA, 'a-signed-in-again');
    expect(await status(pageA)).toBe(`signed in as ${employee.email}`);
    expect(visited.filter((u) => u.includes('/interaction/'))).toEqual([]);
    const again = await tokensOf(contextA);
    expect(again.refreshToken).toBeUndefined(); // no offline_access without prompt=consent
    expect(await active(again.accessToken)).toMatchObject({ active: true, sub: employee.user.guid });
    expect(await visitMe(pageB)).toBe(`signed in as ${employee.email}`);
  });

  test('with prompt=consent (a refresh token asked again) the consent page shows, by design', async () => {
    await pageA.goto(`${rp.url}/login`);
    await pageA.waitForSelector('form#consent');
    await shot(pageA, 'a-prompt-consent');
    expect(await pageA.locator('form#login').count()).toBe(0); // still signed in at grantledger
  });
});
