// The oidc-provider store: every model in one `oidc_payloads` table keyed by (model, id).
//
// - The id column holds SHA-256(id): a copy of the database holds no usable token, code or
//   session id; `jti` is stripped from the stored payload and restored on `find` (and the
//   session id an Interaction carries is dropped).
// - `upsert` is a real upsert; `find` hides expired rows.
// - `consume` is a conditional update (`… AND consumed_at IS NULL`). oidc-provider checks
//   `consumed` before it calls `consume()`, so two parallel redemptions can both pass that
//   check; only one wins the update, the others get invalid_grant and — as with any replay —
//   the grant is revoked with everything issued from it.
// - `revokeByGrantId` is one indexed delete.
// - Token lookups (AccessToken, ClientCredentials, RefreshToken) and the lookup of the token's
//   Grant that follows are answered by one statement (see findTokenRows).
import { errors } from 'oidc-provider';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Database } from '../db/database.js';
import { sha256 } from '../shared/crypto.js';

const TOKEN_MODELS = new Set(['AccessToken', 'ClientCredentials', 'RefreshToken']);
/** Codes whose second use is a replay: it revokes the grant. */
const REPLAY_MODELS = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

interface StoredRow {
  payload: string;
  expires_at: number | null;
  consumed_at: number | null;
}

interface TokenRow extends StoredRow {
  model: string;
  grant_id: string | null;
  g_payload: string | null;
  g_expires_at: number | null;
  g_consumed_at: number | null;
}

export interface AdapterOptions {
  /** Ids that can never be oidc-provider's (our access tokens and API keys): answered without a lookup. */
  isForeignToken?: (id: string) => boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** ids oidc-provider generates are short base64url strings; anything else is never stored. */
const PLAUSIBLE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function createAdapterFactory(db: Database, options: AdapterOptions = {}) {
  const isForeign = options.isForeignToken ?? (() => false);

  // Token lookups. Introspection asks for AccessToken, ClientCredentials and RefreshToken of one
  // value at once, then for the token's Grant. One statement answers all of it: the token rows
  // joined with their grant. Parallel lookups of one value share the statement while it runs;
  // the grant found with a token is handed to the Grant lookup that follows within the same turn
  // of the event loop (taken once, dropped at setImmediate) — the same snapshot, not a cache.
  const inflight = new Map<string, Promise<TokenRow[]>>();
  const handoff = new Map<string, StoredRow>();
  let handoffSweep: NodeJS.Immediate | undefined;

  function findTokenRows(id: string): Promise<TokenRow[]> {
    let pending = inflight.get(id);
    if (!pending) {
      pending = db.all<TokenRow>(
        `SELECT t.model, t.payload, t.expires_at, t.consumed_at, t.grant_id,
           g.payload AS g_payload, g.expires_at AS g_expires_at, g.consumed_at AS g_consumed_at
         FROM oidc_payloads t
         LEFT JOIN oidc_payloads g ON g.grant_id = t.grant_id AND g.model = 'Grant'
         WHERE t.id = ? AND t.model IN ('AccessToken', 'ClientCredentials', 'RefreshToken')`,
        [sha256(id)],
      );
      inflight.set(id, pending);
      const clear = () => inflight.delete(id);
      pending.then(clear, clear);
    }
    return pending;
  }

  function handOver(row: TokenRow): void {
    if (!row.grant_id || row.g_payload === null) return;
    handoff.set(row.grant_id, { payload: row.g_payload, expires_at: row.g_expires_at, consumed_at: row.g_consumed_at });
    handoffSweep ??= setImmediate(() => {
      handoff.clear();
      handoffSweep = undefined;
    });
  }

  function revive(row: StoredRow | undefined, id: string): AdapterPayload | undefined {
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= Date.now()) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    payload.jti = id;
    if (row.consumed_at !== null) payload.consumed = Math.floor(row.consumed_at / 1000);
    return payload;
  }

  async function revokeGrant(grantId: string): Promise<void> {
    await db.run('DELETE FROM oidc_payloads WHERE grant_id = ?', [grantId]);
  }

