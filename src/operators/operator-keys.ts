// Operator keys: what a SaaS's provisioning calls /operator/v1 with (`Authorization: Bearer
// glop_…`). Created with `grantledger operator-key create --name N` — the key is shown once;
// only its SHA-256 and last four characters are stored — and revocable. The key's name is the
// actor of every change made with it in the audit trails ("operator:<name>").
import { z } from 'zod';
import { recordOperatorAudit } from '../audit/operator-audit.js';
import type { OperatorActor } from '../audit/audit.js';
import type { Database, Executor } from '../db/database.js';
import { randomSecret, sha256, uuid } from '../shared/crypto.js';
import { conflict, notFound } from '../shared/errors.js';
import { displayName, validate } from '../shared/validation.js';

export const OPERATOR_KEY_PREFIX = 'glop_';
/** `last_used_at` is written at most this often per key and process. */
const LAST_USED_INTERVAL_MS = 60_000;

export interface OperatorKey {
  id: string;
  name: string;
  last4: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

interface Row {
  id: string;
  name: string;
  last4: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

const toKey = (r: Row): OperatorKey => ({
  id: r.id, name: r.name, last4: r.last4, createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at), revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

export async function createOperatorKey(db: Database, actor: OperatorActor, rawName: string): Promise<{ id: string; key: string; name: string }> {
  const { name } = validate(z.object({ name: displayName() }), { name: rawName });
  const id = uuid();
  const key = OPERATOR_KEY_PREFIX + randomSecret(32);
  await db.transaction(async (tx) => {
    const taken = await tx.get("SELECT 1 AS x FROM operator_keys WHERE name = ? AND revoked_at IS NULL", [name]);
    // Names are the actor in the audit trail: two live keys of one name would be indistinguishable.
    if (taken) throw conflict(`A live operator key named "${name}" exists: revoke it first, or choose another name.`);
    await tx.run('INSERT INTO operator_keys (id, name, key_hash, last4, created_at) VALUES (?, ?, ?, ?, ?)', [id, name, sha256(key), key.slice(-4), Date.now()]);
    await recordOperatorAudit(tx, { actor, action: 'operator_key.created', targetType: 'operator_key', targetId: id, details: { name } });
  });
  return { id, key, name };
}

export async function listOperatorKeys(db: Executor): Promise<OperatorKey[]> {
  return (await db.all<Row>('SELECT id, name, last4, created_at, last_used_at, revoked_at FROM operator_keys ORDER BY created_at, id')).map(toKey);
}

export async function revokeOperatorKey(db: Database, actor: OperatorActor, id: string): Promise<OperatorKey> {
  return db.transaction(async (tx) => {
    const { changes } = await tx.run('UPDATE operator_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [Date.now(), id]);
    if (changes !== 1) throw notFound(`Live operator key ${id}`);
    await recordOperatorAudit(tx, { actor, action: 'operator_key.revoked', targetType: 'operator_key', targetId: id });
    return toKey((await tx.get<Row>('SELECT id, name, last4, created_at, last_used_at, revoked_at FROM operator_keys WHERE id = ?', [id]))!);
  });
}

/**
 * The live key a presented value is, by the SHA-256 of the value (the unique index finds it;
 * comparing hashes of a high-entropy secret leaks nothing useful about it). Revocation takes
 * effect at the next request: nothing is cached.
 */
export function operatorKeyAuthenticator(db: Database) {
  const lastWritten = new Map<string, number>();
  return async (presented: string): Promise<{ id: string; name: string } | undefined> => {
    if (!presented.startsWith(OPERATOR_KEY_PREFIX) || presented.length > 200) return undefined;
    const row = await db.get<{ id: string; name: string }>('SELECT id, name FROM operator_keys WHERE key_hash = ? AND revoked_at IS NULL', [sha256(presented)]);
    if (!row) return undefined;
    const now = Date.now();
    if ((lastWritten.get(row.id) ?? 0) + LAST_USED_INTERVAL_MS < now) {
      lastWritten.set(row.id, now);
      await db.run('UPDATE operator_keys SET last_used_at = ? WHERE id = ?', [now, row.id]);
    }
    return row;
  };
}
