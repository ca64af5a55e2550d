// The relying party side of tests: openid-client against the real server, and a small
// cookie-keeping user agent that walks the login and consent pages like a browser would.
import * as oidc from 'openid-client';
import type { SettingsOverrides } from '../../src/config.js';
import { makeApp, makeCompany, makeGateway, makeUser, startTestServer, type TestApp, type TestServer, type TestUser } from './server.js';

/** Applies Set-Cookie header lines to a cookie jar (name → value); expired or empty cookies are removed. */
export function storeCookies(jar: Map<string, string>, setCookie: readonly string[]): void {
  for (const line of setCookie) {
    const [pair] = line.split(';');
    const i = pair!.indexOf('=');
    const name = pair!.slice(0, i).trim();
    const value = pair!.slice(i + 1).trim();
    if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
}

export class UserAgent {
  readonly cookies = new Map<string, string>();

  #cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  #store(res: Response): void {
    storeCookies(this.cookies, res.headers.getSetCookie());
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', this.#cookieHeader());
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.#store(res);
    return res;
  }

  get(url: string): Promise<Response> {
    return this.request(url, { headers: { accept: 'text/html' } });
  }

  postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Follows redirects within `origin`; stops at the first response that is not a redirect or leaves it. */
  async follow(res: Response, base: string, origin: string): Promise<{ res: Response; url: string }> {
    let url = base;
    while (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).href;
      if (!url.startsWith(origin)) return { res, url };
      res = await this.get(url);
    }
    return { res, url };
  }
}

export function formField(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no field ${name} in page`);
  return m[1]!;
}

export async function rpConfig(server: TestServer, app: Pick<TestApp, 'clientId' | 'clientSecret'>): Promise<oidc.Configuration> {
  return oidc.discovery(
    new URL(server.url),
    app.clientId,
    undefined,
    app.clientSecret ? oidc.ClientSecretBasic(app.clientSecret) : oidc.None(),
    { execute: [oidc.allowInsecureRequests] },
  );
}

export interface AuthorizeOptions {
  scope?: string;
  /** Stop on the consent page instead of allowing (returns the page). */
  expectConsent?: boolean;
  agent?: UserAgent;
  extra?: Record<string, string>;
  codeVerifier?: string;
}

export interface AuthorizeResult {
  callbackUrl: URL;
  codeVerifier: string;
  state: string;
  agent: UserAgent;
  consentShown: boolean;
}

/**
 * Authorization code + PKCE through the real login and consent pages. Returns the callback URL
 * the browser was sent to (holding the code), without redeeming it.
 */
export async function authorize(
  server: TestServer, config: oidc.Configuration, app: TestApp, user: TestUser, opts: AuthorizeOptions = {},
): Promise<AuthorizeResult> {
  const agent = opts.agent ?? new UserAgent();
  const codeVerifier = opts.codeVerifier ?? oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const scope = opts.scope ?? 'openid profile email offline_access schedules:read';
  // OIDC Core §11: offline_access (a refresh token) is asked with prompt=consent — as RPs do —
  // except by a call that checks the consent is remembered (it then gets no refresh token).
  const prompt: Record<string, string> = scope.split(' ').includes('offline_access') && opts.expectConsent !== false ? { prompt: 'consent' } : {};
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: app.redirectUri,
    scope,
    ...prompt,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    ...opts.extra,
  });
  let { res, url: at } = await agent.follow(await agent.get(url.href), url.href, server.url);
  let consentShown = false;
  for (let step = 0; step < 4 && !at.startsWith(app.redirectUri); step++) {
    const html = await res.text();
    if (res.status !== 200) throw new Error(`unexpected ${res.status} at ${at}: ${html.slice(0, 300)}`);
    const uid = /\/interaction\/([^/"]+)\//.exec(html)?.[1];
    if (!uid) throw new Error(`not an interaction page at ${at}: ${html.slice(0, 300)}`);
    const csrf = formField(html, '_csrf');
    if (html.includes('id="login"')) {
      res = await agent.postForm(`${server.url}/interaction/${uid}/login`, { _csrf: csrf, email: user.email, password: user.password });
    } else if (html.includes('id="consent"')) {
      consentShown = true;
      if (opts.expectConsent === false) throw new Error('consent page shown again');
      res = await agent.postForm(`${server.url}/interaction/${uid}/confirm`, { _csrf: csrf });
    } else {
      throw new Error(`unknown page at ${at}`);
    }
    ({ res, url: at } = await agent.follow(res, `${server.url}/interaction/${uid}`, server.url));
  }
  if (!at.startsWith(app.redirectUri)) throw new Error(`never reached the redirect URI (at ${at})`);
  return { callbackUrl: new URL(at), codeVerifier, state, agent, consentShown };
}

/** Full flow: authorize, then redeem the code. */
export async function connect(
  server: TestServer, config: oidc.Configuration, app: TestApp, user: TestUser, opts: AuthorizeOptions = {},
) {
  const a = await authorize(server, config, app, user, opts);
  const tokens = await oidc.authorizationCodeGrant(config, a.callbackUrl, {
    pkceCodeVerifier: a.codeVerifier, expectedState: a.state,
  });
  return { ...a, tokens };
}

/** RFC 7662 introspection as a gateway (client_secret_basic), raw JSON. */
export async function introspect(server: TestServer, gateway: { clientId: string; clientSecret: string }, token: string, hint?: string) {
  const res = await fetch(`${server.url}/token/introspection`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(gateway.clientId)}:${encodeURIComponent(gateway.clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token, ...(hint ? { token_type_hint: hint } : {}) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Raw token endpoint call (for races and hostile input), client_secret_basic. */
export async function tokenRequest(server: TestServer, app: Pick<TestApp, 'clientId' | 'clientSecret'>, params: Record<string, string>) {
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(app.clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(params),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The usual cast of an OAuth test: a server, a company with one employee, an app, a gateway, and the app's openid-client configuration. */
export interface OAuthWorld {
  server: TestServer;
  companyGuid: string;
  user: TestUser;
  app: TestApp;
  gateway: { clientId: string; clientSecret: string };
  config: oidc.Configuration;
}

export async function startOAuthWorld(overrides: SettingsOverrides = {}): Promise<OAuthWorld> {
  const server = await startTestServer(overrides);
  const company = await makeCompany(server.db);
  const user = await makeUser(server.db, company.guid, 'employee');
  const app = await makeApp(server);
  const gateway = await makeGateway(server);
  return { server, companyGuid: company.guid, user, app, gateway, config: await rpConfig(server, app) };
}
