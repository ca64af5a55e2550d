// Revoke access: company C withdraws app X. One transaction of a few indexed statements —
// never one per token:
//   1. the live connection is marked revoked (none → 404);
//   2. every grant of any user of C for X is deleted and queued for purging, and the live
//      tokens and codes carrying those grants are counted (grant-purge.ts);
//   3. X's client-credentials tokens bound to C are deleted;
//   4. an audit event with the counts, and an `authorization.revoked` webhook, are written.
// Deleting the grants is what makes introspection, userinfo and refresh fail on every instance
// at once (they all load the grant; a code cannot be redeemed without it); the next
// authorization asks for consent again. The tokens and codes themselves are deleted right after
// the commit by the purge worker, in small transactions (call GrantPurger.kick()).
// The counts are of what was still usable: spent codes, rotated refresh tokens and expired rows
// are deleted too, but they were not "revoked" by this.
import type { Database } from '../db/database.js';
import { recordAudit } from '../audit/audit.js';
import type { User } from '../companies/users.js';
import { notFound } from '../shared/errors.js';
import { enqueueWebhook } from '../webhooks/outbox.js';
import { revokeGrants } from './grant-purge.js';

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

export async function revokeConnection(db: Database, admin: User, clientId: string): Promise<RevokeResult> {
  const company = admin.company;
  const now = Date.now();
  const result = await db.transaction(async (tx) => {
    const marked = await tx.run<{ id: number }>(
      `UPDATE connections SET revoked_at = ?, revoked_by = ?
       WHERE company_id = ? AND client_id = ? AND revoked_at IS NULL RETURNING id`,
      [now, admin.id, company.id, clientId],
    );
    if (marked.changes === 0) throw notFound('The connected app');

    const revoked: Record<string, number> = Object.fromEntries(Object.values(REVOKED_COUNT_KEYS).map((k) => [k, 0]));
    const add = (model: string, n: number) => {
      const key = REVOKED_COUNT_KEYS[model];
      if (key) revoked[key] = (revoked[key] ?? 0) + n;
    };

    // Every grant of a user of C for X: deleted now (with it, all it issued stops working),
    // its tokens and codes counted, and queued for the purge that deletes them.
    const byGrant = await revokeGrants(
      tx, 'client_id = ? AND account_id IN (SELECT guid FROM users WHERE company_id = ?)', [clientId, company.id], now,
    );
    for (const [model, n] of Object.entries(byGrant)) add(model, n);

    // Client-credentials tokens carry no grant: deleted here, by the company they are bound to.
    const cc = await tx.run<{ expires_at: number | null }>(
      `DELETE FROM oidc_payloads WHERE client_id = ? AND company_guid = ? AND model = 'ClientCredentials'
       RETURNING expires_at`,
      [clientId, company.guid],
    );
    add('ClientCredentials', cc.rows.filter((r) => r.expires_at === null || r.expires_at > now).length);

    await recordAudit(tx, {
      companyId: company.id, actor: admin, action: 'connection.revoked', targetType: 'client', targetId: clientId,
      details: { revoked },
    }, now);

    const client = await tx.get<{ webhook_url: string | null }>('SELECT webhook_url FROM clients WHERE client_id = ?', [clientId]);
    if (client?.webhook_url) {
      await enqueueWebhook(tx, {
        clientId, targetUrl: client.webhook_url, event: 'authorization.revoked',
        payload: {
          event: 'authorization.revoked', company_guid: company.guid, client_id: clientId,
          revoked_at: new Date(now).toISOString(), revoked_by: admin.guid,
        },
      }, now);
    }
    return { client_id: clientId, revoked_at: new Date(now).toISOString(), revoked };
  });
  return result;
}
