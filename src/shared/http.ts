// HTTP plumbing for our own routes (never in front of oidc-provider's): bounded body parsing,
// CSRF checks, security headers, the error renderer and the request logger; and, for the whole
// app, where a request comes from (trusted proxy hops) and which URL it is for (ISSUER only).
import type Koa from 'koa';
import type { Context, Next } from 'koa';
import { AppError, badRequest, csrfFailed, payloadTooLarge, unsupportedMediaType } from './errors.js';
import { constantEquals, randomSecret } from './crypto.js';
import { requestLine, type Logger } from './logger.js';
import { UNPRINTABLE } from './validation.js';
import { renderPage } from './views.js';

/**
 * The app trusts `hops` proxies: the client IP is the `hops`-th address from the right of
 * `X-Forwarded-For` (Koa's `maxIpsCount`), so a client-chosen leftmost value is never used.
 * Every URL the app builds (oidc-provider's discovery, form actions and redirects, from
 * `ctx.href`) comes from `issuer`: the request's host and protocol are pinned to it, whatever
 * `Host`, `X-Forwarded-Host` or `X-Forwarded-Proto` say. Getters on the app's request
 * prototype: no per-request work.
 */
export function pinOrigin(app: Koa, issuer: string, hops: number): void {
  app.proxy = hops > 0;
  app.maxIpsCount = hops;
  const url = new URL(issuer);
  const protocol = url.protocol.slice(0, -1);
  Object.defineProperties(app.request, {
    host: { get: () => url.host, configurable: true },
    hostname: { get: () => url.hostname, configurable: true },
    protocol: { get: () => protocol, configurable: true },
  });
}

async function readRaw(ctx: Context, limit: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw payloadTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw payloadTooLarge(limit);
    chunks.push(chunk);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw badRequest('The request body is not valid UTF-8.');
  }
}

// A body can be read from the socket once: the form read by the page's CSRF check is the one
// the route's guard validates.
const forms = new WeakMap<Context, Promise<Record<string, string>>>();

/** An urlencoded form as a flat record (repeated fields: the last one wins, except `[]` arrays). */
export function readForm(ctx: Context, limit: number): Promise<Record<string, string>> {
  let form = forms.get(ctx);
  if (!form) {
    form = parseForm(ctx, limit);
    forms.set(ctx, form);
  }
  return form;
}

async function parseForm(ctx: Context, limit: number): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw unsupportedMediaType('application/x-www-form-urlencoded');
  const params = new URLSearchParams(await readRaw(ctx, limit));
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of params) {
    // The one check for every field of every form (credentials included): no control
    // characters reach a lookup (PostgreSQL rejects NUL in text) or a page.
    if (UNPRINTABLE.test(k) || UNPRINTABLE.test(v)) throw badRequest('A form field contains control characters, which are not allowed.');
    out[k] = v;
  }
  return out;
}

export async function readJson(ctx: Context, limit: number): Promise<unknown> {
  const raw = await readRaw(ctx, limit);
  if (raw.trim() === '') return {};
  if (!ctx.is('application/json')) throw unsupportedMediaType('application/json');
  try {
    return JSON.parse(raw);
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
}

export const CSRF_COOKIE = 'gl.csrf';

/**
 * Double-submit CSRF token for pages without a server-side session (login and consent):
 * a signed, httpOnly cookie whose value every form repeats in `_csrf`.
 */
export function issueFormCsrf(ctx: Context, secure: boolean): string {
  let token = ctx.cookies.get(CSRF_COOKIE, { signed: true });
  if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) {
    token = randomSecret(32);
    ctx.cookies.set(CSRF_COOKIE, token, { signed: true, httpOnly: true, sameSite: 'lax', secure, path: '/', overwrite: true });
  }
  return token;
}

