// A provider middleware recording `last_used_at` of connections when an app uses its tokens
// outside introspection: at userinfo and at a refresh. (Introspection records it in its own
// pipeline, introspection.ts.)
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { LastUsedRecorder } from '../ledger/last-used.js';

export interface LastUseDeps {
  lastUsed: LastUsedRecorder;
  companyOfAccount(accountId: string): Promise<string | undefined>;
}

export function lastUseMiddleware(deps: LastUseDeps) {
  return async function lastUse(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    if (ctx.status !== 200) return;
    const route = ctx.oidc?.route;
    if (route !== 'userinfo' && !(route === 'token' && ctx.oidc.params?.grant_type === 'refresh_token')) return;
    const token = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AccessToken;
    if (!token?.accountId || !token.clientId) return;
    const company = (token as { extra?: { company_guid?: string } }).extra?.company_guid
      ?? (await deps.companyOfAccount(token.accountId));
    if (company) deps.lastUsed.connection(company, token.clientId, token.grantId, ctx.ip);
  };
}
