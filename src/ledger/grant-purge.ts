// Revoked grants are made inactive at once — their Grant rows are deleted in the revoking
// transaction (payload-store.ts revokeGrants), and introspection, userinfo and the token
// endpoint all load the grant — and their grant ids are queued in `grant_purges`. This worker
// deletes what they issued (access and refresh tokens, codes) in bounded chunks, each its own
// short transaction, so other writes interleave instead of waiting behind one long delete.
import type { Database } from '../db/database.js';
import { purgeQueuedGrants } from '../oidc/payload-store.js';
import type { Logger } from '../shared/logger.js';

/** Rows deleted per statement (and so per transaction) while purging. */
const CHUNK = 2_000;

/** Deletes the tokens of queued grants; returns how many rows were deleted. Safe to run anywhere, any time. */
export function purgeRevokedGrants(db: Database, chunk = CHUNK): Promise<number> {
  return purgeQueuedGrants(db, chunk);
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

  /** Waits until no purge runs or is due (used at shutdown and by tests). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }
}
