// Client credentials for a company (`grant_type=client_credentials&company=<GUID>`): the app
// acts for the company without a signed-in user, within the company grant an admin gave it
// (DESIGN.md, "Authorization model"):
//   - no company grant (or no live connection)  → unauthorized_client
//   - scopes beyond the company grant           → invalid_scope
//   - no scope asked                            → the granted set
// oidc-provider's own client_credentials handler then issues the token; this wraps it (the
// engine has no hook to set the scope of a client-credentials token).
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { errors } from 'oidc-provider';
import { handler, parameters } from 'oidc-provider/lib/actions/grants/client_credentials.js';
import * as grantHelpers from 'oidc-provider/lib/helpers/grants.js';
import { decideClientCredentials } from '../authz/policy.js';
import type { Executor } from '../db/database.js';
import { companyGrantOf } from '../ledger/connections.js';
import { splitScopes } from './scopes.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The company a client-credentials request names, lower-cased; invalid_request when missing or malformed. */
export function requestedCompany(ctx: KoaContextWithOIDC): string {
  const company = (ctx.oidc.params as Record<string, unknown> | undefined)?.company;
  if (typeof company !== 'string' || !GUID.test(company)) {
    throw new errors.InvalidRequest('the company parameter (the GUID of the company the app acts for) is required');
  }
  return company.toLowerCase();
}

/** Registers the company-bound client_credentials grant (call before the provider serves). */
export function registerClientCredentials(provider: Provider, db: Executor): void {
  const helpers = Object.fromEntries(
    Object.entries(grantHelpers).map(([name, helper]) => [name, helper.bind(undefined, provider)]),
  );
  provider.registerGrantType('client_credentials', async (ctx: KoaContextWithOIDC) => {
    const company = requestedCompany(ctx);
    const clientId = ctx.oidc.client!.clientId;
    const grant = await companyGrantOf(db, company, clientId);
    const decision = decideClientCredentials(splitScopes(ctx.oidc.params!.scope as string | undefined), grant?.scopes);
    if (!decision.ok) {
      throw decision.error === 'invalid_scope'
        ? new errors.InvalidScope(decision.message, String(ctx.oidc.params!.scope))
        : new errors.UnauthorizedClient(decision.message);
    }
    (ctx.oidc.params as Record<string, unknown>).scope = decision.scopes.join(' ') || undefined;
    await handler(provider, helpers, ctx);
  }, new Set([...parameters, 'company']));
}