export function checkFormCsrf(ctx: Context, submitted: string | undefined): void {
  const expected = ctx.cookies.get(CSRF_COOKIE, { signed: true });
  if (!expected || typeof submitted !== 'string' || !constantEquals(expected, submitted)) throw csrfFailed();
}

const CSP = "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Security headers. The content security policy is set *before* the response is made, because
 * oidc-provider adds the sha256 of its own inline scripts (the form_post auto-submit, the
 * end-session form without a session) to the `script-src` of the policy it finds: those run,
 * nothing else inline does (no 'unsafe-inline'). Answers that are not pages drop it.
 */
export async function securityHeaders(ctx: Context, next: Next): Promise<void> {
  ctx.set('content-security-policy', CSP);
  await next();
  ctx.set('x-content-type-options', 'nosniff');
  ctx.set('referrer-policy', 'no-referrer');
  if (ctx.response.is('html')) ctx.set('x-frame-options', 'DENY');
  else ctx.remove('content-security-policy');
}

/** Does this request want JSON (API) rather than a page? */
export function wantsJson(ctx: Context): boolean {
  return ctx.path.startsWith('/api/') || ctx.path.startsWith('/operator/') || ctx.path.startsWith('/credentials/') || (!ctx.accepts('html') && !!ctx.accepts('json'));
}

export function errorHandler(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      // Nothing answered: our 404 page (or JSON), not Koa's bare "Not Found".
      if (ctx.status === 404 && ctx.body == null && ctx.respond !== false) throw new AppError(404, 'not_found', 'There is no page at this address.');
    } catch (err) {
      const appError = err instanceof AppError ? err : toAppError(err);
      if (!appError) logger.error('unhandled error', { err, method: ctx.method, path: ctx.path });
      const e = appError ?? new AppError(500, 'internal_error', 'Something went wrong on our side. Try again later.');
      ctx.status = e.status;
      ctx.set(e.headers);
      if (wantsJson(ctx)) {
        ctx.body = { error: { code: e.code, message: e.message } };
      } else {
        ctx.type = 'html';
        ctx.body = await renderPage('error', { ...errorPage(ctx.path, e), status: e.status, code: e.code });
      }
    }
  };
}

const TITLES: Record<number, string> = {
  401: 'Sign in to continue', 403: 'You cannot open this page', 404: 'This page does not exist', 429: 'Too many attempts',
};

/** The title, words and way back of an error page: admins go back to Developer Tools, people in a sign-in flow to their app. */
function errorPage(path: string, e: AppError): { title: string; message: string; back?: { href: string; label: string }; hint?: string } {
  const title = TITLES[e.status] ?? (e.status >= 500 ? 'Something went wrong' : 'This did not work');
  if (path.startsWith('/interaction/')) return { title, message: e.message, hint: 'Close this page and start again from the app.' };
  if (e.status === 401) return { title, message: e.message, back: { href: `/login?next=${encodeURIComponent(path)}`, label: 'Sign in' } };
  if (path === '/login' || path === '/logout') return { title, message: e.message, back: { href: '/login', label: 'Back to sign-in' } };
  return { title, message: e.message, back: { href: '/settings/developer-tools', label: 'Back to Developer Tools' } };
}

/** Errors from Koa itself (ctx.throw, bad headers) keep their 4xx status; anything else is a 500. */
function toAppError(err: unknown): AppError | undefined {
  const e = err as { status?: number; expose?: boolean; message?: string };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError(e.status, 'invalid_request', e.expose && e.message ? e.message : 'The request is not valid.');
  }
  return undefined;
}

/**
 * The request logger: one `request` line per request, `{method, path, status, ms}`. The path has
 * no query string (it can carry codes and tokens). Install it only at debug/info level.
 */
export function requestLogger(logger: Logger) {
  const line = requestLine(logger);
  return async (ctx: Context, next: Next): Promise<void> => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
      line({ method: ctx.method, path: ctx.path, status, ms: Math.round((performance.now() - start) * 10) / 10 });
    }
  };
}
