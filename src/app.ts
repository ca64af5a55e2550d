// The Koa application: health and metrics, static assets, our pages and JSON API, then
// oidc-provider mounted at the root for every OAuth/OIDC endpoint.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Router from '@koa/router';
import Koa from 'koa';
import mount from 'koa-mount';
import { adminRoutes } from './admin/admin.routes.js';
import { interactionRoutes } from './oidc/interactions.routes.js';
import { apiRoutes } from './api/api.routes.js';
import { safeNext } from './admin/admin.routes.js';
import { upstreamRoutes } from './upstream/upstream.routes.js';
import { operatorRoutes } from './operators/operator.routes.js';
import { credentialsRoutes } from './tokens/credentials.routes.js';
import { errorHandler, pinOrigin, requestLogger, securityHeaders } from './shared/http.js';
import { viewsDir } from './shared/paths.js';
import { constantEquals, sha256 } from './shared/crypto.js';
import { unauthenticated } from './shared/errors.js';
import type { Services } from './services.js';

/** Paths served by oidc-provider (discovery names them all). */
const PROVIDER_PATHS = /^\/(?:auth|token|me|jwks|session|\.well-known)(?:\/|$)/;

const ASSETS: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

export function buildApp(services: Services, cookieKeys: string[]): Koa {
  const { settings, logger, provider, metrics } = services;
  const app = new Koa();
  pinOrigin(app, settings.server.issuer, settings.server.trustProxy);
  app.keys = cookieKeys;
  app.silent = true;
  const secureCookies = settings.server.issuer.startsWith('https:');

  app.use(metrics.middleware());
  if (settings.logLevel === 'debug' || settings.logLevel === 'info') app.use(requestLogger(logger));
  app.use(securityHeaders);
  app.use(errorHandler(logger));

  const ops = new Router();
  ops.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  ops.get('/readyz', async (ctx) => {
    try {
      await services.db.ping();
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', reason: 'database unreachable' };
    }
  });
  ops.get('/metrics', async (ctx) => {
    const token = settings.server.metricsToken;
    if (token !== undefined && !constantEquals(sha256(ctx.get('authorization')), sha256(`Bearer ${token}`))) {
      ctx.set('www-authenticate', 'Bearer realm="metrics"');
      throw unauthenticated('Send Authorization: Bearer <METRICS_TOKEN>.');
    }
    ctx.body = await metrics.render();
    ctx.type = metrics.contentType;
  });
  ops.get('/assets/:file', async (ctx) => {
    const file = String(ctx.params.file);
    const type = ASSETS[file.slice(file.lastIndexOf('.'))];
    if (!/^[a-z0-9-]+\.(css|js)$/.test(file) || !type) return;
    ctx.type = type;
    ctx.set('cache-control', 'public, max-age=300');
    ctx.body = await readFile(join(viewsDir, 'assets', file)).catch(() => undefined);
    if (!ctx.body) ctx.status = 404;
  });

  // oidc-provider's own endpoints go straight to it, past our routers (they are the hot path:
  // introspection, token, userinfo).
  const providerRoutes = mount(provider);
  app.use((ctx, next) => (PROVIDER_PATHS.test(ctx.path) ? providerRoutes(ctx, next) : next()));

  const interactions = interactionRoutes({
    provider, db: services.db, throttle: services.throttle, logger, secureCookies, maxBodyBytes: settings.server.maxBodyBytes,
    roleBounds: services.roleBounds, loginMode: settings.login.mode, upstreamName: services.upstream?.name,
  });
  const admin = adminRoutes(services);
  const api = apiRoutes(services);
  const operator = operatorRoutes(services);
  const credentials = credentialsRoutes(services);

  const upstream = services.upstream && upstreamRoutes({
    upstream: services.upstream, provider: () => services.provider, adminAuth: services.adminAuth, db: services.db,
    issuer: settings.server.issuer, secureCookies, maxBodyBytes: settings.server.maxBodyBytes, safeNext,
  });

  for (const router of [ops, interactions, ...(upstream ? [upstream] : []), admin, api, operator, credentials]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  app.use(providerRoutes);
  return app;
}
