// The oidc-provider adapter: every model but Client, stored through payload-store.ts (which owns
// the table and its row format).
//
// - `upsert` is a real upsert; `find` hides expired rows and restores the `jti` the store strips.
// - `consume` is a conditional update (`… AND consumed_at IS NULL`). oidc-provider checks
//   `consumed` before it calls `consume()`, so two parallel redemptions can both pass that
//   check; only one wins the update, the others get invalid_grant and — as with any replay —
//   the grant is revoked with everything issued from it.
// - `revokeByGrantId` is one indexed delete.
// - Token lookups (AccessToken, ClientCredentials, RefreshToken) and the lookup of the token's
//   Grant that follows are answered by one statement (see findTokenRows below).
import { errors } from 'oidc-provider';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Database } from '../db/database.js';
import {
  TOKEN_MODELS, consumePayload, deleteByGrantId, destroyPayload, findPayload, findPayloadByUid, findPayloadByUserCode,
  findTokenRows, grantIdOfPayload, upsertPayload, type StoredRow, type TokenRow,
} from './payload-store.js';

/** Codes whose second use is a replay: it revokes the grant. */
const REPLAY_MODELS = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

export interface AdapterOptions {
  /** Ids that can never be oidc-provider's (our access tokens and API keys): answered without a lookup. */
  isForeignToken?: (id: string) => boolean;
}

/** ids oidc-provider generates are short base64url strings; anything else is never stored. */
const PLAUSIBLE_ID = /^[A-Za-z0-9_-]{1,128}$/;

function revive(row: StoredRow | undefined, id: string): AdapterPayload | undefined {
  if (!row) return undefined;
  if (row.expires_at !== null && row.expires_at <= Date.now()) return undefined;
  const payload = JSON.parse(row.payload) as AdapterPayload;
  payload.jti = id;
  if (row.consumed_at !== null) payload.consumed = Math.floor(row.consumed_at / 1000);
  return payload;
}

export function createAdapterFactory(db: Database, options: AdapterOptions = {}) {
  const isForeign = options.isForeignToken ?? (() => false);

  // Introspection asks for AccessToken, ClientCredentials and RefreshToken of one value at once,
  // then for the token's Grant. One statement answers all of it: the token rows joined with
  // their grant. Parallel lookups of one value share the statement while it runs; the grant
  // found with a token is handed to the Grant lookup that follows within the same turn of the
  // event loop (taken once, dropped at setImmediate) — the same snapshot, not a cache.
  const inflight = new Map<string, Promise<TokenRow[]>>();
  const handoff = new Map<string, StoredRow>();
  let handoffSweep: NodeJS.Immediate | undefined;

  function tokenRows(id: string): Promise<TokenRow[]> {
    let pending = inflight.get(id);
    if (!pending) {
      pending = findTokenRows(db, id);
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

  class SqlAdapter implements Adapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      await upsertPayload(db, this.model, id, payload, expiresIn);
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (!PLAUSIBLE_ID.test(id) || isForeign(id)) return undefined;
      if (TOKEN_MODELS.has(this.model)) {
        const row = (await tokenRows(id)).find((r) => r.model === this.model);
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
      return revive(await findPayload(db, this.model, id), id);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      // The session id itself is not stored: callers of findByUid only read the session.
      const payload = revive(await findPayloadByUid(db, this.model, uid), '');
      if (payload) delete payload.jti;
      return payload;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const payload = revive(await findPayloadByUserCode(db, this.model, userCode), '');
      if (payload) {
        delete payload.jti;
        payload.userCode = userCode;
      }
      return payload;
    }

    async consume(id: string): Promise<void> {
      if (await consumePayload(db, this.model, id)) return;
      if (!REPLAY_MODELS.has(this.model)) throw new errors.InvalidRequest('request already used');
      // Lost the race against a parallel redemption: treat it as the replay it is.
      const grantId = await grantIdOfPayload(db, this.model, id);
      if (grantId) await deleteByGrantId(db, grantId);
      throw new errors.InvalidGrant(`${this.model === 'RefreshToken' ? 'refresh token' : 'grant'} already used`);
    }

    async destroy(id: string): Promise<void> {
      await destroyPayload(db, this.model, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await deleteByGrantId(db, grantId, this.model);
    }
  }

  return SqlAdapter;
}
