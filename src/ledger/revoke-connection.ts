// Revoke access: company C withdraws app X. One transaction of a few indexed statements —
// never one per token:
//   1. the live connection is marked revoked (none → 404);
//   2. every person's authorization (consent) of X in C is deleted, and every grant of any
//      user of C for X is deleted and queued for purging, the live tokens and codes carrying
//      those grants counted (payload-store.ts revokeGrants);
//   3. X's client-credentials tokens bound to C are deleted (the company grant ends with the
//      connection);
//   4. an audit event with the counts, and an `authorization.revoked` webhook, are written.
// Then, after the commit, its effects (effects.ts): metrics, the log line, the purge of the
// revoked grants' tokens, the webhook worker's wake-up.
// Deleting the grants is what makes introspection, userinfo and refresh fail on every instance
// at once (they all load the grant; a code cannot be redeemed without it); the next
// authorization asks for consent again. The tokens and codes themselves are deleted right after
// the commit by the purge worker, in small transactions.
// The counts are of what was still usable: spent codes, rotated refresh tokens and expired rows
// are deleted too, but they were not "revoked" by this.
import { recordAudit } from '../audit/audit.js';
import type { Database } from '../db/database.js';
import type { Company } from '../companies/users.js';
import { deleteClientCredentials, revokeGrants } from '../oidc/payload-store.js';
import { notFound } from '../shared/errors.js';
import type { LedgerEffects } from './effects.js';
import { queueRevokedWebhook } from './notify.js';
import { countRevoked } from './revoked-counts.js';
import { revokerUserId, type Revoker } from './revoker.js';

export { REVOKED_COUNT_KEYS } from './revoked-counts.js';
export type { Revoker } from './revoker.js';

export interface RevokeResult {
  client_id: string;
  revoked_at: string;
  revoked: Record<string, number>;
}

export interface Revocation {
  /** The API's answer. */
  result: RevokeResult;
  /** The app's name, for messages. */
  appName: string;
}

export async function revokeConnection(
  deps: { db: Database; effects: LedgerEffects }, company: Company, actor: Revoker, clientId: string,
): Promise<Revocation> {
  const now = Date.now();
  const revocation = await deps.db.transaction(async (tx) => {
    const marked = await tx.run<{ id: number }>(
      `UPDATE connections SET revoked_at = ?, revoked_by = ?
       WHERE company_id = ? AND client_id = ? AND revoked_at IS NULL RETURNING id`,
      [now, revokerUserId(actor), company.id, clientId],
    );
    if (marked.changes === 0) throw notFound('The connected app');

    await tx.run('DELETE FROM consents WHERE company_id = ? AND client_id = ?', [company.id, clientId]);
    // Every grant of a user of C for X: deleted now (with it, all it issued stops working),
    // its tokens and codes counted, and queued for the purge that deletes them.
    const byGrant = await revokeGrants(tx, { companyId: company.id, clientId }, now);
    // Client-credentials tokens carry no grant: deleted here, by the company they are bound to.
    const cc = await deleteClientCredentials(tx, clientId, company.guid, now);
    const revoked = countRevoked(byGrant, { ClientCredentials: cc });

    await recordAudit(tx, {
      companyId: company.id, actor, action: 'connection.revoked', targetType: 'client', targetId: clientId,
      details: { revoked },
    }, now);
    const webhookQueued = await queueRevokedWebhook(tx, { companyGuid: company.guid, clientId, actor, now, revoked: 'connection' });
    const client = await tx.get<{ name: string }>('SELECT name FROM clients WHERE client_id = ?', [clientId]);
    return {
      result: { client_id: clientId, revoked_at: new Date(now).toISOString(), revoked },
      appName: client?.name ?? clientId,
      webhookQueued,
    };
  });
  deps.effects.connectionRevoked({
    companyGuid: company.guid, clientId, revoked: revocation.result.revoked, webhookQueued: revocation.webhookQueued,
  });
  return { result: revocation.result, appName: revocation.appName };
}
