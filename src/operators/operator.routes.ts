// The operator API under /operator/v1, for a SaaS that provisions grantledger beside its
// product: companies and users (idempotent on its own `external_id`), apps and gateways (create,
// list, get, update, rotate secret). Authenticated by an operator key (`Authorization: Bearer
// glop_…`, `grantledger operator-key create`); every change is audited with the key's name.
// The same command layer as the CLI (provisioning.ts), the same error shape and guard as
// /api/v1; OpenAPI at /operator/v1/openapi.json, generated from these declarations.
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { z } from 'zod';
import type { OperatorActor } from '../audit/audit.js';
import type { GrantType } from '../clients/clients.js';
import type { Services } from '../services.js';
import { defineRoute, mountRoutes, type ApiRoute, type ErrorStatus } from '../shared/api-route.js';
import { AppError, badRequest, notFound, ValidationError } from '../shared/errors.js';
import { guidParam, idParams } from '../shared/guid.schema.js';
import { operatorKeyAuthenticator } from './operator-keys.js';
import {
  appListSchema, appPatchBody, appSchema, companyListSchema, companySchema, createdAppSchema, createdGatewaySchema, gatewayListSchema,
  gatewayPatchBody, gatewaySchema, newAppBody, newCompanyBody, newGatewayBody, newUserBody, presentApp, presentCompany, presentGateway,
  presentUser, rotateBody, rotatedSecretSchema, rotatedWebhookSecretSchema, userListSchema, userPatchBody, userSchema,
} from './operator.presenter.js';
import { operatorApiDocument } from './operator.openapi.js';
import {
  changeApp, changeUser, getApp, getGateway, getOperatorCompany, getOperatorUser, listApps, listGateways, listOperatorCompanies,
  listOperatorUsers, provisionApp, provisionCompany, provisionGateway, provisionUser, renameGateway, rotateClientSecret,
  rotateWebhookSecret, type OperatorDeps,
} from './provisioning.js';

const AUTH: ErrorStatus[] = [401];
const BODY: ErrorStatus[] = [400, 413, 415];

/** The domain's field names (camelCase) → this API's (snake_case), for the 400 message. */
const FIELD: Record<string, string> = {
  redirectUris: 'redirect_uris', grantTypes: 'grant_types', webhookUrl: 'webhook_url', logoUri: 'logo_uri',
  keepOldSeconds: 'keep_old_seconds', companyGuid: 'company', externalId: 'external_id',
};

/** Runs a command; its validation errors name this API's fields. */
async function inApiTerms<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    const issue = err.issues[0];
    const path = issue.path.map((p, i) => (i === 0 && typeof p === 'string' ? FIELD[p] ?? p : String(p))).join('.');
    throw badRequest(path ? `${path}: ${issue.message}` : issue.message);
  }
}

const actorOf = (ctx: Context): OperatorActor => ({ operator: (ctx.state as { operatorKey: { name: string } }).operatorKey.name });

const REPLAYED = { 'Idempotent-Replayed': z.string().meta({ description: '`true` when an object with this external_id existed: it is answered as it is' }) };

function replayed(ctx: Context, created: boolean): void {
  ctx.status = 201;
  if (!created) ctx.set('idempotent-replayed', 'true');
}

