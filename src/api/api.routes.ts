// The admin JSON API under /api/v1: Connected Apps, access tokens, legacy API keys, audit
// events. Authenticated by a Developer Tools session (+ x-csrf-token on unsafe methods) or a
// bearer access token of an active admin; every query is scoped to the admin's company.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Services } from '../services.js';
import type { AdminState } from '../admin/auth.js';
import { listAudit } from '../audit/audit.js';
import { findConnection, listConnections } from '../ledger/connections.js';
import { revokeConnection } from '../ledger/revoke-connection.js';
import { AppError, notFound } from '../shared/errors.js';
import { readJson } from '../shared/http.js';
import type { TokenKind } from '../tokens/format.js';
import { boundNewToken, createToken, findToken, listTokens, revokeToken } from '../tokens/tokens.js';
import { listAuthorizations, revokeUserAuthorization } from '../ledger/authorizations.js';
import { setCompanyAccess } from '../ledger/company-access.js';
import { openApiDocument } from './openapi.js';
import { presentAuthorization, presentConnection, presentToken } from './presenters.js';
import { auditQuery, companyAccessPatch, guidParam, newTokenSchema, parse } from './schemas.js';

const state = (ctx: Context) => ctx.state as AdminState;
const idOf = (ctx: Context, what: string) => {
  const r = guidParam.safeParse(ctx.params.id);
  if (!r.success) throw notFound(what);
  return r.data;
};

export function apiRoutes(services: Services): Router {
  const { db, settings } = services;
  const router = new Router({ prefix: '/api/v1' });
  const limit = settings.server.maxBodyBytes;

  router.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument(settings.server.issuer);
  });

  router.use(services.adminAuth.api());

  router.get('/connected-apps', async (ctx) => {
    ctx.body = { data: (await listConnections(db, state(ctx).admin.company.id)).map(presentConnection) };
  });

  router.get('/connected-apps/:id', async (ctx) => {
    const companyId = state(ctx).admin.company.id;
    const connection = await findConnection(db, companyId, idOf(ctx, 'The connected app'));
    if (!connection) throw notFound('The connected app');
    const authorizations = await listAuthorizations(db, companyId, connection.clientId);
    ctx.body = { ...presentConnection(connection), authorizations: authorizations.map(presentAuthorization) };
  });

  router.delete('/connected-apps/:id', async (ctx) => {
    const { admin } = state(ctx);
    ctx.body = (await revokeConnection(services, admin.company, admin, idOf(ctx, 'The connected app'))).result;
  });

  router.patch('/connected-apps/:id', async (ctx) => {
    const { admin } = state(ctx);
    const clientId = idOf(ctx, 'The connected app');
    const input = parse(companyAccessPatch, await readJson(ctx, limit));
    ctx.body = await setCompanyAccess(services, admin.company, admin, clientId, input.company_access?.scopes ?? null);
  });

  router.delete('/connected-apps/:id/users/:user', async (ctx) => {
    const { admin } = state(ctx);
    const clientId = idOf(ctx, 'The connected app');
    const userGuid = guidParam.safeParse(ctx.params.user);
    if (!userGuid.success) throw notFound('This person’s authorization of the app');
    ctx.body = await revokeUserAuthorization(services, admin.company, admin, clientId, userGuid.data);
  });

  const tokenRoutes = (path: string, kind: TokenKind, label: string) => {
    router.get(path, async (ctx) => {
      ctx.body = { data: (await listTokens(db, state(ctx).admin.company.id, kind)).map(presentToken) };
    });
    router.get(`${path}/:id`, async (ctx) => {
      const token = await findToken(db, state(ctx).admin.company.id, kind, idOf(ctx, label));
      if (!token) throw notFound(label);
      ctx.body = presentToken(token);
    });
    router.post(path, async (ctx) => {
      const { admin, token: minting } = state(ctx);
      const input = boundNewToken(kind, parse(newTokenSchema, await readJson(ctx, limit)), minting);
      const { record, token } = await createToken(db, admin, input);
      ctx.status = 201;
      ctx.set('cache-control', 'no-store');
      if (kind === 'api_key') {
        // RFC 9745: creating API keys is deprecated; the link points at the supported method.
        ctx.set('deprecation', '@1764288000');
        ctx.set('link', `<${settings.server.issuer}/docs/access-tokens>; rel="deprecation"; type="text/html"`);
      }
      ctx.body = { ...presentToken(record), token };
    });
    router.delete(`${path}/:id`, async (ctx) => {
      ctx.body = await revokeToken(db, state(ctx).admin, kind, idOf(ctx, label));
    });
  };
  tokenRoutes('/access-tokens', 'access_token', 'The access token');
  tokenRoutes('/api-keys', 'api_key', 'The API key');

  router.get('/audit-events', async (ctx) => {
    const q = parse(auditQuery, ctx.query);
    ctx.body = await listAudit(db, state(ctx).admin.company.id, { limit: q.limit, before: q.cursor });
  });

  // Anything else under /api/v1 is a JSON 404, not the authorization server's.
  router.all('/{*rest}', () => {
    throw new AppError(404, 'not_found', 'There is no such endpoint in the admin API.');
  });

  return router;
}
