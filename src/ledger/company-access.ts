// An admin narrows or removes an app's company-wide access (PATCH /connected-apps/{client_id}
// `{"company_access": {"scopes": [...]}}` or `null`). One transaction:
//   1. the live connection and its company grant (none → 404 / 400);
//   2. the new scopes must be a subset of the grant (widening takes a new authorization, where
//      the app asks and an admin sees what it asks);
//   3. the client-credentials tokens of the app for the company outside the new scopes are
//      deleted — and introspection refuses any whose scopes exceed the grant, so a token issued
//      while this runs dies too;
//   4. with the grant removed and no person's authorization left, the connection ends;
//   5. audit event; `authorization.revoked` webhook (revoked: company_access, remaining_scopes).
import { recordAudit } from '../audit/audit.js';
import type { Database } from '../db/database.js';
import type { Company } from '../companies/users.js';
import { withinGrant } from '../authz/policy.js';
import { clientCredentialsOf, deletePayloadRows } from '../oidc/payload-store.js';
import { normaliseScopes, splitScopes } from '../oidc/scopes.js';
import { badRequest, notFound } from '../shared/errors.js';
import type { LedgerEffects } from './effects.js';
import { liveConnection, settleConnection } from './connections.js';
import { queueRevokedWebhook } from './notify.js';
import { countRevoked } from './revoked-counts.js';
import { revokerUserId, type Revoker } from './revoker.js';

export interface CompanyAccessChange {
  client_id: string;
  /** The remaining company grant's scopes, or null when removed. */
  company_access: { scopes: string[] } | null;
  changed_at: string;
  revoked: Record<string, number>;
  connection_ended: boolean;
}

export async function setCompanyAccess(
  deps: { db: Database; effects: LedgerEffects }, company: Company, actor: Revoker, clientId: string, scopes: string[] | null,
): Promise<CompanyAccessChange> {
  const now = Date.now();
  const outcome = await deps.db.transaction(async (tx) => {
    const connection = await liveConnection(tx, company.id, clientId);
    if (!connection) throw notFound('The connected app');
    if (connection.company_access_scopes === null) throw notFound('The app’s company-wide access');
    const current = splitScopes(connection.company_access_scopes);
    const next = scopes === null ? null : normaliseScopes(scopes);
    if (next && !withinGrant(next, current)) {
      const beyond = next.filter((s) => !current.includes(s));
      throw badRequest(`company_access.scopes: can only narrow the company-wide access (${current.join(' ')}); not granted: ${beyond.join(' ')}. To widen it, an admin authorizes the app again.`);
    }
    if (next && next.length === 0) throw badRequest('company_access.scopes: keep at least one scope, or send "company_access": null to remove the access');

    if (next) await tx.run('UPDATE connections SET company_access_scopes = ? WHERE id = ?', [next.join(' '), connection.id]);
    else {
      await tx.run(
        'UPDATE connections SET company_access_scopes = NULL, company_access_granted_by = NULL, company_access_granted_at = NULL WHERE id = ?',
        [connection.id],
      );
    }
    // Client-credentials tokens outside the new scopes (all of them when removed).
    const doomed = (await clientCredentialsOf(tx, clientId, company.guid))
      .filter((t) => !next || !withinGrant(splitScopes(t.scope), next));
    const live = doomed.filter((t) => t.expiresAt === null || t.expiresAt > now).length;
    await deletePayloadRows(tx, 'ClientCredentials', doomed.map((t) => t.hashedId));
    const revoked = countRevoked({ ClientCredentials: live });
    const ended = await settleConnection(tx, connection, company.id, clientId, now, revokerUserId(actor));

    await recordAudit(tx, {
      companyId: company.id, actor, action: next ? 'company_access.narrowed' : 'company_access.revoked',
      targetType: 'client', targetId: clientId,
      details: { previous_scopes: current, scopes: next, revoked, connection_ended: ended },
    }, now);
    const webhookQueued = await queueRevokedWebhook(tx, {
      companyGuid: company.guid, clientId, actor, now, revoked: ended ? 'connection' : 'company_access', remainingScopes: next ?? [],
    });
    return { revoked, ended, webhookQueued, next };
  });
  deps.effects.companyAccessChanged({
    companyGuid: company.guid, clientId, revoked: outcome.revoked, webhookQueued: outcome.webhookQueued, scopes: outcome.next,
  });
  return {
    client_id: clientId, company_access: outcome.next ? { scopes: outcome.next } : null,
    changed_at: new Date(now).toISOString(), revoked: outcome.revoked, connection_ended: outcome.ended,
  };
}
