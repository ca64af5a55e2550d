// Shared by the token tests: a signed-in Developer Tools session (real /login form, cookies,
// CSRF token read from the page) and small calls to the admin JSON API.
import { expect } from '@jest/globals';
import { UserAgent, formField } from '../helpers/oauth.js';
import type { TestServer, TestUser } from '../helpers/server.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body (undefined when the body is not JSON). */
  body: Record<string, unknown> & { data?: Array<Record<string, unknown>>; error?: { code: string; message: string } };
}

async function toApiResponse(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  let body: ApiResponse['body'];
  try {
    body = JSON.parse(text) as ApiResponse['body'];
  } catch {
    body = undefined as never;
  }
  return { status: res.status, headers: res.headers, text, body };
}

export interface AdminSession {
  agent: UserAgent;
  /** The page's CSRF token; undefined for users who cannot open Developer Tools. */
  csrf?: string;
  /** A call to /api/v1 with the session cookie (and the CSRF header unless `csrf: false`). */
  api(method: string, path: string, body?: unknown, opts?: { csrf?: boolean; headers?: Record<string, string> }): Promise<ApiResponse>;
}

/** Signs in through the real /login form, like a browser. */
export async function signIn(server: TestServer, user: TestUser): Promise<AdminSession> {
  const agent = new UserAgent();
  const page = await agent.get(`${server.url}/login`);
  expect(page.status).toBe(200);
  const posted = await agent.postForm(`${server.url}/login`, {
    _csrf: formField(await page.text(), '_csrf'), email: user.email, password: user.password, next: '/settings/developer-tools',
  });
  expect(posted.status).toBe(303);
  const tools = await agent.get(`${server.url}/settings/developer-tools`);
  const html = await tools.text();
  const csrf = tools.status === 200 ? /<meta name="csrf-token" content="([^"]+)">/.exec(html)?.[1] : undefined;
  if (tools.status === 200) expect(csrf).toMatch(/^[0-9a-f]{64}$/);
  return {
    agent,
    csrf,
    async api(method, path, body, opts = {}) {
      const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
      if (csrf && opts.csrf !== false && method !== 'GET') headers['x-csrf-token'] = csrf;
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await agent.request(`${server.url}/api/v1${path}`, {
        method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      return toApiResponse(res);
    },
  };
}

/**
 * A call to /api/v1 with `Authorization: Bearer <token>` and nothing else (no cookie, no CSRF
 * header). A string body is sent as is (for malformed JSON).
 */
export async function bearerApi(server: TestServer, token: string, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`, accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return toApiResponse(res);
}

/** Rows of access_tokens (both kinds), for checks that nothing was written. */
export async function countTokenRows(server: TestServer): Promise<number> {
  const row = await server.db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM access_tokens');
  return Number(row?.n ?? 0);
}
