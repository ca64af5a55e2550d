// What introspection (RFC 7662, `POST /token/introspection`) answers, and why — in one file.
//
// Who may ask: a registered gateway, for any access token (never a refresh token: an API must
// not accept one); a confidential app, for its own tokens only (introspectionAllowed,
// oidc-provider's allowedPolicy); anyone else gets `{"active": false}`. A public client (no
// secret) is refused with 401 for every token alike (refusePublicClients), so its answers say
// nothing about which tokens exist. A wrong client secret is a 401 from the provider before any
// of this runs.
//
// The provider looks the value up as AccessToken, ClientCredentials and RefreshToken (one joined
// statement with the token's grant, see adapter.ts; values carrying our access-token or API-key
// prefix are never looked up there) and answers. Then our steps run, in this order, on its answer:
export const INTROSPECTION_STEPS = [
  rejectClientCredentialsBeyondGrant,
  answerOwnTokens,
  tagAuthType,
  recordLastUse,
  countAnswer,
] as const;
// Nothing here caches what revocation depends on: the grant, the connection and the access
// token's owner are read for every answer.
import type { KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { KIND_PROPERTY } from '../clients/clients.js';
import type { LastUsedRecorder } from '../ledger/last-used.js';
import type { Metrics } from '../shared/metrics.js';
import type { TokenKind } from '../tokens/format.js';
import { withinGrant } from '../authz/policy.js';
import { splitScopes } from './scopes.js';

type Client = InstanceType<Provider['Client']>;
type AnyToken = { kind: string; clientId?: string };

const isGateway = (client: Client | undefined) =>
  // The extra metadata property is set on the client object itself (metadata() would
  // snake-case every property on every call).
  (client as unknown as Record<string, unknown> | undefined)?.[KIND_PROPERTY] === 'gateway';

const isPublic = (client: Client | undefined) => client?.tokenEndpointAuthMethod === 'none';

/** oidc-provider's introspection allowedPolicy; it must return a real boolean. */
export async function introspectionAllowed(_ctx: unknown, client: Client, token: AnyToken): Promise<boolean> {
  if (isGateway(client)) return token.kind !== 'RefreshToken';
  if (isPublic(client)) return false;
  return token.clientId === client.clientId;
}

/** A public client authenticated with its client_id alone: 401, whatever the token. */
function refusePublicClients(ctx: KoaContextWithOIDC): boolean {
  if (!isPublic(ctx.oidc.client)) return false;
  ctx.status = 401;
  ctx.body = { error: 'invalid_client', error_description: 'public clients cannot introspect tokens; introspection is for gateways and confidential clients' };
  return true;
}

export interface OwnTokens {
  /** True for values carrying our access-token / API-key prefix (never oidc-provider's). */
  isOwnToken(value: string): boolean;
  /** The RFC 7662 answer for one of our tokens (`{"active": false}` when not live), and its id. */
  introspect(value: string): Promise<{ answer: Record<string, unknown>; id?: string }>;
}

export interface IntrospectionDeps {
  ownTokens: OwnTokens;
  lastUsed: LastUsedRecorder;
  /** The company grant of a live connection of company × app, if any (client-credentials tokens are bound to it). */
  companyGrant(companyGuid: string, clientId: string): Promise<{ connectionId: number; scopes: string[] } | undefined>;
  metrics: Metrics;
}

type Answer = Record<string, unknown> & { active?: boolean };

/** What the steps know about the answer being built. */
interface Introspection {
  ctx: KoaContextWithOIDC;
  answer: Answer;
  /** oauth (an access or client-credentials token), ours (access token / API key), or neither. */
  authType: 'oauth' | TokenKind | undefined;
  /** For "last used": which connection generation an OAuth token belongs to. */
  generation?: string;
  /** Our access token's id, for "last used". */
  ownTokenId?: string;
}

type Step = (i: Introspection, deps: IntrospectionDeps) => Promise<void> | void;

/**
 * A client-credentials token is bound to its company's grant, and carries no oidc-provider
 * grant: the company revoking the app, removing the company grant, or narrowing it below the
 * token's scopes ends the token here (on every instance, even one issued while the change ran),
 * whatever the token row says.
 */
async function rejectClientCredentialsBeyondGrant(i: Introspection, deps: IntrospectionDeps): Promise<void> {
  const cc = i.ctx.oidc.entities.ClientCredentials;
  if (i.answer.active !== true || !cc) return;
  const company = typeof i.answer.company_guid === 'string' ? i.answer.company_guid : undefined;
  const grant = company ? await deps.companyGrant(company, String(cc.clientId)) : undefined;
  if (!grant || !withinGrant(splitScopes(cc.scope), grant.scopes)) {
    i.answer = { active: false };
    i.authType = 'oauth';
    return;
  }
  i.generation = `connection ${grant.connectionId}`;
}

/** The provider found nothing: a value with our prefix may be an access token or API key, answered for gateways only. */
async function answerOwnTokens(i: Introspection, deps: IntrospectionDeps): Promise<void> {
  if (i.answer.active === true) return;
  const token = i.ctx.oidc.params?.token;
  if (typeof token !== 'string' || !deps.ownTokens.isOwnToken(token) || !isGateway(i.ctx.oidc.client)) return;
  const { answer, id } = await deps.ownTokens.introspect(token);
  i.answer = answer;
  i.authType = answer.auth_type as TokenKind | undefined;
  i.ownTokenId = id;
}

/** Active access and client-credentials tokens are tagged `auth_type: oauth` (refresh tokens, answered only to their own app, are not credentials for an API: no tag). */
function tagAuthType(i: Introspection): void {
  if (i.answer.active !== true || i.authType) return;
  const { AccessToken, ClientCredentials } = i.ctx.oidc.entities;
  if (!AccessToken && !ClientCredentials) return;
  i.answer.auth_type = 'oauth';
  i.authType = 'oauth';
  i.generation ??= AccessToken?.grantId;
}

/** `last_used_at` of the connection or of our token (written at most every LAST_USED_INTERVAL). */
function recordLastUse(i: Introspection, deps: IntrospectionDeps): void {
  if (i.answer.active !== true) return;
  const { company_guid: company, client_id: clientId } = i.answer;
  if (i.ownTokenId) {
    deps.lastUsed.accessToken(i.ownTokenId, typeof company === 'string' ? company : undefined, i.ctx.ip);
    return;
  }
  if (i.authType !== 'oauth') return;
  if (typeof company === 'string' && typeof clientId === 'string') deps.lastUsed.connection(company, clientId, i.generation, i.ctx.ip);
}

function countAnswer(i: Introspection, deps: IntrospectionDeps): void {
  deps.metrics.countIntrospection(i.authType ?? 'unknown', i.answer.active === true);
}

/** A provider middleware running INTROSPECTION_STEPS on every successful introspection answer. */
export function introspectionPipeline(deps: IntrospectionDeps) {
  return async function introspection(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    if (ctx.oidc?.route !== 'introspection') return;
    if (refusePublicClients(ctx) || ctx.status !== 200) return;
    const body = ctx.body as Answer | undefined;
    if (!body || typeof body !== 'object') return;
    const state: Introspection = { ctx, answer: body, authType: undefined };
    for (const step of INTROSPECTION_STEPS as readonly Step[]) {
      const pending = step(state, deps);
      if (pending) await pending; // the synchronous steps cost no turn of the microtask queue
    }
    ctx.body = state.answer;
  };
}

/**
 * No CORS at the introspection endpoint: it is for servers (gateways) holding a secret, never
 * for browsers. oidc-provider answers CORS there by default (`*` without an Origin, preflights
 * with 204): every `Access-Control-*` header is removed, so a browser never lets a page read it.
 */
export async function noIntrospectionCors(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  if (ctx.path !== '/token/introspection') return;
  for (const name of Object.keys(ctx.response.headers)) if (name.startsWith('access-control-')) ctx.remove(name);
}
