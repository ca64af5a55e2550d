// What introspection (RFC 7662, `POST /token/introspection`) answers, and why — in one file.
//
// Who may ask (introspectionAllowed, oidc-provider's allowedPolicy): a registered gateway, for
// any access token (never a refresh token: an API must not accept one); an app, for its own
// tokens only. Anyone else gets `{"active": false}`. A wrong client secret is a 401 from the
// provider before any of this runs.
//
// The provider looks the value up as AccessToken, ClientCredentials and RefreshToken (one joined
// statement with the token's grant, see adapter.ts; values carrying our access-token or API-key
// prefix are never looked up there) and answers. Then our steps run, in this order, on its answer:
export const INTROSPECTION_STEPS = [
  rejectRevokedClientCredentials,
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

type Client = InstanceType<Provider['Client']>;
type AnyToken = { kind: string; clientId?: string };

const isGateway = (client: Client | undefined) =>
  // The extra metadata property is set on the client object itself (metadata() would
  // snake-case every property on every call).
  (client as unknown as Record<string, unknown> | undefined)?.[KIND_PROPERTY] === 'gateway';

/** oidc-provider's introspection allowedPolicy; it must return a real boolean. */
export async function introspectionAllowed(_ctx: unknown, client: Client, token: AnyToken): Promise<boolean> {
  if (isGateway(client)) return token.kind !== 'RefreshToken';
  return token.clientId === client.clientId;
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
  /** The live connection of company × app, if any (client-credentials tokens are bound to it). */
  liveConnectionId(companyGuid: string, clientId: string): Promise<number | undefined>;
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
 * A client-credentials token is bound to a company's connection, and carries no grant: the
 * company revoking the app ends it here (on every instance), whatever the token row says.
 */
async function rejectRevokedClientCredentials(i: Introspection, deps: IntrospectionDeps): Promise<void> {
  const cc = i.ctx.oidc.entities.ClientCredentials;
  if (i.answer.active !== true || !cc) return;
  const company = typeof i.answer.company_guid === 'string' ? i.answer.company_guid : undefined;
  const connection = company ? await deps.liveConnectionId(company, String(cc.clientId)) : undefined;
  if (connection === undefined) {
    i.answer = { active: false };
    i.authType = 'oauth';
    return;
  }
  i.generation = `connection ${connection}`;
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
  if (i.ownTokenId) {
    deps.lastUsed.accessToken(i.ownTokenId);
    return;
  }
  if (i.authType !== 'oauth') return;
  const { company_guid: company, client_id: clientId } = i.answer;
  if (typeof company === 'string' && typeof clientId === 'string') deps.lastUsed.connection(company, clientId, i.generation);
}

function countAnswer(i: Introspection, deps: IntrospectionDeps): void {
  deps.metrics.introspections.inc({ auth_type: i.authType ?? 'unknown', active: i.answer.active === true ? 'true' : 'false' });
}

/** A provider middleware running INTROSPECTION_STEPS on every successful introspection answer. */
export function introspectionPipeline(deps: IntrospectionDeps) {
  return async function introspection(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    if (ctx.oidc?.route !== 'introspection' || ctx.status !== 200) return;
    const body = ctx.body as Answer | undefined;
    if (!body || typeof body !== 'object') return;
    const state: Introspection = { ctx, answer: body, authType: undefined };
    for (const step of INTROSPECTION_STEPS as readonly Step[]) await step(state, deps);
    ctx.body = state.answer;
  };
}
