// The webhook outbox: events are written in the transaction of the change that causes them and
// delivered later by the worker, so a slow or dead endpoint never blocks the change.
import type { Executor } from '../db/database.js';

export interface WebhookEvent {
  clientId: string;
  targetUrl: string;
  event: string;
  payload: Record<string, unknown>;
}

export async function enqueueWebhook(tx: Executor, e: WebhookEvent, now = Date.now()): Promise<void> {
  await tx.run(
    `INSERT INTO webhook_deliveries (client_id, event, target_url, payload, status, attempts, next_attempt_at, created_at)
     VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)`,
    [e.clientId, e.event, e.targetUrl, JSON.stringify(e.payload), now, now],
  );
}

/** Finished deliveries are kept this long for troubleshooting. */
const KEEP_FINISHED_MS = 30 * 86_400_000;

/** Deletes delivered and dead deliveries older than 30 days; returns how many. */
export async function deleteFinishedDeliveries(db: Executor, now = Date.now()): Promise<number> {
  return (await db.run("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?", [now - KEEP_FINISHED_MS])).changes;
}
