// The admin JSON API under /api/v1: Connected Apps, access tokens, legacy API keys, audit
// events. Authenticated by a Developer Tools session (+ x-csrf-token on unsafe methods) or a
// bearer access token of an active admin; every query is scoped to the admin's company.
// Each route is declared once (shared/api-route.ts): the router and the OpenAPI document at
// /api/v1/openapi.json are both built from `adminApiRoutes`.
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Services } from '../services.js';
import type { AdminState } from '../admin/auth.js';
import { listAudit } from '../audit/audit.js';
import { auditPageSchema, auditQuery } from '../audit/audit.schema.js';
import {
  companyAccessChangeSchema, companyAccessPatchSchema, connectedAppDetailSchema, connectedAppListSchema, presentAuthorization,
  presentConnection, revocationSchema, userAuthorizationRevocationSchema,
} from '../ledger/connection.presenter.js';
import { listAuthorizations, revokeUserAuthorization } from '../ledger/authorizations.js';
import { setCompanyAccess } from '../ledger/company-access.js';
import { findConnection, listConnections } from '../ledger/connections.js';
import { revokeConnection } from '../ledger/revoke-connection.js';
import { defineRoute, mountRoutes, type ApiRoute, type ErrorStatus } from '../shared/api-route.js';
import { AppError, notFound } from '../shared/errors.js';
import { guidParam, idParams } from '../shared/guid.schema.js';
import type { TokenKind } from '../tokens/format.js';
import {
  accessTokenListSchema, accessTokenSchema, apiKeyListSchema, apiKeySchema, createdAccessTokenSchema, createdApiKeySchema,
  presentToken, tokenRevocationSchema,
} from '../tokens/token.presenter.js';
import { newTokenSchema } from '../tokens/token.schema.js';
import { boundNewToken, createToken, findToken, listTokens, revokeToken } from '../tokens/tokens.js';
import { adminApiDocument } from './openapi.js';

const state = (ctx: Context) => ctx.state as AdminState;

/** Every route is behind the admin check: no credentials 401, not an admin (or no CSRF) 403. */
const AUTH: ErrorStatus[] = [401, 403];
const BODY: ErrorStatus[] = [400, 413, 415];

// RFC 9745: API-key creation answers that the method is deprecated, and where to go instead.
const DEPRECATION_HEADERS = {
  Deprecation: z.string().meta({ description: 'Since when creating API keys is deprecated (RFC 9745), e.g. `@1764288000`' }),
  Link: z.string().meta({ description: '`<…/docs/access-tokens>; rel="deprecation"`: the supported method' }),
};

const TOKEN_KINDS = {
  access_token: {
    path: '/access-tokens', tag: 'Access tokens', label: 'The access token', name: 'AccessToken', plural: 'access tokens',
    one: accessTokenSchema, list: accessTokenListSchema, created: createdAccessTokenSchema,
  },
  api_key: {
    path: '/api-keys', tag: 'API keys', label: 'The API key', name: 'ApiKey', plural: 'API keys',
    one: apiKeySchema, list: apiKeyListSchema, created: createdApiKeySchema,
  },
} as const;

