// The relying party side of tests (and of the benchmark, scripts/bench/): openid-client against
// a real server, a small cookie-keeping user agent that walks the login and consent pages like a
// browser would, and raw calls to the token, introspection and userinfo endpoints.
import * as oidc from 'openid-client';
import { basicAuth, type ClientCredentials } from './http.js';
import type { TestApp, TestUser } from './server.js';

/** Where a server answers: a TestServer, or any instance's base URL as `{ url }`. */
export interface Origin {
  url: string;
}

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

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', this.#cookieHeader());
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    storeCookies(this.cookies, res.headers.getSetCookie());
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

  /**
   * Follows redirects within `origin`; stops at the first response that is not a redirect or
   * leaves it. A redirect to `alias` (the public issuer of several processes, as behind a load
   * balancer) is sent to `origin` instead.
   */
  async follow(res: Response, base: string, origin: string, alias?: string): Promise<{ res: Response; url: string }> {
    let url = base;
    while (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location')!, url).href;
      if (alias && alias !== origin && url.startsWith(`${alias}/`)) url = origin + url.slice(alias.length);
      if (!url.startsWith(origin)) return { res, url };
      await res.arrayBuffer(); // read, so the connection is free for the next request (the bench walks thousands)
      res = await this.get(url);
    }
    return { res, url };
  }
}

export function formField(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no field ${name} in page: ${html.slice(0, 300)}`);
  return m[1]!;
}

export async function rpConfig(server: Origin, app: Pick<TestApp, 'clientId' | 'clientSecret'>): Promise<oidc.Configuration> {
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
  /** The public issuer when `server` is one of several processes behind it (redirects to it go to `server`). */
  issuer?: string;
}

export interface AuthorizeResult {
  callbackUrl: URL;
  codeVerifier: string;
  state: string;
  agent: UserAgent;
  /** The login page was shown (the agent had no session at the authorization server). */
  loginShown: boolean;
  consentShown: boolean;
}

/**
 * Authorization code + PKCE through the real login and consent pages. Returns the callback URL
 * the browser was sent to (holding the code), without redeeming it.
 */
export async function authorize(
  server: Origin, config: oidc.Configuration, app: Pick<TestApp, 'redirectUri'>, user: Pick<TestUser, 'email' | 'password'>,
  opts: AuthorizeOptions = {},
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
  let { res, url: at } = await agent.follow(await agent.get(url.href), url.href, server.url, opts.issuer);
  let loginShown = false;
  let consentShown = false;
  for (let step = 0; step < 4 && !at.startsWith(app.redirectUri); step++) {
    const html = await res.text();
    if (res.status !== 200) throw new Error(`unexpected ${res.status} at ${at}: ${html.slice(0, 300)}`);
    const uid = /\/interaction\/([^/"]+)\//.exec(html)?.[1];
    if (!uid) throw new Error(`not an interaction page at ${at}: ${html.slice(0, 300)}`);
    const csrf = formField(html, '_csrf');
    if (html.includes('id="login"')) {
      loginShown = true;
      res = await agent.postForm(`${server.url}/interaction/${uid}/login`, { _csrf: csrf, email: user.email, password: user.password });
    } else if (html.includes('id="consent"')) {
      consentShown = true;
      if (opts.expectConsent === false) throw new Error('consent page shown again');
      res = await agent.postForm(`${server.url}/interaction/${uid}/confirm`, { _csrf: csrf });
    } else {
      throw new Error(`unknown page at ${at}`);
    }
    ({ res, url: at } = await agent.follow(res, `${server.url}/interaction/${uid}`, server.url, opts.issuer));
  }
  if (!at.startsWith(app.redirectUri)) throw new Error(`never reached the redirect URI (at ${at})`);
  await res.arrayBuffer();
  return { callbackUrl: new URL(at), codeVerifier, state, agent, loginShown, consentShown };
}

/** Signs `user` in through the login page and stops on the consent page: its HTML, the agent, the consent interaction's uid and CSRF token. */
export async function consentPage(
  server: Origin, config: oidc.Configuration, app: Pick<TestApp, 'redirectUri'>, user: Pick<TestUser, 'email' | 'password'>, scope: string,
): Promise<{ html: string; agent: UserAgent; uid: string; csrf: string }> {
  const agent = new UserAgent();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: app.redirectUri, scope, state: oidc.randomState(),
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  let { res } = await agent.follow(await agent.get(url.href), url.href, server.url);
  let html = await res.text();
  const loginUid = /\/interaction\/([^/"]+)\//.exec(html)?.[1];
  if (!loginUid || !html.includes('id="login"')) throw new Error(`no login page: ${html.slice(0, 300)}`);
  res = await agent.postForm(`${server.url}/interaction/${loginUid}/login`, { _csrf: formField(html, '_csrf'), email: user.email, password: user.password });
  ({ res } = await agent.follow(res, `${server.url}/interaction/${loginUid}`, server.url));
  html = await res.text();
  if (!html.includes('id="consent"')) throw new Error(`no consent page: ${html.slice(0, 300)}`);
  // The consent step is an interaction of its own.
  return { html, agent, uid: /\/interaction\/([^/"]+)\//.exec(html)![1]!, csrf: formField(html, '_csrf') };
}

/** Full flow: authorize, then redeem the code. */
export async function connect(
  server: Origin, config: oidc.Configuration, app: Pick<TestApp, 'redirectUri'>, user: Pick<TestUser, 'email' | 'password'>,
  opts: AuthorizeOptions = {},
) {
  const a = await authorize(server, config, app, user, opts);
  const tokens = await oidc.authorizationCodeGrant(config, a.callbackUrl, {
    pkceCodeVerifier: a.codeVerifier, expectedState: a.state,
  });
  return { ...a, tokens };
}

/** `connect`, flattened: the agent, whether consent was asked, the access token and the refresh token. */
export async function connectUser(
  server: Origin, config: oidc.Configuration, app: Pick<TestApp, 'redirectUri'>, user: Pick<TestUser, 'email' | 'password'>,
  opts: AuthorizeOptions = {},
) {
  const r = await connect(server, config, app, user, opts);
  return { agent: r.agent, consentShown: r.consentShown, accessToken: r.tokens.access_token, refreshToken: r.tokens.refresh_token! };
}

/** A form POST authenticated with client_secret_basic; the status and the JSON answer. */
async function postAsClient(url: string, client: ClientCredentials, fields: Record<string, string>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** RFC 7662 introspection authenticated as `client` (a gateway, or the token's own app), raw JSON. */
export function introspect(server: Origin, client: ClientCredentials, token: string, hint?: string) {
  return postAsClient(`${server.url}/token/introspection`, client, { token, ...(hint ? { token_type_hint: hint } : {}) });
}

/** Raw token endpoint call (for races and hostile input), client_secret_basic. */
export function tokenRequest(server: Origin, app: ClientCredentials, params: Record<string, string>) {
  return postAsClient(`${server.url}/token`, app, params);
}

export function refresh(server: Origin, app: ClientCredentials, refreshToken: string) {
  return tokenRequest(server, app, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

export function clientCredentials(server: Origin, app: ClientCredentials, companyGuid: string) {
  return tokenRequest(server, app, { grant_type: 'client_credentials', scope: 'schedules:read', company: companyGuid });
}

/** The status of GET /me with the access token. */
export async function userinfo(server: Origin, accessToken: string): Promise<number> {
  const res = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  await res.arrayBuffer();
  return res.status;
}
