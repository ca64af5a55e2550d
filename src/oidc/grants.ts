// oidc-provider's Grant of an authorization, from the person's remembered consent
// (DESIGN.md, "Consent and grants"): one Grant per browser session × app (oidc-provider's own
// model), each carrying what the consent covers — bounded again by the person's role and the
// app's registration — and rejecting what this request asks beyond it, so no consent page is
// shown for what is withheld anyway. A revoked consent takes every grant of the person for the
// app with it (found by account × client, indexed); an RP revoking its refresh token (RFC 7009)
// ends that one grant, not the consent nor the person's other sessions.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { decideScopes, roleBound, type RoleBounds, type ScopeDecision } from '../authz/policy.js';
import { registeredScopes } from '../clients/clients.js';
import { findUserByGuid, type User } from '../companies/users.js';
import type { Database } from '../db/database.js';
import { findConsent, stillConsented } from '../ledger/authorizations.js';
import { companyGrantOf } from '../ledger/connections.js';
import { COMPANY_ACCESS, splitScopes } from './scopes.js';

type Grant = InstanceType<KoaContextWithOIDC['oidc']['provider']['Grant']>;
type Client = NonNullable<KoaContextWithOIDC['oidc']['client']>;

export interface GrantDeps {
  db: Database;
  roleBounds: RoleBounds;
  grantTtl: number;
}

/** The policy's decision for this request, this person, this app. */
export function decisionFor(deps: Pick<GrantDeps, 'roleBounds'>, user: User, client: Client, requested: string | undefined): ScopeDecision {
  return decideScopes({
    requested: splitScopes(requested),
    role: user.role,
    registered: registeredScopes(client as unknown as Record<string, unknown>),
    bounds: deps.roleBounds,
  });
}

/** Rejects (for this grant) every scope the request asks that is withheld, and company_access. */
export function rejectWithheld(grant: Grant, decision: ScopeDecision, alsoCompanyAccess: boolean): void {
  const rejected = decision.withheld.map((w) => w.scope);
  if (alsoCompanyAccess) rejected.push(COMPANY_ACCESS);
  if (rejected.length) grant.rejectOIDCScope(rejected.join(' '));
}

/** oidc-provider's loadExistingGrant. */
export function grantLoader(deps: GrantDeps) {
  return async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
    const { client, session, result, provider } = ctx.oidc;
    if (!client || !session?.accountId) return undefined;
    const user = await findUserByGuid(deps.db, session.accountId);
    if (!user || !user.active) return undefined;
    const consent = await findConsent(deps.db, user.id, client.clientId);
    if (!consent) return undefined; // nothing remembered: the consent page asks

    const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
    let grant = grantId ? await provider.Grant.find(grantId) : undefined;
    if (grant && (grant.accountId !== user.guid || grant.clientId !== client.clientId)) grant = undefined;
    const created = !grant;
    grant ??= new provider.Grant({ accountId: user.guid, clientId: client.clientId });

    // What the consent covers, within what the person's role and the app's registration allow now.
    const bound = roleBound(deps.roleBounds, user.role);
    const registered = new Set(registeredScopes(client as unknown as Record<string, unknown>));
    const allowed = consent.scopes.filter((s) => bound.has(s) && registered.has(s) && s !== COMPANY_ACCESS);
    const before = `${grant.getOIDCScope()}|${grant.getRejectedOIDCScope()}`;
    if (allowed.length) grant.addOIDCScope(allowed.join(' '));
    const decision = decisionFor(deps, user, client, ctx.oidc.params?.scope as string | undefined);
    // company_access asked by an admin: no page when the company grant already covers it.
    let companyCovered = false;
    if (decision.companyAccess) {
      const current = await companyGrantOf(deps.db, user.company.guid, client.clientId);
      companyCovered = !!current && decision.companyAccess.every((s) => current.scopes.includes(s));
    }
    rejectWithheld(grant, decision, companyCovered);

    const changed = created || before !== `${grant.getOIDCScope()}|${grant.getRejectedOIDCScope()}`;
    const halfLife = grant.exp !== undefined && grant.exp - Math.floor(Date.now() / 1000) < deps.grantTtl / 2;
    if (changed || halfLife) {
      await grant.save();
      // A revocation may have run between reading the consent and this save (which would then
      // have re-created a deleted grant): the consent row is the arbiter. Touching it waits for a
      // revoking transaction that holds it, then finds it gone.
      if (!(await stillConsented(deps.db, consent.id))) {
        await grant.destroy();
        return undefined;
      }
    }
    return grant;
  };
}
