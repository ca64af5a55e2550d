// Secret rotation with an overlap, for a client secret (app or gateway) and an app's webhook
// signing secret:
//   1. a new secret is generated and returned once (only its SHA-256 is stored — the webhook
//      secret is stored encrypted, as it is needed to sign);
//   2. the current one becomes the previous one until now + keepOld (0 = it stops at once; a
//      previous one still in its overlap is replaced: at most two work at any time);
//   3. an operator audit event records who rotated what and until when — one transaction.
// Client authentication accepts either secret during the overlap (clientSecretMatches, used by
// the provider's compareClientSecret); the webhook worker signs with both (`v1=…,v1=…`).
import { z } from 'zod';
import { recordOperatorAudit } from '../audit/operator-audit.js';
import type { OperatorActor } from '../audit/audit.js';
import type { Database, Executor } from '../db/database.js';
import { constantEquals, decrypt, encrypt, randomSecret, sha256 } from '../shared/crypto.js';
import { conflict, notFound } from '../shared/errors.js';
import { validate } from '../shared/validation.js';
import { CLIENT_SECRET_PREFIX, WEBHOOK_SECRET_PREFIX, type ClientKind } from './clients.js';

/** The longest overlap: 30 days. */
export const MAX_KEEP_OLD_SECONDS = 30 * 86400;
export const DEFAULT_KEEP_OLD_SECONDS = 86400;

const keepOldSchema = z.object({
  keepOldSeconds: z.number().int().min(0, 'must be 0 or more').max(MAX_KEEP_OLD_SECONDS, 'must be at most 30 days').default(DEFAULT_KEEP_OLD_SECONDS),
});

export interface RotatedSecret {
  client_id: string;
  client_secret: string;
  /** When the previous secret stops working; null: it already has (keep-old 0). */
  previous_secret_expires_at: string | null;
}

