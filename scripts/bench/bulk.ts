// Bulk rows for oidc_payloads, made by the store's own row format (src/oidc/payload-store.ts
// toRow: hashed ids, grant_id, company_guid on client-credentials tokens), plus consumed_at on
// redeemed codes. Inserted in large transactions (SQLite, a separate better-sqlite3
// connection) or unnest() batches (PostgreSQL).
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { AdapterPayload } from 'oidc-provider';
import { BULK_COLUMNS, BULK_INSERT_POSTGRES, BULK_INSERT_SQLITE, bulkValues } from '../../src/oidc/payload-store.js';
import { randomSecret } from '../../src/shared/crypto.js';
import { progress } from './common.js';
import { FLOW_SCOPE, CC_SCOPE } from './fixtures.js';

/** One model instance as the adapter would store it: its raw id, payload and lifetime. */
interface BulkItem {
  model: string;
  id: string;
  payload: AdapterPayload;
  expiresIn: number;
  consumedAt?: number;
}

export interface TokenSet {
  /** Rows in total (grants and client-credentials tokens included). */
  count: number;
  /** User GUIDs of the company: one grant each for the client, tokens spread across them. */
  accounts: string[];
  clientId: string;
  companyGuid: string;
  /** Share of client-credentials tokens bound to the company (no grant, no account). */
  ccShare?: number;
}

const H = 3600;

/**
 * The rows of one company × client: a Grant per user, then access tokens (50%), refresh tokens
 * (45%) and redeemed authorization codes (5%) round-robin over the grants, plus `ccShare` of
 * client-credentials tokens bound to the company. All live (expiring in the future).
 */
export function* tokenRows(set: TokenSet, now = Date.now()): Generator<BulkItem> {
  const iat = Math.floor(now / 1000);
  const ccCount = Math.round(set.count * (set.ccShare ?? 0.05));
  const grants = set.accounts.slice(0, Math.max(1, Math.min(set.accounts.length, set.count - ccCount)))
    .map((accountId) => ({ accountId, grantId: randomSecret(32), sessionUid: randomSecret(32) }));
  let made = 0;
  const seq = randomSecret(6);
  for (const g of grants) {
    made++;
    yield {
      model: 'Grant', id: g.grantId, expiresIn: 365 * 24 * H,
      payload: { iat, exp: iat + 365 * 24 * H, accountId: g.accountId, clientId: set.clientId, kind: 'Grant', openid: { scope: FLOW_SCOPE } },
    };
  }
  for (let i = 0; made < set.count - ccCount; i++, made++) {
    const g = grants[i % grants.length]!;
    const id = `${seq}.${i}`;
    const r = i % 20;
    if (r < 10) {
      yield {
        model: 'AccessToken', id, expiresIn: H,
        payload: {
          iat, exp: iat + H, accountId: g.accountId, expiresWithSession: true, grantId: g.grantId, gty: 'authorization_code',
          sessionUid: g.sessionUid, kind: 'AccessToken', clientId: set.clientId, scope: FLOW_SCOPE,
          extra: { company_guid: set.companyGuid, auth_type: 'oauth' },
        },
      };
    } else if (r < 19) {
      yield {
        model: 'RefreshToken', id, expiresIn: 30 * 24 * H,
        payload: {
          iat, exp: iat + 30 * 24 * H, accountId: g.accountId, authTime: iat, expiresWithSession: true, grantId: g.grantId,
          gty: 'authorization_code', rotations: 0, scope: FLOW_SCOPE, sessionUid: g.sessionUid, kind: 'RefreshToken',
          clientId: set.clientId, iiat: iat,
        },
      };
    } else {
      yield {
        model: 'AuthorizationCode', id, expiresIn: 600, consumedAt: now,
        payload: {
          iat, exp: iat + 600, accountId: g.accountId, authTime: iat, codeChallenge: randomSecret(32), codeChallengeMethod: 'S256',
          grantId: g.grantId, redirectUri: 'http://127.0.0.1:9/callback', scope: FLOW_SCOPE, sessionUid: g.sessionUid,
          kind: 'AuthorizationCode', clientId: set.clientId, expiresWithSession: true,
        },
      };
    }
  }
  for (let i = 0; i < ccCount; i++) {
    yield {
      model: 'ClientCredentials', id: `${seq}.cc.${i}`, expiresIn: H,
      payload: {
        iat, exp: iat + H, scope: CC_SCOPE, kind: 'ClientCredentials', clientId: set.clientId,
        extra: { company_guid: set.companyGuid, auth_type: 'oauth' },
      },
    };
  }
}

/** The row values of an item, in the store's own row format. */
const values = (item: BulkItem, now: number) => bulkValues(item.model, item.id, item.payload, item.expiresIn, item.consumedAt ?? null, now);

/** Inserts every row of `sets` into the database at `url`; returns the number of rows. */
export async function bulkInsert(url: string, sets: TokenSet[], label: string): Promise<number> {
  const total = sets.reduce((n, s) => n + s.count, 0);
  const bar = progress(label, total);
  let done = 0;
  if (url.startsWith('sqlite:')) {
    const conn = new BetterSqlite3(url.replace(/^sqlite:(\/\/)?/, ''));
    conn.pragma('journal_mode = WAL');
    conn.pragma('synchronous = NORMAL');
    conn.pragma('busy_timeout = 5000');
    const insert = conn.prepare(BULK_INSERT_SQLITE);
    const batch = conn.transaction((rows: unknown[][]) => {
      for (const r of rows) insert.run(r);
    });
    let rows: unknown[][] = [];
    for (const set of sets) {
      const now = Date.now();
      for (const item of tokenRows(set, now)) {
        rows.push(values(item, now));
        if (rows.length === 20_000) {
          batch(rows);
          done += rows.length;
          rows = [];
          bar.tick(done);
        }
      }
    }
    batch(rows);
    done += rows.length;
    conn.pragma('wal_checkpoint(TRUNCATE)');
    conn.close();
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    let cols: unknown[][] = BULK_COLUMNS.map(() => []);
    const flush = async () => {
      if (cols[0]!.length === 0) return;
      await client.query(BULK_INSERT_POSTGRES, cols);
      done += cols[0]!.length;
      cols = BULK_COLUMNS.map(() => []);
      bar.tick(done);
    };
    for (const set of sets) {
      const now = Date.now();
      for (const item of tokenRows(set, now)) {
        values(item, now).forEach((v, i) => cols[i]!.push(v));
        if (cols[0]!.length === 10_000) await flush();
      }
    }
    await flush();
    // Autovacuum would analyze a table that grew this much within a minute; do it now.
    await client.query('ANALYZE oidc_payloads');
    await client.end();
  }
  bar.end();
  return done;
}
