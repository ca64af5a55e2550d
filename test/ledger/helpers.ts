// Shared by the ledger tests: a Developer Tools admin session driven over HTTP exactly as a
// browser would (GET /login for the double-submit CSRF cookie, POST /login, then the page's
// <meta name="csrf-token"> for x-csrf-token), and small OAuth helpers.
import type * as oidc from 'openid-client';
import { UserAgent, connect, formField, tokenRequest } from '../helpers/oauth.js';
import type { TestApp, TestServer, TestUser } from '../helpers/server.js';

export const PAGE = '/settings/developer-tools';

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

export class AdminSession {
  constructor(
    readonly baseUrl: string,
    readonly agent: UserAgent,
    /** The value of the page's <meta name="csrf-token">. */
    readonly csrf: string,
  ) {}

  /** Same session, another server process (the session and its cookies live in the shared database). */
  on(baseUrl: string): AdminSession {
    return new AdminSession(baseUrl, this.agent, this.csrf);
  }

  async api(method: string, path: string, opts: { csrf?: string | null } = {}): Promise<ApiAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (csrf !== null) headers['x-csrf-token'] = csrf;
    const res = await this.agent.request(`${this.baseUrl}/api/v1${path}`, { method, headers });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as ApiAnswer['body']) : {} };
  }

  revoke(clientId: string, opts: { csrf?: string | null } = {}): Promise<ApiAnswer> {
    return this.api('DELETE', `/connected-apps/${clientId}`, opts);
  }

  async connectedAppIds(): Promise<string[]> {
    const res = await this.api('GET', '/connected-apps');
    if (res.status !== 200) throw new Error(`GET /connected-apps answered ${res.status}`);
    return (res.body.data as Array<{ client_id: string }>).map((c) => c.client_id);
  }
}

/** Signs in at /login like a browser; returns the session once the Developer Tools page loads. */
export async function signIn(server: { url: string }, user: TestUser): Promise<AdminSession> {
  const agent = new UserAgent();
  const login = await agent.get(`${server.url}/login`);
  const csrf = formField(await login.text(), '_csrf');
  const posted = await agent.postForm(`${server.url}/login`, { _csrf: csrf, email: user.email, password: user.password, next: PAGE });
  if (posted.status !== 303) throw new Error(`sign-in answered ${posted.status}`);
  const page = await agent.get(`${server.url}${PAGE}`);
  const html = await page.text();
  const token = /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1];
  if (page.status !== 200 || !token) throw new Error(`Developer Tools answered ${page.status} without a CSRF token`);
  return new AdminSession(server.url, agent, token);
}

/** A signed-in non-admin: the session exists, but Developer Tools refuse it. */
export async function signInAny(server: { url: string }, user: TestUser): Promise<UserAgent> {
  const agent = new UserAgent();
  const login = await agent.get(`${server.url}/login`);
  const csrf = formField(await login.text(), '_csrf');
  const posted = await agent.postForm(`${server.url}/login`, { _csrf: csrf, email: user.email, password: user.password });
  if (posted.status !== 303) throw new Error(`sign-in answered ${posted.status}`);
  return agent;
}

export function basic(client: { clientId: string; clientSecret: string }): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;
}

/** RFC 7662 introspection authenticated as `client` (a gateway, or the token's own app). */
export async function introspectAs(baseUrl: string, client: { clientId: string; clientSecret: string }, token: string) {
  const res = await fetch(`${baseUrl}/token/introspection`, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function userinfo(baseUrl: string, accessToken: string): Promise<number> {
  const res = await fetch(`${baseUrl}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  await res.arrayBuffer();
  return res.status;
}

export function refresh(baseUrl: string, app: TestApp, refreshToken: string) {
  return tokenRequest({ url: baseUrl } as TestServer, app, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

export function clientCredentials(baseUrl: string, app: TestApp, companyGuid: string) {
  return tokenRequest({ url: baseUrl } as TestServer, app, { grant_type: 'client_credentials', scope: 'schedules:read', company: companyGuid });
}

/** Authorization code + refresh token for `user`, through the real login and consent pages. */
export async function connectUser(
  server: TestServer, config: oidc.Configuration, app: TestApp, user: TestUser, opts: { agent?: UserAgent; scope?: string } = {},
) {
  const r = await connect(server, config, app, user, opts);
  return { agent: r.agent, consentShown: r.consentShown, accessToken: r.tokens.access_token, refreshToken: r.tokens.refresh_token! };
}

/** Polls `check` until it returns a value other than undefined, or fails after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
