// Revoked grants are made inactive at once — their Grant rows are deleted in the revoking
// transaction, and introspection, userinfo and the token endpoint all load the grant — and their
// grant ids are queued in `grant_purges`. This module queues them and deletes what they issued
// (access and refresh tokens, codes) in bounded chunks, each its own short transaction, so other
// writes interleave instead of waiting behind one long delete.
import type { Database, Executor } from '../db/database.js';
import type { Logger } from '../shared/logger.js';

/** Rows deleted per statement (and so per transaction) while purging. */
const CHUNK = 2_000;

/**
 * Queues every grant matched by `grantsSql` (a SELECT of grant ids over oidc_payloads' Grant
 * rows), counts the live tokens they carry by model, and deletes the Grant rows. Runs inside
 * the caller's transaction.
 */
export async function revokeGrants(
  tx: Executor, grantsWhere: string, params: Array<string | number>, now: number,
): Promise<Record<string, number>> {
  await tx.run(
    `INSERT INTO grant_purges (grant_id, queued_at)
     SELECT grant_id, ? FROM oidc_payloads WHERE model = 'Grant' AND ${grantsWhere}
     ON CONFLICT (grant_id) DO NOTHING`,
    [now, ...params],
  );
  const counts = await tx.all<{ model: string; n: number }>(
    `SELECT model, COUNT(*) AS n FROM oidc_payloads
     WHERE grant_id IN (SELECT grant_id FROM oidc_payloads WHERE model = 'Grant' AND ${grantsWhere})
       AND consumed_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
     GROUP BY model`,
    [...params, now],
  );
  await tx.run(`DELETE FROM oidc_payloads WHERE model = 'Grant' AND ${grantsWhere}`, params);
  return Object.fromEntries(counts.map((c) => [c.model, Number(c.n)]));
}

/** Deletes the tokens of queued grants; returns how many rows were deleted. Safe to run anywhere, any time. */
export async function purgeRevokedGrants(db: Database, chunk = CHUNK): Promise<number> {
  let deleted = 0;
  for (;;) {
    // Up to `chunk` rows of any queued grants, in one short transaction.
    const { changes } = await db.run(
      `DELETE FROM oidc_payloads WHERE (model, id) IN (
         SELECT t.model, t.id FROM oidc_payloads t WHERE t.grant_id IN (SELECT grant_id FROM grant_purges) LIMIT ?)`,
      [chunk],
    );
    deleted += changes;
    if (changes < chunk) break;
  }
  // Grants with nothing left to delete leave the queue (a grant revoked while the purge ran
  // keeps its row and is picked up by the next run).
  await db.run('DELETE FROM grant_purges WHERE NOT EXISTS (SELECT 1 FROM oidc_payloads t WHERE t.grant_id = grant_purges.grant_id)');
  return deleted;
}

/** Runs purges in the background, one at a time; kick() after queuing grants. */
export class GrantPurger {
  #running: Promise<void> | undefined;
  #again = false;

  constructor(private readonly db: Database, private readonly logger: Logger) {}

  kick(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = purgeRevokedGrants(this.db)
      .then((n) => {
        if (n) this.logger.info('revoked grants purged', { rows: n });
      })
      .catch((err: unknown) => this.logger.warn('grant purge failed; it will be retried', { err }))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /** Waits for the current purge (used at shutdown and by tests). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }
}