  class TypeOrmAdapter implements Adapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const { jti: _jti, ...stored } = payload;
      // An Interaction copies the end-user session's id (the `_session` cookie value) into
      // `session.cookie`; oidc-provider never reads it back, and storing it would undo hashing
      // the Session row's id.
      if (this.model === 'Interaction' && isRecord(stored.session) && 'cookie' in stored.session) {
        const { cookie: _cookie, ...session } = stored.session;
        stored.session = session;
      }
      // Only client-credentials tokens are bound to a company by a column (they carry no grant).
      const extra = payload.extra as { company_guid?: unknown } | undefined;
      const companyGuid = this.model === 'ClientCredentials' && typeof extra?.company_guid === 'string' ? extra.company_guid : null;
      // A Grant row carries its own id in grant_id, so "everything of grant G" is one predicate.
      const grantId = this.model === 'Grant' ? id : (payload.grantId ?? null);
      await db.run(
        `INSERT INTO oidc_payloads
           (model, id, payload, grant_id, account_id, client_id, company_guid, uid, user_code, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (model, id) DO UPDATE SET
           payload = excluded.payload, grant_id = excluded.grant_id, account_id = excluded.account_id,
           client_id = excluded.client_id, company_guid = excluded.company_guid, uid = excluded.uid,
           user_code = excluded.user_code, expires_at = excluded.expires_at`,
        [
          this.model, sha256(id), JSON.stringify(stored), grantId,
          payload.accountId ?? null, payload.clientId ?? null, companyGuid, payload.uid ?? null,
          payload.userCode ? sha256(payload.userCode) : null,
          expiresIn ? Date.now() + expiresIn * 1000 : null,
        ],
      );
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (!PLAUSIBLE_ID.test(id) || isForeign(id)) return undefined;
      if (TOKEN_MODELS.has(this.model)) {
        const row = (await findTokenRows(id)).find((r) => r.model === this.model);
        const payload = revive(row, id);
        if (payload) handOver(row!);
        return payload;
      }
      if (this.model === 'Grant') {
        const handed = handoff.get(id);
        if (handed) {
          handoff.delete(id);
          return revive(handed, id);
        }
      }
      const row = await db.get<StoredRow>(
        'SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE model = ? AND id = ?',
        [this.model, sha256(id)],
      );
      return revive(row, id);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const row = await db.get<StoredRow>(
        'SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE model = ? AND uid = ?',
        [this.model, uid],
      );
      // The session id itself is not stored: callers of findByUid only read the session.
      const payload = revive(row, '');
      if (payload) delete payload.jti;
      return payload;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const row = await db.get<StoredRow & { id: string }>(
        'SELECT payload, expires_at, consumed_at FROM oidc_payloads WHERE model = ? AND user_code = ?',
        [this.model, sha256(userCode)],
      );
      const payload = revive(row, '');
      if (payload) {
        delete payload.jti;
        payload.userCode = userCode;
      }
      return payload;
    }

    async consume(id: string): Promise<void> {
      const hashed = sha256(id);
      const { changes } = await db.run(
        'UPDATE oidc_payloads SET consumed_at = ? WHERE model = ? AND id = ? AND consumed_at IS NULL',
        [Date.now(), this.model, hashed],
      );
      if (changes === 1) return;
      if (!REPLAY_MODELS.has(this.model)) throw new errors.InvalidRequest('request already used');
      // Lost the race against a parallel redemption: treat it as the replay it is.
      const row = await db.get<{ grant_id: string | null }>(
        'SELECT grant_id FROM oidc_payloads WHERE model = ? AND id = ?',
        [this.model, hashed],
      );
      if (row?.grant_id) await revokeGrant(row.grant_id);
      throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
    }

    async destroy(id: string): Promise<void> {
      await db.run('DELETE FROM oidc_payloads WHERE model = ? AND id = ?', [this.model, sha256(id)]);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db.run('DELETE FROM oidc_payloads WHERE grant_id = ? AND model = ?', [grantId, this.model]);
    }
  }

  return TypeOrmAdapter;
}

/** Deletes expired rows; returns how many. */
export async function deleteExpiredPayloads(db: Database, now = Date.now()): Promise<number> {
  const { changes } = await db.run('DELETE FROM oidc_payloads WHERE expires_at IS NOT NULL AND expires_at < ?', [now]);
  return changes;
}
