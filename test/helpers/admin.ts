// The Developer Tools admin session of tests, driven over HTTP exactly as a browser would:
// GET /login for the double-submit CSRF cookie, POST /login, then the page's
// <meta name="csrf-token"> for the x-csrf-token header of the admin API (/api/v1). The same
// helper makes bearer-token calls to that API and sessions of users the page refuses.
import { UserAgent, formField, type Origin } from './oauth.js';
import type { TestUser } from './server.js';

export const DEVELOPER_TOOLS = '/settings/developer-tools';

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body; `{}` for an empty body, undefined when the body is not JSON. */
  body: Record<string, unknown> & { data?: Array<Record<string, unknown>>; error?: { code: string; message: string } };
}

export interface ApiOptions {
  /** The x-csrf-token to send instead of the session's (which goes with unsafe methods only); null: none at all. */
  csrf?: string | null;
  headers?: Record<string, string>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The CSRF token a Developer Tools page carries in <meta name="csrf-token">. */
export function pageCsrf(html: string): string | undefined {
  return /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1];
}

export class AdminSession {
  constructor(
    readonly baseUrl: string,
    readonly agent: UserAgent = new UserAgent(),
    /** The value of the page's <meta name="csrf-token">; undefined for users the page refuses. */
    readonly csrf?: string,
  ) {}

  /** Same session, another server process (the session and its cookies live in the shared database). */
  on(baseUrl: string): AdminSession {
    return new AdminSession(baseUrl, this.agent, this.csrf);
  }

  /** A call to /api/v1 with the session's cookies. A string body is sent as is (for malformed JSON). */
  async api(method: string, path: string, body?: unknown, opts: ApiOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    const csrf = opts.csrf !== undefined ? opts.csrf : SAFE_METHODS.has(method) ? undefined : this.csrf;
    if (typeof csrf === 'string') headers['x-csrf-token'] = csrf;
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await this.agent.request(`${this.baseUrl}/api/v1${path}`, {
      method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    return toApiResponse(res);
  }

  revoke(clientId: string, opts: ApiOptions = {}): Promise<ApiResponse> {
    return this.api('DELETE', `/connected-apps/${clientId}`, undefined, opts);
  }

  async connectedAppIds(): Promise<string[]> {
    const res = await this.api('GET', '/connected-apps');
    if (res.status !== 200) throw new Error(`GET /connected-apps answered ${res.status}`);
    return res.body.data!.map((c) => c.client_id as string);
  }
}

async function toApiResponse(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  let body: ApiResponse['body'];
  try {
    body = (text === '' ? {} : JSON.parse(text)) as ApiResponse['body'];
  } catch {
    body = undefined as never;
  }
  return { status: res.status, headers: res.headers, text, body };
}

/** A session the Developer Tools page let in: it has the page's CSRF token. */
export type SignedIn = AdminSession & { readonly csrf: string };

/** Signs in through the real /login form, then opens Developer Tools; the session whatever the page answered. */
export async function signInAny(server: Origin, user: Pick<TestUser, 'email' | 'password'>): Promise<AdminSession> {
  const agent = new UserAgent();
  const login = await agent.get(`${server.url}/login`);
  if (login.status !== 200) throw new Error(`GET /login answered ${login.status}`);
  const posted = await agent.postForm(`${server.url}/login`, {
    _csrf: formField(await login.text(), '_csrf'), email: user.email, password: user.password, next: DEVELOPER_TOOLS,
  });
  if (posted.status !== 303) throw new Error(`sign-in answered ${posted.status}`);
  await posted.arrayBuffer();
  const page = await agent.get(`${server.url}${DEVELOPER_TOOLS}`);
  const html = await page.text();
  const csrf = page.status === 200 ? pageCsrf(html) : undefined;
  if (page.status === 200 && !/^[0-9a-f]{64}$/.test(csrf ?? '')) throw new Error(`Developer Tools has no CSRF token: ${html.slice(0, 300)}`);
  return new AdminSession(server.url, agent, csrf);
}

/** Signs in like a browser; the session once the Developer Tools page loads (an active admin). */
export async function signIn(server: Origin, user: Pick<TestUser, 'email' | 'password'>): Promise<SignedIn> {
  const session = await signInAny(server, user);
  if (session.csrf === undefined) throw new Error(`Developer Tools refused ${user.email}`);
  return session as SignedIn;
}

/** A call to /api/v1 with `Authorization: Bearer <token>` and nothing else (no cookie, no CSRF header). */
export function bearerApi(server: Origin, token: string, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  return new AdminSession(server.url).api(method, path, body, { headers: { authorization: `Bearer ${token}` } });
}
