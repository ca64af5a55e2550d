// The `authorization.revoked` webhook, written to the outbox inside the revoking transaction.
// It says what ended: the whole connection, the company grant (or part of it), or one person's
// authorization.
import { isOperator } from '../audit/audit.js';
import type { Executor } from '../db/database.js';
import { enqueueWebhook } from '../webhooks/outbox.js';
import type { Revoker } from './revoker.js';

export type RevokedPart = 'connection' | 'company_access' | 'user_authorization';

/** Queues the webhook when the app has a webhook URL; returns whether one was queued. */
export async function queueRevokedWebhook(tx: Executor, e: {
  companyGuid: string; clientId: string; actor: Revoker | null; now: number; revoked: RevokedPart;
  userGuid?: string; remainingScopes?: string[];
}): Promise<boolean> {
  const client = await tx.get<{ webhook_url: string | null }>('SELECT webhook_url FROM clients WHERE client_id = ?', [e.clientId]);
  if (!client?.webhook_url) return false;
  await enqueueWebhook(tx, {
    clientId: e.clientId, targetUrl: client.webhook_url, event: 'authorization.revoked',
    payload: {
      event: 'authorization.revoked',
      company_guid: e.companyGuid,
      client_id: e.clientId,
      revoked_at: new Date(e.now).toISOString(),
      revoked_by: e.actor && !isOperator(e.actor) ? e.actor.guid : null,
      revoked: e.revoked,
      ...(e.userGuid ? { user_guid: e.userGuid } : {}),
      ...(e.remainingScopes ? { remaining_scopes: e.remainingScopes } : {}),
    },
  }, e.now);
  return true;
}
