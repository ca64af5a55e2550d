// The one owner of the `oidc_payloads` table (every oidc-provider model but Client) and of the
// grant purge queue. Nothing else in the code base writes SQL against these tables: the adapter,
// the revoke cascade, deactivation, the purge, the cleanup and the benchmark's bulk loader all
// call this module, so the row format cannot drift.
//
// Row format:
// - `id` is SHA-256(id): a copy of the database holds no usable token, code or session id; the
//   `jti` is stripped from the stored payload (the adapter restores it on `find`);
// - `grant_id` is set on every row issued from a grant, and on the Grant row itself (its own id),
//   so "everything of grant G" is one indexed predicate;
// - `company_guid` is set only on client-credentials tokens (they carry no grant);
// - `user_code` holds SHA-256(userCode); `expires_at`, `consumed_at` are epoch milliseconds.
import type { AdapterPayload } from 'oidc-provider';
import type { Database, Executor } from '../db/database.js';
import { sha256 } from '../shared/crypto.js';

/** Models whose lookups by a token value go through one joined statement (see findTokenRows). */
export const TOKEN_MODELS: ReadonlySet<string> = new Set(['AccessToken', 'ClientCredentials', 'RefreshToken']);

/** Every column of a stored row, in insertion order (the bench's bulk loader uses the same list). */
export const PAYLOAD_COLUMNS = [
  'model', 'id', 'payload', 'grant_id', 'account_id', 'client_id', 'company_guid', 'uid', 'user_code', 'expires_at',
] as const;

export interface PayloadRow {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  account_id: string | null;
  client_id: string | null;
  company_guid: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: number | null;
}

export interface StoredRow {
  payload: string;
  expires_at: number | null;
  consumed_at: number | null;
}

