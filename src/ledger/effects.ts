// What follows a committed ledger change, in one place: the metrics, the log line, the purge of
// revoked grants' tokens and the webhook worker's wake-up. Commands call these after their
// transaction commits (never inside it: a rolled-back revocation must leave no trace), so the
// routes, the page and the CLI that call a command do no bookkeeping of their own.
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { totalRevoked } from './revoked-counts.js';

export interface RevocationOutcome {
  companyGuid: string;
  clientId: string;
  /** Live grants, tokens and codes revoked, by kind (revoked-counts.ts). */
  revoked: Record<string, number>;
  /** A webhook was queued in the transaction. */
  webhookQueued: boolean;
}

export interface LedgerEffects {
  /** A company revoked an app (the connection, its grants and client-credentials tokens). */
  connectionRevoked(outcome: RevocationOutcome): void;
  /** One person's authorization of an app ended (by an admin, a role change, a deactivation). */
  authorizationRevoked(outcome: RevocationOutcome): void;
  /** The company grant was narrowed or removed. */
  companyAccessChanged(outcome: RevocationOutcome & { scopes: string[] | null }): void;
  /** A role change or a deactivation ended some of a person's authorizations (each audited). */
  personAuthorizationsEnded(outcome: { companyGuid: string; userGuid: string; ended: number; webhookQueued: boolean }): void;
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
  const after = (o: RevocationOutcome) => {
    w.metrics.revokedTokens.inc({}, totalRevoked(o.revoked));
    w.purger.kick();
    if (o.webhookQueued) w.webhooks.kick();
  };
  return {
    connectionRevoked(o) {
      w.metrics.revocations.inc();
      w.logger.info('connection revoked', { client_id: o.clientId, company_guid: o.companyGuid, revoked: o.revoked });
      after(o);
    },
    authorizationRevoked(o) {
      w.logger.info('authorization revoked', { client_id: o.clientId, company_guid: o.companyGuid, revoked: o.revoked });
      after(o);
    },
    companyAccessChanged(o) {
      w.logger.info(o.scopes ? 'company access narrowed' : 'company access removed', {
        client_id: o.clientId, company_guid: o.companyGuid, scopes: o.scopes, revoked: o.revoked,
      });
      after(o);
    },
    personAuthorizationsEnded(o) {
      if (o.ended) w.logger.info('authorizations ended', { company_guid: o.companyGuid, user_guid: o.userGuid, count: o.ended });
      w.purger.kick();
      if (o.webhookQueued) w.webhooks.kick();
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
  authorizationRevoked: () => undefined,
  companyAccessChanged: () => undefined,
  personAuthorizationsEnded: () => undefined,
};