export interface RotatedWebhookSecret {
  client_id: string;
  webhook_secret: string;
  previous_secret_expires_at: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A new client secret for an app or a gateway; the old one keeps working for `keepOldSeconds`. */
export async function rotateClientSecret(
  db: Database, actor: OperatorActor, kind: ClientKind, clientId: string, keepOldSeconds?: number, now = Date.now(),
): Promise<RotatedSecret> {
  const keep = validate(keepOldSchema, { keepOldSeconds }).keepOldSeconds;
  const secret = CLIENT_SECRET_PREFIX + randomSecret(32);
  const until = keep > 0 ? now + keep * 1000 : null;
  return db.transaction(async (tx) => {
    const row = await tx.get<{ secret_hash: string | null }>('SELECT secret_hash FROM clients WHERE client_id = ? AND kind = ?', [clientId, kind]);
    if (!row) throw notFound(`${kind === 'app' ? 'App' : 'Gateway'} ${clientId}`);
    if (!row.secret_hash) throw conflict(`App ${clientId} is a public client: it has no secret to rotate.`);
    const { changes } = await tx.run(
      'UPDATE clients SET secret_hash = ?, previous_secret_hash = ?, previous_secret_expires_at = ? WHERE client_id = ? AND secret_hash = ?',
      [sha256(secret), until === null ? null : row.secret_hash, until, clientId, row.secret_hash],
    );
    if (changes !== 1) throw conflict('The secret was rotated by someone else meanwhile: run the rotation again.');
    await recordOperatorAudit(tx, {
      actor, action: `${kind}.secret_rotated`, targetType: kind, targetId: clientId,
      details: { previous_secret_expires_at: iso(until) },
    }, now);
    return { client_id: clientId, client_secret: secret, previous_secret_expires_at: iso(until) };
  });
}

/** A new webhook signing secret for an app with a webhook URL; deliveries carry both signatures during the overlap. */
export async function rotateWebhookSecret(
  db: Database, kek: Buffer, actor: OperatorActor, clientId: string, keepOldSeconds?: number, now = Date.now(),
): Promise<RotatedWebhookSecret> {
  const keep = validate(keepOldSchema, { keepOldSeconds }).keepOldSeconds;
  const secret = WEBHOOK_SECRET_PREFIX + randomSecret(32);
  const until = keep > 0 ? now + keep * 1000 : null;
  return db.transaction(async (tx) => {
    const row = await tx.get<{ webhook_secret: string | null }>("SELECT webhook_secret FROM clients WHERE client_id = ? AND kind = 'app'", [clientId]);
    if (!row) throw notFound(`App ${clientId}`);
    if (!row.webhook_secret) throw conflict(`App ${clientId} has no webhook URL: give it one with client update --webhook-url.`);
    const { changes } = await tx.run(
      'UPDATE clients SET webhook_secret = ?, previous_webhook_secret = ?, previous_webhook_secret_expires_at = ? WHERE client_id = ? AND webhook_secret = ?',
      [encrypt(kek, secret), until === null ? null : row.webhook_secret, until, clientId, row.webhook_secret],
    );
    if (changes !== 1) throw conflict('The webhook secret was rotated by someone else meanwhile: run the rotation again.');
    await recordOperatorAudit(tx, {
      actor, action: 'app.webhook_secret_rotated', targetType: 'app', targetId: clientId,
      details: { previous_secret_expires_at: iso(until) },
    }, now);
    return { client_id: clientId, webhook_secret: secret, previous_secret_expires_at: iso(until) };
  });
}

/** What client authentication compares: the current secret's hash, and the previous one's until its end. */
export interface SecretHashes {
  current?: string;
  previous?: string;
  previousUntil?: number;
}

/**
 * Whether `presented` is the client's secret: its SHA-256 compared in constant time with the
 * current hash and (during the overlap) the previous one — both comparisons always run, so the
 * time taken does not tell which matched or whether an overlap is on.
 */
export function clientSecretMatches(hashes: SecretHashes, presented: string, now = Date.now()): boolean {
  const hash = sha256(presented);
  const current = hashes.current !== undefined && constantEquals(hashes.current, hash);
  const inOverlap = hashes.previousUntil !== undefined && hashes.previousUntil > now;
  const previous = hashes.previous !== undefined && constantEquals(hashes.previous, hash);
  return current || (inOverlap && previous);
}

/** How long a process may keep using a client's secret hashes: the delay of a rotation (or its end) on running servers. */
export const SECRET_CACHE_MS = 5000;

/**
 * What the provider's compareClientSecret calls: the hashes of a client's secrets, cached for
 * SECRET_CACHE_MS per process (a client authenticating a thousand times a second reads them once
 * in five seconds). A secret that matches none of the cached hashes may be one rotated in since:
 * the hashes are read again once before the answer is no, so a new secret works at once.
 */
export function secretChecker(db: Executor, ttlMs = SECRET_CACHE_MS) {
  const cache = new Map<string, { hashes: SecretHashes | undefined; until: number }>();
  const read = async (clientId: string) => {
    const hashes = await readSecretHashes(db, clientId);
    if (cache.size >= 10_000) cache.clear();
    cache.set(clientId, { hashes, until: Date.now() + ttlMs });
    return hashes;
  };
  return async (clientId: string, presented: string): Promise<boolean> => {
    if (typeof presented !== 'string') return false;
    const hit = cache.get(clientId);
    if (hit && hit.until > Date.now()) {
      if (hit.hashes && clientSecretMatches(hit.hashes, presented)) return true;
    }
    const hashes = await read(clientId);
    return hashes !== undefined && clientSecretMatches(hashes, presented);
  };
}

/** The secret hashes of a client as stored now. */
export async function readSecretHashes(db: Executor, clientId: string): Promise<SecretHashes | undefined> {
  const row = await db.get<{ secret_hash: string | null; previous_secret_hash: string | null; previous_secret_expires_at: number | null }>(
    'SELECT secret_hash, previous_secret_hash, previous_secret_expires_at FROM clients WHERE client_id = ?', [clientId],
  );
  if (!row) return undefined;
  return {
    ...(row.secret_hash ? { current: row.secret_hash } : {}),
    ...(row.previous_secret_hash && row.previous_secret_expires_at !== null
      ? { previous: row.previous_secret_hash, previousUntil: Number(row.previous_secret_expires_at) } : {}),
  };
}

/** The webhook secrets to sign with, newest first: the current one, and the previous one during its overlap. */
export function webhookSecrets(
  kek: Buffer, sealed: { current: string | null; previous: string | null; previousUntil: number | null }, now = Date.now(),
): string[] {
  const out = sealed.current ? [decrypt(kek, sealed.current)] : [];
  if (sealed.previous && sealed.previousUntil !== null && Number(sealed.previousUntil) > now) out.push(decrypt(kek, sealed.previous));
  return out;
}
