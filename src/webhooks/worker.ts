// Delivers queued webhooks. Each process polls the outbox; a delivery is claimed with a
// conditional update (`locked_until`), so several instances never send the same attempt twice.
// Failures are retried with exponential backoff up to maxAttempts, then marked dead.
// One failing endpoint never holds up other deliveries: a poll only claims and starts
// deliveries, it never waits for them, so a hanging endpoint occupies one in-flight slot (for
// at most `timeout`) while the next poll sends everything else that is due.
import type { Database } from '../db/database.js';
import { findClient } from '../clients/clients.js';
import { webhookSecrets } from '../clients/rotate-secret.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook } from './signature.js';

export interface WebhookSettings {
  maxAttempts: number;
  timeout: number;
  backoffBase: number;
  pollInterval: number;
}

interface DeliveryRow {
  id: number;
  client_id: string;
  event: string;
  target_url: string;
  payload: string;
  attempts: number;
}

const BATCH = 20;
/** Deliveries in flight per process; beyond it, due rows wait for the next poll. */
const MAX_IN_FLIGHT = 64;
const MAX_BACKOFF_S = 3600;

export function backoffSeconds(base: number, attempts: number): number {
  return Math.min(MAX_BACKOFF_S, base * 2 ** Math.max(0, attempts - 1));
}

export class WebhookWorker {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  readonly #inflight = new Set<Promise<void>>();
  /** Aborts in-flight requests on stop (their rows are released, not counted as attempts). */
  #shutdown = new AbortController();
  /** Callers of idle() waiting for a poll that starts after their call. */
  #idleWaiters: Array<() => void> = [];

  constructor(
    private readonly db: Database,
    private readonly kek: Buffer,
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  start(): void {
    this.#stopped = false;
    if (this.#shutdown.signal.aborted) this.#shutdown = new AbortController();
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    this.#shutdown.abort();
    await Promise.all(this.#inflight);
  }

  /** Checks the outbox now (called after an event was queued). */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#tick();
  }

  /**
   * Resolves once a poll that started after this call found nothing due and nothing was in
   * flight: every delivery that was due has been attempted and recorded (tests wait on this
   * instead of sleeping). A stopped worker is idle at once.
   */
  idle(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.kick();
    });
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.#tick(), this.settings.pollInterval * 1000);
    this.#timer.unref();
  }

  #tick(): void {
    const waiting = this.#idleWaiters.splice(0);
    this.#running = this.#claimAndStart()
      .then((started) => {
        if (started.length === 0 && this.#inflight.size === 0) for (const resolve of waiting) resolve();
        else this.#idleWaiters.push(...waiting);
      })
      .catch((err: unknown) => {
        this.#idleWaiters.push(...waiting);
        this.logger.warn('webhook worker failed', { err });
      })
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        } else {
          this.#schedule();
        }
      });
  }

  /** Sends every due delivery once and waits for the answers; returns how many were attempted. */
  async runOnce(): Promise<number> {
    const started = await this.#claimAndStart();
    await Promise.all(started);
    return started.length;
  }

  /** Claims due deliveries and starts sending them, without waiting for the endpoints. */
  async #claimAndStart(): Promise<Array<Promise<void>>> {
    const room = Math.min(BATCH, MAX_IN_FLIGHT - this.#inflight.size);
    if (room <= 0) return [];
    const now = Date.now();
    const due = await this.db.all<DeliveryRow>(
      `SELECT id, client_id, event, target_url, payload, attempts FROM webhook_deliveries
       WHERE status = 'pending' AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until < ?)
       ORDER BY next_attempt_at LIMIT ${room}`,
      [now, now],
    );
    const started: Array<Promise<void>> = [];
    const lease = now + (this.settings.timeout + 30) * 1000;
    for (const d of due) {
      const { changes } = await this.db.run(
        `UPDATE webhook_deliveries SET locked_until = ? WHERE id = ? AND status = 'pending'
         AND (locked_until IS NULL OR locked_until < ?)`,
        [lease, d.id, now],
      );
      if (changes !== 1) continue;
      const sending: Promise<void> = this.#deliver(d)
        .catch((err: unknown) => this.logger.warn('webhook delivery not recorded', { delivery: d.id, err }))
        .finally(() => this.#inflight.delete(sending));
      this.#inflight.add(sending);
      started.push(sending);
    }
    return started;
  }

  async #deliver(d: DeliveryRow): Promise<void> {
    const attempts = d.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    try {
      const client = await findClient(this.db, d.client_id);
      const secrets = client ? webhookSecrets(this.kek, {
        current: client.webhookSecretSealed, previous: client.previousWebhookSecretSealed, previousUntil: client.previousWebhookSecretExpiresAt,
      }) : [];
      if (secrets.length === 0) throw new Error('the app has no webhook secret any more');
      const timestamp = Math.floor(Date.now() / 1000);
      const res = await fetch(d.target_url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'grantledger-webhooks/1',
          [TIMESTAMP_HEADER]: String(timestamp),
          // During a webhook secret rotation's overlap: both signatures, the new one first.
          [SIGNATURE_HEADER]: secrets.map((secret) => signWebhook(secret, timestamp, d.payload)).join(','),
          'x-grantledger-event': d.event,
          'x-grantledger-delivery': String(d.id),
        },
        body: d.payload,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.settings.timeout * 1000), this.#shutdown.signal]),
      });
      status = res.status;
      await res.body?.cancel();
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      if (this.#shutdown.signal.aborted) {
        // Shutting down: hand the delivery back (another instance, or the next start, sends it).
        await this.db.run('UPDATE webhook_deliveries SET locked_until = NULL WHERE id = ?', [d.id]);
        return;
      }
      error = (err as Error).name === 'TimeoutError' ? 'timed out' : String((err as Error).message).slice(0, 300);
    }

    const now = Date.now();
    if (!error) {
      await this.db.run(
        `UPDATE webhook_deliveries SET status = 'delivered', attempts = ?, last_status = ?, last_error = NULL,
         delivered_at = ?, locked_until = NULL WHERE id = ?`,
        [attempts, status, now, d.id],
      );
      this.metrics.webhooks.inc({ outcome: 'delivered' });
      this.logger.info('webhook delivered', { delivery: d.id, event: d.event, attempts });
      return;
    }
    const dead = attempts >= this.settings.maxAttempts;
    await this.db.run(
      `UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?,
       next_attempt_at = ?, locked_until = NULL WHERE id = ?`,
      [dead ? 'dead' : 'pending', attempts, status, error, now + backoffSeconds(this.settings.backoffBase, attempts) * 1000, d.id],
    );
    this.metrics.webhooks.inc({ outcome: dead ? 'dead' : 'retry' });
    this.logger.warn(dead ? 'webhook given up' : 'webhook failed, will retry', { delivery: d.id, event: d.event, attempts, error });
  }
}