export function adminApiRoutes(services: Services): ApiRoute[] {
  const { db, settings } = services;
  const appId = idParams('The app’s client_id (GUID)');

  const tokenRoutes = (kind: TokenKind): ApiRoute[] => {
    const { path, tag, label, name, plural, one, list, created } = TOKEN_KINDS[kind];
    const deprecated = kind === 'api_key';
    const id = idParams();
    return [
      defineRoute({
        method: 'get', path, operationId: `list${name}s`, tags: [tag], summary: `List live ${plural}`,
        guard: { response: list, status: 200 }, answer: { description: 'OK' }, errors: AUTH,
        async handler(ctx) {
          ctx.body = { data: (await listTokens(db, state(ctx).admin.company.id, kind)).map(presentToken) };
        },
      }),
      defineRoute({
        method: 'get', path: `${path}/:id`, operationId: `get${name}`, tags: [tag], summary: 'Get one',
        guard: { params: id, notFound: label, response: one, status: 200 }, answer: { description: 'OK' }, errors: [...AUTH, 404],
        async handler(ctx) {
          const token = await findToken(db, state(ctx).admin.company.id, kind, ctx.guard.params.id);
          if (!token) throw notFound(label);
          ctx.body = presentToken(token);
        },
      }),
      defineRoute({
        method: 'post', path, operationId: `create${name}`, tags: [tag], deprecated,
        summary: deprecated ? 'Create a legacy API key (deprecated)' : 'Create an access token',
        description: 'The response is the only place the token appears; store it now.' + (deprecated ? ' Answers with `Deprecation` and `Link` headers.' : ''),
        guard: { body: newTokenSchema, response: created, status: 201 },
        answer: {
          description: 'Created',
          ...(deprecated ? { headers: DEPRECATION_HEADERS } : {}),
        },
        errors: [...BODY, ...AUTH],
        async handler(ctx) {
          const { admin, token: minting } = state(ctx);
          const { record, token } = await createToken(db, admin, boundNewToken(kind, ctx.guard.body, minting, settings.tokens));
          ctx.status = 201;
          ctx.set('cache-control', 'no-store');
          if (kind === 'api_key') {
            // RFC 9745: creating API keys is deprecated; the link points at the supported method.
            ctx.set('deprecation', '@1764288000');
            ctx.set('link', `<${settings.server.issuer}/docs/access-tokens>; rel="deprecation"; type="text/html"`);
          }
          ctx.body = { ...presentToken(record), token };
        },
      }),
      defineRoute({
        method: 'delete', path: `${path}/:id`, operationId: `revoke${name}`, tags: [tag], summary: 'Revoke (immediate)',
        guard: { params: id, notFound: label, response: tokenRevocationSchema, status: 200 }, answer: { description: 'Revoked' },
        errors: [...AUTH, 404],
        async handler(ctx) {
          ctx.body = await revokeToken(db, state(ctx).admin, kind, ctx.guard.params.id);
        },
      }),
    ];
  };

  return [
    defineRoute({
      method: 'get', path: '/connected-apps', operationId: 'listConnectedApps', tags: ['Connected Apps'], summary: 'List connected apps',
      guard: { response: connectedAppListSchema, status: 200 }, answer: { description: 'OK' }, errors: AUTH,
      async handler(ctx) {
        ctx.body = { data: (await listConnections(db, state(ctx).admin.company.id)).map(presentConnection) };
      },
    }),
    defineRoute({
      method: 'get', path: '/connected-apps/:id', operationId: 'getConnectedApp', tags: ['Connected Apps'], summary: 'Get one connected app',
      description: 'With each person’s authorization of the app (`authorizations`).',
      guard: { params: appId, notFound: 'The connected app', response: connectedAppDetailSchema, status: 200 }, answer: { description: 'OK' },
      errors: [...AUTH, 404],
      async handler(ctx) {
        const companyId = state(ctx).admin.company.id;
        const connection = await findConnection(db, companyId, ctx.guard.params.id);
        if (!connection) throw notFound('The connected app');
        const authorizations = await listAuthorizations(db, companyId, connection.clientId);
        ctx.body = { ...presentConnection(connection), authorizations: authorizations.map(presentAuthorization) };
      },
    }),
    defineRoute({
      method: 'patch', path: '/connected-apps/:id', operationId: 'changeCompanyAccess', tags: ['Connected Apps'],
      summary: 'Narrow or remove the app’s company-wide access',
      description: '`{"company_access": {"scopes": [...]}}` keeps only those scopes (a subset of the current grant; widening takes a new authorization by an admin); `{"company_access": null}` removes it. Client-credentials tokens outside the new scopes stop working at once. With no company-wide access and nobody’s authorization left, the connection ends.',
      guard: { params: appId, notFound: 'The connected app', body: companyAccessPatchSchema, response: companyAccessChangeSchema, status: 200 },
      answer: { description: 'Changed' },
      errors: [...BODY, ...AUTH, 404],
      async handler(ctx) {
        const { admin } = state(ctx);
        ctx.body = await setCompanyAccess(services, admin.company, admin, ctx.guard.params.id, ctx.guard.body.company_access?.scopes ?? null);
      },
    }),
    defineRoute({
      method: 'delete', path: '/connected-apps/:id/users/:user', operationId: 'revokeUserAuthorization', tags: ['Connected Apps'],
      summary: 'Revoke one person’s authorization of the app',
      description: 'That person’s consent, and every grant and token of theirs for the app, end at once. The connection stays while other people or the company-wide access remain.',
      guard: {
        params: z.object({ id: guidParam.meta({ format: 'uuid', description: 'The app’s client_id (GUID)' }), user: guidParam.meta({ format: 'uuid', description: 'The person’s user GUID' }) }),
        notFound: 'This person’s authorization of the app', response: userAuthorizationRevocationSchema, status: 200,
      },
      answer: { description: 'Revoked' },
      errors: [...AUTH, 404],
      async handler(ctx) {
        const { admin } = state(ctx);
        ctx.body = await revokeUserAuthorization(services, admin.company, admin, ctx.guard.params.id, ctx.guard.params.user);
      },
    }),
    defineRoute({
      method: 'delete', path: '/connected-apps/:id', operationId: 'revokeConnectedApp', tags: ['Connected Apps'],
      summary: 'Revoke the app’s access (irreversible)',
      description: 'Deletes every grant, token and code the app holds for this company, in one transaction; the app must be authorized again. A second call answers 404.',
      guard: { params: appId, notFound: 'The connected app', response: revocationSchema, status: 200 }, answer: { description: 'Revoked' },
      errors: [...AUTH, 404],
      async handler(ctx) {
        const { admin } = state(ctx);
        ctx.body = (await revokeConnection(services, admin.company, admin, ctx.guard.params.id)).result;
      },
    }),
    ...tokenRoutes('access_token'),
    ...tokenRoutes('api_key'),
    defineRoute({
      method: 'get', path: '/audit-events', operationId: 'listAuditEvents', tags: ['Audit'], summary: 'Audit events, newest first',
      guard: { query: auditQuery, response: auditPageSchema, status: 200 }, answer: { description: 'OK' }, errors: [400, ...AUTH],
      async handler(ctx) {
        const q = ctx.guard.query;
        ctx.body = await listAudit(db, state(ctx).admin.company.id, { limit: q.limit, before: q.cursor, targetType: q.target_type, actor: q.actor });
      },
    }),
  ];
}

export function apiRoutes(services: Services): Router {
  const routes = adminApiRoutes(services);
  // Built once, with the router: a declaration the document refuses stops the start.
  const document = adminApiDocument(routes, services.settings.server.issuer);
  const router = new Router({ prefix: '/api/v1' });

  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });

  router.use(services.adminAuth.api());
  mountRoutes(router, routes, { maxBodyBytes: services.settings.server.maxBodyBytes });

  // Anything else under /api/v1 is a JSON 404, not the authorization server's.
  router.all('/{*rest}', () => {
    throw new AppError(404, 'not_found', 'There is no such endpoint in the admin API.');
  });

  return router;
}