export interface TokenRow extends StoredRow {
  model: string;
  grant_id: string | null;
  g_payload: string | null;
  g_expires_at: number | null;
  g_consumed_at: number | null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The stored row of one model instance: the single definition of the row format. */
export function toRow(model: string, id: string, payload: AdapterPayload, expiresIn: number, now = Date.now()): PayloadRow {
  const { jti: _jti, ...stored } = payload;
  // An Interaction copies the end-user session's id (the `_session` cookie value) into
  // `session.cookie`; oidc-provider never reads it back, and storing it would undo hashing the
  // Session row's id.
  if (model === 'Interaction' && isRecord(stored.session) && 'cookie' in stored.session) {
    const { cookie: _cookie, ...session } = stored.session;
    stored.session = session;
  }
  const extra = payload.extra as { company_guid?: unknown } | undefined;
  return {
    model,
    id: sha256(id),
    payload: JSON.stringify(stored),
    grant_id: model === 'Grant' ? id : (payload.grantId ?? null),
    account_id: payload.accountId ?? null,
    client_id: payload.clientId ?? null,
    company_guid: model === 'ClientCredentials' && typeof extra?.company_guid === 'string' ? extra.company_guid : null,
    uid: payload.uid ?? null,
    user_code: payload.userCode ? sha256(payload.userCode) : null,
    expires_at: expiresIn ? now + expiresIn * 1000 : null,
  };
}

const UPSERT = `INSERT INTO oidc_payloads (${PAYLOAD_COLUMNS.join(', ')})
  VALUES (${PAYLOAD_COLUMNS.map(() => '?').join(', ')})
  ON CONFLICT (model, id) DO UPDATE SET
    payload = excluded.payload, grant_id = excluded.grant_id, account_id = excluded.account_id,
    client_id = excluded.client_id, company_guid = excluded.company_guid, uid = excluded.uid,
    user_code = excluded.user_code, expires_at = excluded.expires_at`;

const rowValues = (row: PayloadRow) => PAYLOAD_COLUMNS.map((c) => row[c]);

/**
 * Bulk loading (benchmarks, data migrations): the columns, the values of one model instance in
 * that order (the row format above, plus consumed_at), and the statements for a loader's own
 * connection — one row per `?` group on SQLite, column arrays through unnest() on PostgreSQL.
 */
export const BULK_COLUMNS = [...PAYLOAD_COLUMNS, 'consumed_at'] as const;
export function bulkValues(
  model: string, id: string, payload: AdapterPayload, expiresIn: number, consumedAt: number | null, now = Date.now(),
): Array<string | number | null> {
  return [...rowValues(toRow(model, id, payload, expiresIn, now)), consumedAt];
}
export const BULK_INSERT_SQLITE = `INSERT INTO oidc_payloads (${BULK_COLUMNS.join(', ')})
  VALUES (${BULK_COLUMNS.map(() => '?').join(', ')})`;
export const BULK_INSERT_POSTGRES = `INSERT INTO oidc_payloads (${BULK_COLUMNS.join(', ')})
  SELECT * FROM unnest(${BULK_COLUMNS.map((c, i) => `$${i + 1}::${c === 'expires_at' || c === 'consumed_at' ? 'bigint' : 'text'}[]`).join(', ')})`;

export async function upsertPayload(db: Executor, model: string, id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
  await db.run(UPSERT, rowValues(toRow(model, id, payload, expiresIn)));
}

/**
 * The rows of a token value in every token model, each joined with its grant's row: what
 * introspection (three parallel token lookups, then the grant) needs, in one statement.
 */
export function findTokenRows(db: Executor, id: string): Promise<TokenRow[]> {
  return db.all<TokenRow>(
    `SELECT t.model, t.payload, t.expires_at, t.consumed_at, t.grant_id,
       g.payload AS g_payload, g.expires_at AS g_expires_at, g.consumed_at AS g_consumed_at
     FROM oidc_payloads t
     LEFT JOIN oidc_payloads g ON g.grant_id = t.grant_id AND g.model = 'Grant'
     WHERE t.id = ? AND t.model IN ('AccessToken', 'ClientCredentials', 'RefreshToken')`,
    [sha256(id)],
  );
}

export function findPayload(db: Executor, model: string, id: string): Promise<StoredRow | undefined> {
  return db.get<StoredRow>('SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE model = ? AND id = ?', [model, sha256(id)]);
}

export function findPayloadByUid(db: Executor, model: string, uid: string): Promise<StoredRow | undefined> {
  return db.get<StoredRow>('SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE model = ? AND uid = ?', [model, uid]);
}

export function findPayloadByUserCode(db: Executor, model: string, userCode: string): Promise<StoredRow | undefined> {
  return db.get<StoredRow>(
    'SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE model = ? AND user_code = ?',
    [model, sha256(userCode)],
  );
}

/** Marks the row consumed unless it already was; true when this call consumed it. */
export async function consumePayload(db: Executor, model: string, id: string, now = Date.now()): Promise<boolean> {
  const { changes } = await db.run(
    'UPDATE oidc_payloads SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL',
    [now, model, sha256(id)],
  );
  return changes === 1;
}

export async function grantIdOfPayload(db: Executor, model: string, id: string): Promise<string | undefined> {
  const row = await db.get<{ grant_id: string | null }>('SELECT grant_id FROM oidc_payloads WHERE model = ? AND id = ?', [model, sha256(id)]);
  return row?.grant_id ?? undefined;
}

export async function destroyPayload(db: Executor, model: string, id: string): Promise<void> {
  await db.run('DELETE FROM oidc_payloads WHERE model = ? AND id = ?', [model, sha256(id)]);
}

/** Deletes everything issued from a grant (one model, or every model and the grant itself). */
export async function deleteByGrantId(db: Executor, grantId: string, model?: string): Promise<void> {
  if (model) await db.run('DELETE FROM oidc_payloads WHERE grant_id = ? AND model = ?', [grantId, model]);
  else await db.run('DELETE FROM oidc_payloads WHERE grant_id = ?', [grantId]);
}

/** The newest live grant of an account for a client (one grant per user × app). */
export async function latestGrantId(db: Executor, accountId: string, clientId: string, now = Date.now()): Promise<string | undefined> {
  const row = await db.get<{ grant_id: string }>(
    `SELECT grant_id FROM oidc_payloads WHERE account_id = ? AND client_id = ? AND model = 'Grant'
     AND (expires_at IS NULL OR expires_at > ?) ORDER BY expires_at DESC LIMIT 1`,
    [accountId, clientId, now],
  );
  return row?.grant_id;
}

/** Deletes expired rows; returns how many. */
export async function deleteExpiredPayloads(db: Executor, now = Date.now()): Promise<number> {
  const { changes } = await db.run('DELETE FROM oidc_payloads WHERE expires_at IS NOT NULL AND expires_at < ?', [now]);
  return changes;
}

/** Ends every end-user session of an account at the authorization server. */
export async function deleteSessionsOf(tx: Executor, accountId: string): Promise<void> {
  await tx.run("DELETE FROM oidc_payloads WHERE model = 'Session' AND account_id = ?", [accountId]);
}

/** Which grants a revocation takes (each an indexed predicate over the Grant rows). */
export type GrantSelector =
  /** Every grant of any user of a company for one client. */
  | { companyId: number; clientId: string }
  /** Every grant of one account (a user's deactivation), or of one account for one client (a consent). */
  | { accountId: string; clientId?: string };

function grantPredicate(s: GrantSelector): { where: string; params: Array<string | number> } {
  if ('accountId' in s) {
    return s.clientId === undefined
      ? { where: 'account_id = ?', params: [s.accountId] }
      : { where: 'account_id = ? AND client_id = ?', params: [s.accountId, s.clientId] };
  }
  return {
    where: 'client_id = ? AND account_id IN (SELECT guid FROM users WHERE company_id = ?)',
    params: [s.clientId, s.companyId],
  };
}

/**
 * Revokes the selected grants inside the caller's transaction: queues them for the purge,
 * counts the live tokens and codes they carry by model, and deletes the Grant rows — which makes
 * every token of them inactive at once (introspection, userinfo and the token endpoint all load
 * the grant). Returns live counts by model (Grant included).
 */
export async function revokeGrants(tx: Executor, selector: GrantSelector, now: number): Promise<Record<string, number>> {
  const { where, params } = grantPredicate(selector);
  await tx.run(
    `INSERT INTO grant_purges (grant_id, queued_at)
     SELECT grant_id, ? FROM oidc_payloads WHERE model = 'Grant' AND ${where}
     ON CONFLICT (grant_id) DO NOTHING`,
    [now, ...params],
  );
  const counts = await tx.all<{ model: string; n: number }>(
    `SELECT model, COUNT(*) AS n FROM oidc_payloads
     WHERE grant_id IN (SELECT grant_id FROM oidc_payloads WHERE model = 'Grant' AND ${where})
       AND consumed_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
     GROUP BY model`,
    [...params, now],
  );
  await tx.run(`DELETE FROM oidc_payloads WHERE model = 'Grant' AND ${where}`, params);
  return Object.fromEntries(counts.map((c) => [c.model, Number(c.n)]));
}

/** Deletes a client's client-credentials tokens bound to a company; returns how many were live. */
export async function deleteClientCredentials(tx: Executor, clientId: string, companyGuid: string, now: number): Promise<number> {
  const { rows } = await tx.run<{ expires_at: number | null }>(
    `DELETE FROM oidc_payloads WHERE client_id = ? AND company_guid = ? AND model = 'ClientCredentials'
     RETURNING expires_at`,
    [clientId, companyGuid],
  );
  return rows.filter((r) => r.expires_at === null || r.expires_at > now).length;
}

/** A client's client-credentials tokens bound to a company (hashed id, scope, expiry). */
export async function clientCredentialsOf(
  tx: Executor, clientId: string, companyGuid: string,
): Promise<Array<{ hashedId: string; scope: string | undefined; expiresAt: number | null }>> {
  const rows = await tx.all<{ id: string; payload: string; expires_at: number | null }>(
    `SELECT id, payload, expires_at FROM oidc_payloads WHERE client_id = ? AND company_guid = ? AND model = 'ClientCredentials'`,
    [clientId, companyGuid],
  );
  return rows.map((r) => ({ hashedId: r.id, scope: (JSON.parse(r.payload) as { scope?: string }).scope, expiresAt: r.expires_at }));
}

/** Deletes rows of one model by their stored (hashed) ids, 500 per statement. */
export async function deletePayloadRows(tx: Executor, model: string, hashedIds: readonly string[]): Promise<void> {
  for (let i = 0; i < hashedIds.length; i += 500) {
    const slice = hashedIds.slice(i, i + 500);
    await tx.run(`DELETE FROM oidc_payloads WHERE model = ? AND id IN (${slice.map(() => '?').join(', ')})`, [model, ...slice]);
  }
}

/**
 * Deletes the tokens of queued grants, `chunk` rows per statement (each its own short
 * transaction, so other writes interleave); returns how many rows were deleted. Safe to run
 * anywhere, any time, by any instance.
 */
export async function purgeQueuedGrants(db: Database, chunk: number): Promise<number> {
  let deleted = 0;
  for (;;) {
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
