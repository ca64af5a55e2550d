// A provider middleware guarding client authentication at the token, introspection and
// revocation endpoints (the ones that take a client secret):
//   1. a failed client authentication (oidc-provider answered 401 invalid_client) is logged with
//      the client_id and the client's IP — never the secret — and counted in metrics;
//   2. it takes a slot of the client_id × IP window in the database (CLIENT_AUTH_RATE_LIMIT per
//      minute, shared by every instance, one statement: rate-limit.ts); past the limit the answer
//      is 429 with Retry-After instead of 401;
//   3. a client_id × IP whose window is full is remembered by the process until the window
//      ends, and its next requests with HTTP Basic credentials are refused (429) before the
//      provider looks at them — right secret or not. A successful authentication costs nothing:
//      no statement, one Map lookup (the endpoints are the hot path).
// client_secret_post requests carry the client_id in the body, which only the provider reads:
// their failures are counted and answered 429 the same way, but a success is never undone.
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { RateLimiter } from '../shared/rate-limit.js';

const ENDPOINTS: Record<string, string> = { '/token': 'token', '/token/introspection': 'introspection', '/token/revocation': 'revocation' };
const MAX_REMEMBERED = 10_000;

export interface ClientAuthDeps {
  limiter: RateLimiter;
  metrics: Metrics;
  logger: Logger;
}

/** The client_id of an HTTP Basic `Authorization` header (RFC 6749 §2.3.1), or undefined. */
export function basicClientId(header: string | undefined): string | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}

export function clientAuthMiddleware(deps: ClientAuthDeps) {
  const locked = new Map<string, number>(); // key → epoch ms the window ends
  const keyOf = (clientId: string, ip: string) => `client-auth:${clientId}\u0000${ip}`;

  const refuse = (ctx: KoaContextWithOIDC, seconds: number) => {
    ctx.status = 429;
    ctx.set('retry-after', String(seconds));
    ctx.set('cache-control', 'no-store');
    ctx.body = { error: 'rate_limited', error_description: `Too many failed client authentications. Try again in ${seconds} seconds.` };
  };

  return async function clientAuth(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    const endpoint = ctx.method === 'POST' ? ENDPOINTS[ctx.path] : undefined;
    if (!endpoint) return next();
    const basic = basicClientId(ctx.get('authorization') || undefined);
    if (basic !== undefined && locked.size) {
      const until = locked.get(keyOf(basic, ctx.ip));
      if (until !== undefined && until > Date.now()) {
        deps.metrics.clientAuthFailures.inc({ endpoint, throttled: 'true' });
        return refuse(ctx, Math.max(1, Math.ceil((until - Date.now()) / 1000)));
      }
    }
    await next();
    if (ctx.status !== 401 || (ctx.body as { error?: unknown } | undefined)?.error !== 'invalid_client') return;

    const bodyId = (ctx.oidc?.body as { client_id?: unknown } | undefined)?.client_id;
    const clientId = basic ?? (typeof bodyId === 'string' ? bodyId : '');
    const key = keyOf(clientId.slice(0, 200), ctx.ip);
    const count = await deps.limiter.take(key);
    deps.logger.warn('client authentication failed', { client_id: clientId.slice(0, 200), ip: ctx.ip, endpoint, throttled: count === undefined });
    deps.metrics.clientAuthFailures.inc({ endpoint, throttled: count === undefined ? 'true' : 'false' });
    if (count !== undefined && count < deps.limiter.limit) return;
    const seconds = await deps.limiter.retryAfter(key);
    if (locked.size >= MAX_REMEMBERED) locked.clear();
    locked.set(key, Date.now() + seconds * 1000);
    if (count === undefined) refuse(ctx, seconds);
  };
}
