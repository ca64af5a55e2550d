// What follows a committed ledger change, in one place: the metrics, the log line, the purge of
// revoked grants' tokens and the webhook worker's wake-up. Commands call these after their
// transaction commits (never inside it: a rolled-back revocation must leave no trace), so the
// routes, the page and the CLI that call a command do no bookkeeping of their own.
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';

export interface RevocationOutcome {
  companyGuid: string;
  clientId: string;
  /** Live grants, tokens and codes revoked, by kind (REVOKED_COUNT_KEYS). */
  revoked: Record<string, number>;
  /** A webhook was queued in the transaction. */
  webhookQueued: boolean;
}

export interface LedgerEffects {
  /** A company revoked an app (the connection, its grants and client-credentials tokens). */
  connectionRevoked(outcome: RevocationOutcome): void;
  /** Grants were deleted and queued for the purge (a deactivation, a narrowed consent, …). */
  grantsRevoked(): void;
}

export interface EffectWorkers {
  metrics: Metrics;
  logger: Logger;
  /** Deletes the revoked grants' tokens in the background. */
  purger: { kick(): void };
  /** Delivers queued webhooks. */
  webhooks: { kick(): void };
}

/** The effects of a running server (src/server.ts wires them). */
export function serverEffects(w: EffectWorkers): LedgerEffects {
  return {
    connectionRevoked(o) {
      w.metrics.revocations.inc();
      w.metrics.revokedTokens.inc({}, Object.values(o.revoked).reduce((a, b) => a + b, 0));
      w.logger.info('connection revoked', { client_id: o.clientId, company_guid: o.companyGuid, revoked: o.revoked });
      w.purger.kick();
      if (o.webhookQueued) w.webhooks.kick();
    },
    grantsRevoked() {
      w.purger.kick();
    },
  };
}

/**
 * For processes without background workers (the CLI, benchmarks): nothing runs after the
 * commit; the caller purges when it wants to (purgeRevokedGrants) and any server's webhook
 * worker delivers what was queued.
 */
export const NO_EFFECTS: LedgerEffects = {
  connectionRevoked: () => undefined,
  grantsRevoked: () => undefined,
};
