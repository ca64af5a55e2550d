// Revoke access: company C withdraws app X. One transaction of a few indexed statements —
// never one per token:
//   1. the live connection is marked revoked (none → 404);
//   2. every grant of any user of C for X is deleted and queued for purging, and the live
//      tokens and codes carrying those grants are counted (payload-store.ts revokeGrants);
//   3. X's client-credentials tokens bound to C are deleted;
//   4. an audit event with the counts, and an `authorization.revoked` webhook, are written.
// Then, after the commit, its effects (effects.ts): metrics, the log line, the purge of the
// revoked grants' tokens, the webhook worker's wake-up.
// Deleting the grants is what makes introspection, userinfo and refresh fail on every instance
// at once (they all load the grant; a code cannot be redeemed without it); the next
// authorization asks for consent again. The tokens and codes themselves are deleted right after
// the commit by the purge worker, in small transactions.
// The counts are of what was still usable: spent codes, rotated refresh tokens and expired rows
// are deleted too, but they were not "revoked" by this.
import type { Database } from '../db/database.js';
import { isOperator, recordAudit, type OperatorActor } from '../audit/audit.js';
import type { Company } from '../companies/users.js';
import { deleteClientCredentials, revokeGrants } from '../oidc/payload-store.js';
import { notFound } from '../shared/errors.js';
import { enqueueWebhook } from '../webhooks/outbox.js';
import type { LedgerEffects } from './effects.js';

export const REVOKED_COUNT_KEYS: Record<string, string> = {
  Grant: 'grants',
  AccessToken: 'access_tokens',
  RefreshToken: 'refresh_tokens',
  AuthorizationCode: 'authorization_codes',
  ClientCredentials: 'client_credentials_tokens',
  DeviceCode: 'device_codes',
  BackchannelAuthenticationRequest: 'backchannel_requests',
};

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

/** An admin of the company (a User), or an operator. */
export type Revoker = { id: number; email: string; guid: string } | OperatorActor;

export async function revokeConnection(
  deps: { db: Database; effects: LedgerEffects }, company: Company, actor: Revoker, clientId: string,
): Promise<Revocation> {
  const now = Date.now();
  const userId = isOperator(actor) ? null : actor.id;
  const revocation = await deps.db.transaction(async (tx) => {
    const marked = await tx.run<{ id: number }>(
      `UPDATE connections SET revoked_at = ?, revoked_by = ?
       WHERE company_id = ? AND client_id = ? AND revoked_at IS NULL RETURNING id`,
      [now, userId, company.id, clientId],
    );
    if (marked.changes === 0) throw notFound('The connected app');

    const revoked: Record<string, number> = Object.fromEntries(Object.values(REVOKED_COUNT_KEYS).map((k) => [k, 0]));
    const add = (model: string, n: number) => {
      const key = REVOKED_COUNT_KEYS[model];
      if (key) revoked[key] = (revoked[key] ?? 0) + n;
    };

    // Every grant of a user of C for X: deleted now (with it, all it issued stops working),
    // its tokens and codes counted, and queued for the purge that deletes them.
    for (const [model, n] of Object.entries(await revokeGrants(tx, { companyId: company.id, clientId }, now))) add(model, n);
    // Client-credentials tokens carry no grant: deleted here, by the company they are bound to.
    add('ClientCredentials', await deleteClientCredentials(tx, clientId, company.guid, now));

    await recordAudit(tx, {
      companyId: company.id, actor, action: 'connection.revoked', targetType: 'client', targetId: clientId,
      details: { revoked },
    }, now);

    const client = await tx.get<{ name: string; webhook_url: string | null }>('SELECT name, webhook_url FROM clients WHERE client_id = ?', [clientId]);
    if (client?.webhook_url) {
      await enqueueWebhook(tx, {
        clientId, targetUrl: client.webhook_url, event: 'authorization.revoked',
        payload: {
          event: 'authorization.revoked', company_guid: company.guid, client_id: clientId,
          revoked_at: new Date(now).toISOString(), revoked_by: isOperator(actor) ? null : actor.guid,
        },
      }, now);
    }
    return {
      result: { client_id: clientId, revoked_at: new Date(now).toISOString(), revoked },
      appName: client?.name ?? clientId,
      webhookQueued: Boolean(client?.webhook_url),
    };
  });
  deps.effects.connectionRevoked({
    companyGuid: company.guid, clientId, revoked: revocation.result.revoked, webhookQueued: revocation.webhookQueued,
  });
  return { result: revocation.result, appName: revocation.appName };
}
