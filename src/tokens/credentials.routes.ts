// `POST /credentials/revoke` — where anyone, without authentication, reports leaked access
// tokens or API keys (`{"credentials": ["…", …]}`, at most 1,000): the recognised ones are
// revoked (report-credentials.ts) and the answer is always 202, never saying which were valid.
// Throttled per client IP (REPORTS_PER_MINUTE requests), so it cannot be used to test values
// at scale — a checksum already rejects a guessed value without any lookup.
import Router from '@koa/router';
import { z } from 'zod';
import type { Services } from '../services.js';
import { tooManyRequests } from '../shared/errors.js';
import { guard } from '../shared/guard.js';
import { RateLimiter } from '../shared/rate-limit.js';
import { reportCredentials } from './report-credentials.js';

export const MAX_REPORTED = 1000;
const REPORTS_PER_MINUTE = 30;

export const reportSchema = z.strictObject({
  credentials: z.array(z.string().max(512)).min(1).max(MAX_REPORTED, `at most ${MAX_REPORTED} credentials per request`),
});

export function credentialsRoutes(services: Services): Router {
  const router = new Router();
  const limiter = new RateLimiter(services.db, REPORTS_PER_MINUTE, 60);
  router.post('/credentials/revoke', async (ctx, next) => {
    const key = `credentials-report:${ctx.ip}`;
    if ((await limiter.take(key)) === undefined) throw tooManyRequests(await limiter.retryAfter(key));
    return next();
  }, guard({ body: reportSchema, status: 202, maxBodyBytes: 256 * 1024 }, async (ctx) => {
    const { credentials } = ctx.guard.body;
    const revoked = await reportCredentials(services.db, credentials, { ip: ctx.ip });
    if (revoked) services.logger.warn('reported credentials revoked', { count: revoked, ip: ctx.ip });
    ctx.status = 202;
    ctx.set('cache-control', 'no-store');
    ctx.body = { received: credentials.length };
  }));
  return router;
}
