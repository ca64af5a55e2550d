// The purge queue behind revocation: grants are deleted and queued in the revoking
// transaction; their tokens are deleted afterwards in bounded chunks, by whichever process runs
// the purge (the revoking one at once, any one at start-up or cleanup after a crash).
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { purgeRevokedGrants } from '../../src/ledger/grant-purge.js';
import { revokeGrants } from '../../src/oidc/payload-store.js';
import { sha256 } from '../../src/shared/crypto.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t.drop());

async function seed(grantId: string, account: string, tokens: number): Promise<void> {
  const now = Date.now();
  await t.db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO oidc_payloads (model, id, payload, grant_id, account_id, client_id, expires_at) VALUES ('Grant', ?, '{}', ?, ?, 'app', ?)`,
      [sha256(grantId), grantId, account, now + 3_600_000],
    );
    for (let i = 0; i < tokens; i++) {
      await tx.run(
        `INSERT INTO oidc_payloads (model, id, payload, grant_id, account_id, client_id, expires_at, consumed_at) VALUES (?, ?, '{}', ?, ?, 'app', ?, ?)`,
        [i % 2 ? 'RefreshToken' : 'AccessToken', sha256(`${grantId}-${i}`), grantId, account, now + 3_600_000, i % 10 === 9 ? now : null],
      );
    }
  });
}

const rows = async (grantId: string) =>
  Number((await t.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM oidc_payloads WHERE grant_id = ?', [grantId]))?.n);

test('revokeGrants deletes and queues the grants, counts live tokens; the purge deletes the rest in chunks', async () => {
  await seed('grant-big', 'user-1', 4_500); // more than two chunks
  await seed('grant-small', 'user-1', 3);
  await seed('grant-other', 'user-2', 5);

  const counts = await t.db.transaction((tx) => revokeGrants(tx, { accountId: 'user-1' }, Date.now()));
  // Every 10th token was consumed (a rotated refresh token, a redeemed code): not counted.
  expect(counts).toEqual({ Grant: 2, AccessToken: 2_250 + 2, RefreshToken: 1_800 + 1 });
  expect(await t.db.get("SELECT 1 AS x FROM oidc_payloads WHERE model = 'Grant' AND grant_id IN ('grant-big', 'grant-small')")).toBeUndefined();
  expect(await rows('grant-big')).toBe(4_500); // still stored, but without a grant: inactive
  expect((await t.db.all('SELECT grant_id FROM grant_purges ORDER BY grant_id')).map((r) => r.grant_id)).toEqual(['grant-big', 'grant-small']);

  const before = t.db.statements;
  expect(await purgeRevokedGrants(t.db, 1_000)).toBe(4_503);
  // Chunks of 1,000 rows across the queued grants (5 deletes), then the queue is emptied.
  expect(t.db.statements - before).toBe(6);
  expect(await rows('grant-big')).toBe(0);
  expect(await rows('grant-small')).toBe(0);
  expect(await rows('grant-other')).toBe(6);
  expect(await t.db.all('SELECT grant_id FROM grant_purges')).toEqual([]);
  expect(await purgeRevokedGrants(t.db)).toBe(0);
});

test('queuing the same grant twice is harmless', async () => {
  await seed('grant-twice', 'user-3', 2);
  await t.db.run("INSERT INTO grant_purges (grant_id, queued_at) VALUES ('grant-twice', 1)");
  await t.db.transaction((tx) => revokeGrants(tx, { accountId: 'user-3' }, Date.now()));
  expect(await purgeRevokedGrants(t.db)).toBe(2);
  expect(await rows('grant-twice')).toBe(0);
});
