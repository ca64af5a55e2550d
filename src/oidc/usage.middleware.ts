// A provider middleware (runs inside oidc-provider, after its own handling) that:
// - at introspection, confirms a client-credentials token's connection is still live (its
//   tokens carry no grant, so this is what makes revocation reach them on every instance),
//   answers for our access tokens and API keys when the provider found nothing, and tags
//   every active answer with `auth_type`;
// - records `last_used_at` of connections on introspection, userinfo and refresh.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { KIND_PROPERTY } from '../clients/clients.js';
import type { LastUsedRecorder } from '../ledger/last-used.js';
import type { Metrics } from '../shared/metrics.js';

export interface OwnTokens {
  isOwnToken(value: string): boolean;
  /** RFC 7662 answer for one of our tokens, for a gateway. */
  introspect(value: string): Promise<Record<string, unknown>>;
}

export interface UsageDeps {
  ownTokens: OwnTokens;
  lastUsed: LastUsedRecorder;
  /** The live connection of company × app, if any (client-credentials tokens are bound to it). */
  liveConnectionId(companyGuid: string, clientId: string): Promise<number | undefined>;
  companyOfAccount(accountId: string): Promise<string | undefined>;
  metrics: Metrics;
}

type IntrospectionBody = Record<string, unknown> & { active?: boolean };

export function usageMiddleware(deps: UsageDeps) {
  return async function usage(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    const route = ctx.oidc?.route;
    if (ctx.status !== 200 || !route) return;
    if (route === 'introspection') await introspection(ctx, deps);
    else if (route === 'userinfo') await touchForToken(ctx, deps);
    else if (route === 'token' && ctx.oidc.params?.grant_type === 'refresh_token') await touchForToken(ctx, deps);
  };
}

async function introspection(ctx: KoaContextWithOIDC, deps: UsageDeps): Promise<void> {
  const body = ctx.body as IntrospectionBody;
  if (!body || typeof body !== 'object') return;
  if (body.active === true) {
    // Refresh tokens (answered only to their own app) are not credentials for an API: no
    // auth_type, no "last used".
    if (!ctx.oidc.entities.AccessToken && !ctx.oidc.entities.ClientCredentials) return;
    const cc = ctx.oidc.entities.ClientCredentials;
    const company = typeof body.company_guid === 'string' ? body.company_guid : undefined;
    // Which connection the token belongs to, for "last used": a user's token by its grant
    // (reconnecting makes a new one), a client-credentials token by the live connection.
    let generation = ctx.oidc.entities.AccessToken?.grantId;
    if (cc) {
      const connection = company ? await deps.liveConnectionId(company, String(cc.clientId)) : undefined;
      if (connection === undefined) {
        ctx.body = { active: false };
        deps.metrics.introspections.inc({ auth_type: 'oauth', active: 'false' });
        return;
      }
      generation = `connection ${connection}`;
    }
    body.auth_type = 'oauth';
    if (company && typeof body.client_id === 'string') deps.lastUsed.connection(company, body.client_id, generation);
    deps.metrics.introspections.inc({ auth_type: 'oauth', active: 'true' });
    return;
  }
  const token = ctx.oidc.params?.token;
  if (typeof token === 'string' && deps.ownTokens.isOwnToken(token)
      && (ctx.oidc.client as unknown as Record<string, unknown> | undefined)?.[KIND_PROPERTY] === 'gateway') {
    ctx.body = await deps.ownTokens.introspect(token);
    const answer = ctx.body as IntrospectionBody;
    deps.metrics.introspections.inc({ auth_type: String(answer.auth_type ?? 'unknown'), active: String(answer.active === true) });
    return;
  }
  deps.metrics.introspections.inc({ auth_type: 'unknown', active: 'false' });
}

async function touchForToken(ctx: KoaContextWithOIDC, deps: UsageDeps): Promise<void> {
  const token = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AccessToken;
  if (!token?.accountId || !token.clientId) return;
  const company = (token as { extra?: { company_guid?: string } }).extra?.company_guid
    ?? (await deps.companyOfAccount(token.accountId));
  if (company) deps.lastUsed.connection(company, token.clientId, token.grantId);
}
