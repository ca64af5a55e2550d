// The periodic cleanup (every CLEANUP_INTERVAL): what has expired or was revoked is deleted, each
// table by the module that owns it.
import { deleteExpiredAdminSessions } from './admin/auth.js';
import type { Database } from './db/database.js';
import { purgeRevokedGrants } from './ledger/grant-purge.js';
import { deleteExpiredPayloads } from './oidc/payload-store.js';
import type { RateLimiter } from './shared/rate-limit.js';
import { deleteExpiredUpstreamRows } from './upstream/store.js';
import { deleteFinishedDeliveries } from './webhooks/outbox.js';

/** Deletes revoked grants' tokens, expired tokens and codes, admin sessions, rate-limit windows, old deliveries, stale upstream sign-ins. */
export async function cleanupExpired(db: Database, limiter: RateLimiter, now = Date.now()): Promise<number> {
  let n = await purgeRevokedGrants(db);
  n += await deleteExpiredPayloads(db, now);
  n += await deleteExpiredAdminSessions(db, now);
  n += await limiter.deleteExpired(now);
  n += await deleteFinishedDeliveries(db, now);
  n += await deleteExpiredUpstreamRows(db, now);
  return n;
}
