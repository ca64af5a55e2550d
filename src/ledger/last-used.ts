// `last_used_at` without a write on every call: each process writes a given object's
// timestamp at most once per interval, in the background. Every use is also counted, in memory,
// for the usage at a glance (usage.ts writes the counts in batches).
import type { Database } from '../db/database.js';
import type { Logger } from '../shared/logger.js';
import { UsageCounter } from './usage.js';

export class LastUsedRecorder {
  #written = new Map<string, number>();
  /** Writes issued and not yet answered (shutdown and tests wait for them: idle()). */
  readonly #pending = new Set<Promise<unknown>>();

  readonly usage: UsageCounter;

  constructor(
    private readonly db: Database,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    /** The clock, epoch ms (tests drive it). */
    private readonly now: () => number = Date.now,
  ) {
    this.usage = new UsageCounter(db, logger);
  }

  /** Runs `sql` with `params` unless `key` was written less than the interval ago. */
  #touch(key: string, sql: string, params: Array<string | number>): void {
    const now = this.now();
    const last = this.#written.get(key);
    if (last !== undefined && now - last < this.intervalMs) return;
    if (this.#written.size > 100_000) this.#written.clear();
    this.#written.set(key, now);
    const write: Promise<unknown> = this.db.run(sql, [now, ...params])
      .catch((err: unknown) => this.logger.warn('last_used_at not recorded', { err }))
      .finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  }

  /**
   * `generation` tells connections of one company × app apart (the token's grant, or the
   * connection's id): after a revocation and a new consent, the first use of the new
   * connection is written at once, not after the interval of the revoked one.
   */
  connection(companyGuid: string, clientId: string, generation = '', ip?: string): void {
    this.usage.hit('app', clientId, companyGuid, ip);
    this.#touch(
      `c|${companyGuid}|${clientId}|${generation}`,
      `UPDATE connections SET last_used_at = ?
       WHERE client_id = ? AND revoked_at IS NULL AND company_id = (SELECT id FROM companies WHERE guid = ?)`,
      [clientId, companyGuid],
    );
  }

  /** An access token or API key used (companyGuid: its company, for the usage counts). */
  accessToken(id: string, companyGuid?: string, ip?: string): void {
    if (companyGuid) this.usage.hit('token', id, companyGuid, ip);
    this.#touch(`t|${id}`, 'UPDATE access_tokens SET last_used_at = ? WHERE id = ?', [id]);
  }

  /** Resolves when every write issued so far has been answered. */
  async idle(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
    await this.usage.flush();
  }

  /** At shutdown: the last writes and counts, then no timer left. */
  async close(): Promise<void> {
    await this.idle();
    await this.usage.close();
  }
}
