// Section 4: revoking a connected app that holds N live tokens for a company, timing
// src/ledger/revoke-connection.ts revokeConnection in-process (the transaction after which
// nothing is usable), then the purge of the revoked grants' tokens (ledger/grant-purge.ts). Around the N rows of (company A,
// app X), the same app holds tokens for company B and company A holds tokens of another app Y;
// both must be untouched. A second revoke must answer 404.
import { createApp } from '../../src/clients/clients.js';
import { createCompany, createUser } from '../../src/companies/users.js';
import type { Database } from '../../src/db/database.js';
import { grantAuthorization } from '../../src/ledger/authorizations.js';
import { NO_EFFECTS } from '../../src/ledger/effects.js';
import { revokeConnection } from '../../src/ledger/revoke-connection.js';
import { purgeRevokedGrants } from '../../src/ledger/grant-purge.js';
import { randomSecret } from '../../src/shared/crypto.js';
import { bulkInsert } from './bulk.js';
import { log, median, round } from './common.js';
import { createBenchDatabase, insertUsers, openMigrated, type Dialect } from './fixtures.js';

export interface RevokeRun {
  /** The revocation itself: the transaction, after which nothing of A × X is usable. */
  ms: number;
  /** The purge that follows, deleting the revoked grants' tokens in chunks. */
  purgeMs: number;
  /** Tokens of A × X still usable (grant present, or a client-credentials token) after the commit: must be 0. */
  usableAfterCommit: number;
  /** Counts revokeConnection reported (it may count live tokens only). */
  revoked: Record<string, number>;
  revokedTotal: number;
  /** Rows of (company A, app X) that were in the table and are gone. */
  rowsDeleted: number;
  otherCompanyIntact: boolean;
  otherAppIntact: boolean;
  nothingLeft: boolean;
  secondRevoke404: boolean;
}

export interface RevokeCase {
  dialect: Dialect;
  tokens: number;
  runs: RevokeRun[];
  medianMs: number;
  ok: boolean;
}

async function countScope(db: Database, clientId: string, companyId: number, companyGuid: string): Promise<number> {
  const row = await db.get<{ n: number }>(
    `SELECT COUNT(*) AS n FROM oidc_payloads WHERE client_id = ?
     AND (account_id IN (SELECT guid FROM users WHERE company_id = ?) OR (model = 'ClientCredentials' AND company_guid = ?))`,
    [clientId, companyId, companyGuid],
  );
  return Number(row?.n ?? 0);
}

async function countUsable(db: Database, clientId: string, companyId: number, companyGuid: string): Promise<number> {
  const row = await db.get<{ n: number }>(
    `SELECT COUNT(*) AS n FROM oidc_payloads t WHERE t.client_id = ? AND (
       (t.model = 'ClientCredentials' AND t.company_guid = ?)
       OR (t.account_id IN (SELECT guid FROM users WHERE company_id = ?)
           AND EXISTS (SELECT 1 FROM oidc_payloads g WHERE g.grant_id = t.grant_id AND g.model = 'Grant')))`,
    [clientId, companyGuid, companyId],
  );
  return Number(row?.n ?? 0);
}