export function operatorApiRoutes(services: Services): ApiRoute[] {
  const { db } = services;
  const deps: OperatorDeps = { db, effects: services.effects, roleBounds: services.roleBounds, kek: services.kek };
  const id = idParams();
  const companyQuery = z.strictObject({ company: guidParam.meta({ description: 'The company’s GUID' }) });

  return [
    // ---- companies
    defineRoute({
      method: 'post', path: '/companies', operationId: 'createCompany', tags: ['Companies'], summary: 'Create a company (idempotent on external_id)',
      guard: { body: newCompanyBody, response: companySchema, status: 201 }, answer: { description: 'Created, or the existing company of this external_id', headers: REPLAYED },
      errors: [...BODY, ...AUTH],
      async handler(ctx) {
        const b = ctx.guard.body;
        const { company, created } = await inApiTerms(() => provisionCompany(db, actorOf(ctx), { name: b.name, ...(b.external_id !== undefined ? { externalId: b.external_id } : {}) }));
        ctx.body = presentCompany(company);
        replayed(ctx, created);
      },
    }),
    defineRoute({
      method: 'get', path: '/companies', operationId: 'listCompanies', tags: ['Companies'], summary: 'Every company, oldest first',
      guard: { query: z.strictObject({ external_id: z.string().max(200).optional() }), response: companyListSchema, status: 200 }, answer: { description: 'OK' },
      errors: [400, ...AUTH],
      async handler(ctx) {
        const externalId = ctx.guard.query.external_id;
        const data = externalId === undefined ? await listOperatorCompanies(db) : [await getOperatorCompany(db, { externalId })].filter((c) => c !== undefined);
        ctx.body = { data: data.map(presentCompany) };
      },
    }),
    defineRoute({
      method: 'get', path: '/companies/:id', operationId: 'getCompany', tags: ['Companies'], summary: 'One company',
      guard: { params: id, notFound: 'The company', response: companySchema, status: 200 }, answer: { description: 'OK' }, errors: [...AUTH, 404],
      async handler(ctx) {
        const company = await getOperatorCompany(db, { guid: ctx.guard.params.id });
        if (!company) throw notFound('The company');
        ctx.body = presentCompany(company);
      },
    }),
    // ---- users
    defineRoute({
      method: 'post', path: '/users', operationId: 'createUser', tags: ['Users'], summary: 'Create a user of a company (idempotent on external_id within the company)',
      guard: { body: newUserBody, response: userSchema, status: 201 }, answer: { description: 'Created, or the existing user of this external_id in this company', headers: REPLAYED },
      errors: [...BODY, ...AUTH, 404, 409],
      async handler(ctx) {
        const b = ctx.guard.body;
        const { user, created } = await inApiTerms(() => provisionUser(db, actorOf(ctx), {
          companyGuid: b.company.toLowerCase(), email: b.email, role: b.role,
          ...(b.name !== undefined ? { name: b.name } : {}), ...(b.password !== undefined ? { password: b.password } : {}),
          ...(b.external_id !== undefined ? { externalId: b.external_id } : {}),
        }));
        ctx.body = presentUser(user);
        replayed(ctx, created);
      },
    }),
    defineRoute({
      method: 'get', path: '/users', operationId: 'listUsers', tags: ['Users'], summary: 'The users of a company, by e-mail',
      guard: { query: companyQuery, response: userListSchema, status: 200 }, answer: { description: 'OK' }, errors: [400, ...AUTH, 404],
      async handler(ctx) {
        ctx.body = { data: (await listOperatorUsers(db, ctx.guard.query.company)).map(presentUser) };
      },
    }),
    defineRoute({
      method: 'get', path: '/users/:id', operationId: 'getUser', tags: ['Users'], summary: 'One user',
      guard: { params: id, notFound: 'The user', response: userSchema, status: 200 }, answer: { description: 'OK' }, errors: [...AUTH, 404],
      async handler(ctx) {
        const user = await getOperatorUser(db, ctx.guard.params.id);
        if (!user) throw notFound('The user');
        ctx.body = presentUser(user);
      },
    }),
    defineRoute({
      method: 'patch', path: '/users/:id', operationId: 'updateUser', tags: ['Users'], summary: 'Change a user’s role or active flag',
      description: 'A lower role revokes the person’s app authorizations beyond what the new role may grant; deactivation revokes all of them and ends their sessions.',
      guard: { params: id, notFound: 'The user', body: userPatchBody, response: userSchema, status: 200 }, answer: { description: 'Changed' },
      errors: [...BODY, ...AUTH, 404],
      async handler(ctx) {
        const b = ctx.guard.body;
        const { user } = await inApiTerms(() => changeUser(deps, actorOf(ctx), ctx.guard.params.id, {
          ...(b.role !== undefined ? { role: b.role } : {}), ...(b.active !== undefined ? { active: b.active } : {}),
        }));
        ctx.body = presentUser(user);
      },
    }),
    // ---- apps
    defineRoute({
      method: 'post', path: '/apps', operationId: 'createApp', tags: ['Apps'], summary: 'Register a third-party app; its secrets are shown once',
      guard: { body: newAppBody, response: createdAppSchema, status: 201 }, answer: { description: 'Created' }, errors: [...BODY, ...AUTH],
      async handler(ctx) {
        const b = ctx.guard.body;
        const created = await inApiTerms(() => provisionApp(deps, actorOf(ctx), {
          name: b.name, redirectUris: b.redirect_uris ?? [], public: b.public ?? false,
          ...(b.grant_types ? { grantTypes: b.grant_types as GrantType[] } : {}),
          webhookUrl: b.webhook_url, logoUri: b.logo_uri, homepage: b.homepage, ...(b.scopes ? { scopes: b.scopes } : {}),
        }));
        ctx.body = {
          ...presentApp(await getApp(db, created.client_id)),
          ...(created.client_secret ? { client_secret: created.client_secret } : {}),
          ...(created.webhook_secret ? { webhook_secret: created.webhook_secret } : {}),
        };
        ctx.status = 201;
      },
    }),
    defineRoute({
      method: 'get', path: '/apps', operationId: 'listApps', tags: ['Apps'], summary: 'Every registered app, oldest first',
      guard: { response: appListSchema, status: 200 }, answer: { description: 'OK' }, errors: AUTH,
      async handler(ctx) {
        ctx.body = { data: (await listApps(db)).map(presentApp) };
      },
    }),
    defineRoute({
      method: 'get', path: '/apps/:id', operationId: 'getApp', tags: ['Apps'], summary: 'One app (never its secrets)',
      guard: { params: id, notFound: 'The app', response: appSchema, status: 200 }, answer: { description: 'OK' }, errors: [...AUTH, 404],
      async handler(ctx) {
        ctx.body = presentApp(await getApp(db, ctx.guard.params.id));
      },
    }),
    defineRoute({
      method: 'patch', path: '/apps/:id', operationId: 'updateApp', tags: ['Apps'], summary: 'Change an app’s registration',
      description: 'Validated as at creation. A first webhook URL comes with a webhook secret, shown once. Running servers use the change within two minutes.',
      guard: { params: id, notFound: 'The app', body: appPatchBody, response: createdAppSchema, status: 200 }, answer: { description: 'Changed' },
      errors: [...BODY, ...AUTH, 404, 409],
      async handler(ctx) {
        const b = ctx.guard.body;
        const { app, webhookSecret } = await inApiTerms(() => changeApp(deps, actorOf(ctx), ctx.guard.params.id, {
          ...(b.name !== undefined ? { name: b.name } : {}), ...(b.redirect_uris ? { redirectUris: b.redirect_uris } : {}),
          ...(b.webhook_url !== undefined ? { webhookUrl: b.webhook_url } : {}), ...(b.logo_uri !== undefined ? { logoUri: b.logo_uri } : {}),
          ...(b.homepage !== undefined ? { homepage: b.homepage } : {}), ...(b.scopes ? { scopes: b.scopes } : {}),
        }));
        ctx.body = { ...presentApp(app), ...(webhookSecret ? { webhook_secret: webhookSecret } : {}) };
      },
    }),
    defineRoute({
      method: 'post', path: '/apps/:id/rotate-secret', operationId: 'rotateAppSecret', tags: ['Apps'], summary: 'A new client secret; the old one keeps working for the overlap',
      guard: { params: id, notFound: 'The app', body: rotateBody, response: rotatedSecretSchema, status: 200 }, answer: { description: 'Rotated' },
      errors: [...BODY, ...AUTH, 404, 409],
      async handler(ctx) {
        ctx.body = await inApiTerms(() => rotateClientSecret(db, actorOf(ctx), 'app', ctx.guard.params.id, ctx.guard.body.keep_old_seconds));
      },
    }),
    defineRoute({
      method: 'post', path: '/apps/:id/rotate-webhook-secret', operationId: 'rotateAppWebhookSecret', tags: ['Apps'],
      summary: 'A new webhook signing secret; deliveries carry both signatures for the overlap',
      guard: { params: id, notFound: 'The app', body: rotateBody, response: rotatedWebhookSecretSchema, status: 200 }, answer: { description: 'Rotated' },
      errors: [...BODY, ...AUTH, 404, 409],
      async handler(ctx) {
        ctx.body = await inApiTerms(() => rotateWebhookSecret(db, services.kek, actorOf(ctx), ctx.guard.params.id, ctx.guard.body.keep_old_seconds));
      },
    }),
    // ---- gateways
    defineRoute({
      method: 'post', path: '/gateways', operationId: 'createGateway', tags: ['Gateways'], summary: 'Register a V2 API gateway; its secret is shown once',
      guard: { body: newGatewayBody, response: createdGatewaySchema, status: 201 }, answer: { description: 'Created' }, errors: [...BODY, ...AUTH],
      async handler(ctx) {
        const created = await inApiTerms(() => provisionGateway(db, actorOf(ctx), ctx.guard.body.name));
        ctx.body = { ...presentGateway(await getGateway(db, created.client_id)), client_secret: created.client_secret };
        ctx.status = 201;
      },
    }),
    defineRoute({
      method: 'get', path: '/gateways', operationId: 'listGateways', tags: ['Gateways'], summary: 'Every registered gateway, oldest first',
      guard: { response: gatewayListSchema, status: 200 }, answer: { description: 'OK' }, errors: AUTH,
      async handler(ctx) {
        ctx.body = { data: (await listGateways(db)).map(presentGateway) };
      },
    }),
    defineRoute({
      method: 'get', path: '/gateways/:id', operationId: 'getGateway', tags: ['Gateways'], summary: 'One gateway (never its secret)',
      guard: { params: id, notFound: 'The gateway', response: gatewaySchema, status: 200 }, answer: { description: 'OK' }, errors: [...AUTH, 404],
      async handler(ctx) {
        ctx.body = presentGateway(await getGateway(db, ctx.guard.params.id));
      },
    }),
    defineRoute({
      method: 'patch', path: '/gateways/:id', operationId: 'updateGateway', tags: ['Gateways'], summary: 'Rename a gateway',
      guard: { params: id, notFound: 'The gateway', body: gatewayPatchBody, response: gatewaySchema, status: 200 }, answer: { description: 'Changed' },
      errors: [...BODY, ...AUTH, 404],
      async handler(ctx) {
        ctx.body = presentGateway(await inApiTerms(() => renameGateway(db, actorOf(ctx), ctx.guard.params.id, ctx.guard.body.name)));
      },
    }),
    defineRoute({
      method: 'post', path: '/gateways/:id/rotate-secret', operationId: 'rotateGatewaySecret', tags: ['Gateways'], summary: 'A new client secret; the old one keeps working for the overlap',
      guard: { params: id, notFound: 'The gateway', body: rotateBody, response: rotatedSecretSchema, status: 200 }, answer: { description: 'Rotated' },
      errors: [...BODY, ...AUTH, 404],
      async handler(ctx) {
        ctx.body = await inApiTerms(() => rotateClientSecret(db, actorOf(ctx), 'gateway', ctx.guard.params.id, ctx.guard.body.keep_old_seconds));
      },
    }),
  ];
}

/** Bearer operator key → ctx.state.operatorKey; anything else 401 (a revoked key too, at once). */
function operatorAuth(services: Services) {
  const authenticate = operatorKeyAuthenticator(services.db);
  return async (ctx: Context, next: Next): Promise<void> => {
    const m = /^Bearer +(\S+)$/i.exec(ctx.get('authorization'));
    const key = m ? await authenticate(m[1]!) : undefined;
    if (!key) {
      throw new AppError(401, 'unauthenticated', 'Send a valid operator key: Authorization: Bearer glop_… (grantledger operator-key create).', {
        'www-authenticate': 'Bearer realm="grantledger-operator"',
      });
    }
    ctx.state.operatorKey = key;
    return next();
  };
}

export function operatorRoutes(services: Services): Router {
  const routes = operatorApiRoutes(services);
  const document = operatorApiDocument(routes, services.settings.server.issuer);
  const router = new Router({ prefix: '/operator/v1' });
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  router.use(operatorAuth(services));
  mountRoutes(router, routes, { maxBodyBytes: services.settings.server.maxBodyBytes });
  router.all('/{*rest}', () => {
    throw new AppError(404, 'not_found', 'There is no such endpoint in the operator API.');
  });
  return router;
}