async function oneRun(dialect: Dialect, tokens: number, dir: string, pgBase: string): Promise<RevokeRun> {
  const bench = await createBenchDatabase(dialect, `revoke${tokens}`, dir, pgBase);
  const db = await openMigrated(bench.url);
  try {
    const kek = Buffer.from(randomSecret(32), 'base64url');
    const a = await createCompany(db, 'Revoking Company');
    const b = await createCompany(db, 'Other Company');
    const adminA = await createUser(db, { companyGuid: a.guid, email: 'admin-a@bench.example', password: randomSecret(12), role: 'admin' });
    const adminB = await createUser(db, { companyGuid: b.guid, email: 'admin-b@bench.example', password: randomSecret(12), role: 'admin' });
    const usersA = [adminA.guid, ...(await insertUsers(db, a.id, 199, 'a'))];
    const usersB = [adminB.guid, ...(await insertUsers(db, b.id, 49, 'b'))];
    const appX = (await createApp(db, kek, { name: 'App X', redirectUris: ['https://x.example/cb'], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], webhookUrl: 'https://x.example/hook' })).client_id;
    const appY = (await createApp(db, kek, { name: 'App Y', redirectUris: ['https://y.example/cb'], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] })).client_id;
    const scopes = ['openid', 'schedules:read'];
    await grantAuthorization(db, { user: adminA, clientId: appX, granted: scopes, companyAccess: ['schedules:read'] });
    await grantAuthorization(db, { user: adminB, clientId: appX, granted: scopes, companyAccess: ['schedules:read'] });
    await grantAuthorization(db, { user: adminA, clientId: appY, granted: scopes, companyAccess: ['schedules:read'] });

    const others = Math.max(1000, Math.round(tokens / 10));
    await bulkInsert(bench.url, [
      { count: tokens, accounts: usersA, clientId: appX, companyGuid: a.guid },
      { count: others, accounts: usersB, clientId: appX, companyGuid: b.guid },
      { count: others, accounts: usersA, clientId: appY, companyGuid: a.guid },
    ], `  ${dialect}: inserting ${tokens.toLocaleString('en-US')} + 2×${others.toLocaleString('en-US')} rows`);

    const before = { ax: await countScope(db, appX, a.id, a.guid), bx: await countScope(db, appX, b.id, b.guid), ay: await countScope(db, appY, a.id, a.guid) };
    if (before.ax !== tokens) throw new Error(`expected ${tokens} rows for A × X, found ${before.ax}`);

    const start = performance.now();
    const { result } = await revokeConnection({ db, effects: NO_EFFECTS }, adminA.company, adminA, appX);
    const ms = performance.now() - start;
    // Right after the commit no token of A × X may be usable: its grant must be gone (or, for
    // client credentials, the token itself).
    const usableAfterCommit = await countUsable(db, appX, a.id, a.guid);
    // Then the purge deletes the revoked grants' tokens in small transactions.
    const purgeStart = performance.now();
    await purgeRevokedGrants(db);
    const purgeMs = performance.now() - purgeStart;

    const after = { ax: await countScope(db, appX, a.id, a.guid), bx: await countScope(db, appX, b.id, b.guid), ay: await countScope(db, appY, a.id, a.guid) };
    let secondRevoke404 = false;
    try {
      await revokeConnection({ db, effects: NO_EFFECTS }, adminA.company, adminA, appX);
    } catch (err) {
      secondRevoke404 = (err as { status?: number }).status === 404;
    }
    const revokedTotal = Object.values(result.revoked).reduce((n, v) => n + v, 0);
    return {
      ms, purgeMs, usableAfterCommit, revoked: result.revoked, revokedTotal, rowsDeleted: before.ax - after.ax,
      otherCompanyIntact: after.bx === before.bx, otherAppIntact: after.ay === before.ay,
      nothingLeft: after.ax === 0, secondRevoke404,
    };
  } finally {
    await db.close();
    await bench.drop();
  }
}

export async function revokeBench(opts: { dialects: Dialect[]; sizes: number[]; reps: number; dir: string; pgBase: string }): Promise<RevokeCase[]> {
  const cases: RevokeCase[] = [];
  for (const dialect of opts.dialects) {
    for (const tokens of opts.sizes) {
      const runs: RevokeRun[] = [];
      for (let rep = 0; rep < opts.reps; rep++) {
        const run = await oneRun(dialect, tokens, opts.dir, opts.pgBase);
        runs.push(run);
        log(`revoke ${dialect} ${tokens.toLocaleString('en-US')} tokens: ${round(run.ms, 1)} ms, then purge ${round(run.purgeMs, 1)} ms (usable after commit: ${run.usableAfterCommit}; ${run.rowsDeleted} rows deleted, ${run.revokedTotal} reported; all gone: ${run.nothingLeft}; other company intact: ${run.otherCompanyIntact}; other app intact: ${run.otherAppIntact}; 2nd revoke 404: ${run.secondRevoke404})`);
      }
      const ok = runs.every((r) => r.usableAfterCommit === 0 && r.otherCompanyIntact && r.otherAppIntact && r.nothingLeft && r.secondRevoke404);
      cases.push({ dialect, tokens, runs, medianMs: median(runs.map((r) => r.ms)), ok });
    }
  }
  return cases;
}
