// Contract tests of the oidc-provider store (createAdapterFactory) on the test database: SQLite
// by default, PostgreSQL with DATABASE_URL=postgres://…. No server: the adapter alone.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { errors, type AdapterPayload } from 'oidc-provider';
import { createAdapterFactory } from '../../src/oidc/adapter.js';
import { deleteExpiredPayloads } from '../../src/oidc/payload-store.js';
import { randomSecret, sha256 } from '../../src/shared/crypto.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
let Adapter: ReturnType<typeof createAdapterFactory>;

beforeAll(async () => {
  database = await createTestDatabase();
  Adapter = createAdapterFactory(database.db, { isForeignToken: (id) => id.startsWith('glpat_') });
});
afterAll(() => database.drop());

const newId = () => randomSecret(32);
const HOUR = 3600;

async function rows(model: string, id: string) {
  return database.db.all<{ id: string; payload: string; grant_id: string | null; consumed_at: number | null; expires_at: number | null }>(
    'SELECT id, payload, grant_id, consumed_at, expires_at FROM oidc_payloads WHERE model = ? AND id = ?',
    [model, sha256(id)],
  );
}

async function countModel(model: string, grantId: string): Promise<number> {
  const row = await database.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM oidc_payloads WHERE model = ? AND grant_id = ?', [model, grantId]);
  return Number(row?.n ?? 0);
}

/** A grant with an authorization code, an access token and a refresh token issued from it. */
async function grantWithTokens(clientId = 'client-a') {
  const grantId = newId();
  const ids = { code: newId(), at: newId(), rt: newId() };
  await new Adapter('Grant').upsert(grantId, { kind: 'Grant', accountId: 'acct', clientId } as AdapterPayload, HOUR);
  await new Adapter('AuthorizationCode').upsert(ids.code, { kind: 'AuthorizationCode', grantId, clientId, accountId: 'acct' }, 60);
  await new Adapter('AccessToken').upsert(ids.at, { kind: 'AccessToken', grantId, clientId, accountId: 'acct' }, HOUR);
  await new Adapter('RefreshToken').upsert(ids.rt, { kind: 'RefreshToken', grantId, clientId, accountId: 'acct' }, HOUR);
  return { grantId, ...ids };
}

describe('upsert and find', () => {
  test('upsert twice for the same id: one row, updated', async () => {
    const id = newId();
    const a = new Adapter('Session');
    await a.upsert(id, { kind: 'Session', accountId: 'first', uid: 'u-1' } as AdapterPayload, HOUR);
    await a.upsert(id, { kind: 'Session', accountId: 'second', uid: 'u-1' } as AdapterPayload, HOUR);
    const stored = await rows('Session', id);
    expect(stored).toHaveLength(1);
    expect(JSON.parse(stored[0]!.payload)).toMatchObject({ accountId: 'second' });
    expect(await a.find(id)).toMatchObject({ accountId: 'second', jti: id });
  });

  test('the same id under two models is two rows', async () => {
    const id = newId();
    await new Adapter('AccessToken').upsert(id, { kind: 'AccessToken', clientId: 'c' }, HOUR);
    await new Adapter('RefreshToken').upsert(id, { kind: 'RefreshToken', clientId: 'c' }, HOUR);
    expect(await new Adapter('AccessToken').find(id)).toMatchObject({ kind: 'AccessToken' });
    expect(await new Adapter('RefreshToken').find(id)).toMatchObject({ kind: 'RefreshToken' });
    expect(await new Adapter('ClientCredentials').find(id)).toBeUndefined();
  });

  test('the id column holds SHA-256 of the id, never the id; jti is not stored but restored', async () => {
    const id = newId();
    const a = new Adapter('AccessToken');
    await a.upsert(id, { kind: 'AccessToken', jti: id, clientId: 'c', accountId: 'acct' }, HOUR);
    const stored = await rows('AccessToken', id);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.id).toBe(sha256(id));
    expect(stored[0]!.payload).not.toContain(id);
    const raw = await database.db.all('SELECT model FROM oidc_payloads WHERE id = ?', [id]);
    expect(raw).toEqual([]);
    const found = await a.find(id);
    expect(found).toMatchObject({ jti: id, clientId: 'c', accountId: 'acct' });
  });

  test("an Interaction's copy of the session id is not stored", async () => {
    const id = newId();
    const sessionId = newId();
    const a = new Adapter('Interaction');
    await a.upsert(id, {
      kind: 'Interaction', returnTo: 'x', session: { accountId: 'acct', uid: 'su', cookie: sessionId },
    } as AdapterPayload, HOUR);
    const [stored] = await rows('Interaction', id);
    expect(stored!.payload).not.toContain(sessionId);
    expect((await a.find(id))?.session).toEqual({ accountId: 'acct', uid: 'su' });
  });

  test('find hides expired rows (and deleteExpiredPayloads removes them)', async () => {
    const id = newId();
    const a = new Adapter('AccessToken');
    await a.upsert(id, { kind: 'AccessToken', clientId: 'c' }, HOUR);
    expect(await a.find(id)).toBeDefined();
    await database.db.run('UPDATE oidc_payloads SET expires_at = ? WHERE model = ? AND id = ?', [Date.now() - 1000, 'AccessToken', sha256(id)]);
    expect(await a.find(id)).toBeUndefined();
    // Not only the token lookup path: other models too.
    const sid = newId();
    const s = new Adapter('Session');
    await s.upsert(sid, { kind: 'Session', uid: `uid-${sid}` } as AdapterPayload, HOUR);
    await database.db.run('UPDATE oidc_payloads SET expires_at = ? WHERE model = ? AND id = ?', [Date.now() - 1000, 'Session', sha256(sid)]);
    expect(await s.find(sid)).toBeUndefined();
    expect(await s.findByUid(`uid-${sid}`)).toBeUndefined();

    expect(await deleteExpiredPayloads(database.db)).toBeGreaterThanOrEqual(2);
    expect(await rows('AccessToken', id)).toEqual([]);
  });

  test('a row without expiry never expires', async () => {
    const id = newId();
    const a = new Adapter('Grant');
    await a.upsert(id, { kind: 'Grant', accountId: 'acct', clientId: 'c' } as AdapterPayload, 0);
    expect((await rows('Grant', id))[0]!.expires_at).toBeNull();
    expect(await a.find(id)).toMatchObject({ accountId: 'acct' });
  });

  test('a Grant row carries its own id as grant_id; tokens carry theirs', async () => {
    const { grantId, at } = await grantWithTokens();
    expect((await rows('Grant', grantId))[0]!.grant_id).toBe(grantId);
    expect((await rows('AccessToken', at))[0]!.grant_id).toBe(grantId);
  });

  test('implausible and foreign ids are answered without a statement', async () => {
    const a = new Adapter('AccessToken');
    const before = database.db.statements;
    for (const id of ['', 'a b', 'x'.repeat(129), "' OR 1=1 --", 'eyJ.eyJ.sig', `glpat_${'A'.repeat(49)}`]) {
      expect(await a.find(id)).toBeUndefined();
    }
    expect(database.db.statements).toBe(before);
  });
});

describe('findByUid and findByUserCode', () => {
  test('findByUid returns the session without its id; unknown uid → undefined', async () => {
    const id = newId();
    const uid = `uid-${newId()}`;
    await new Adapter('Session').upsert(id, { kind: 'Session', uid, accountId: 'acct' } as AdapterPayload, HOUR);
    const found = await new Adapter('Session').findByUid(uid);
    expect(found).toMatchObject({ uid, accountId: 'acct' });
    expect(found?.jti).toBeUndefined();
    expect(await new Adapter('Session').findByUid('no-such-uid')).toBeUndefined();
    // Scoped to the model.
    expect(await new Adapter('Interaction').findByUid(uid)).toBeUndefined();
  });

  test('findByUserCode looks up the hash of the user code', async () => {
    const id = newId();
    await new Adapter('DeviceCode').upsert(id, { kind: 'DeviceCode', userCode: 'ABCD-EFGH', clientId: 'c' } as AdapterPayload, 600);
    const col = await database.db.get<{ user_code: string }>('SELECT user_code FROM oidc_payloads WHERE model = ? AND id = ?', ['DeviceCode', sha256(id)]);
    expect(col?.user_code).toBe(sha256('ABCD-EFGH'));
    expect(await new Adapter('DeviceCode').findByUserCode('ABCD-EFGH')).toMatchObject({ userCode: 'ABCD-EFGH', clientId: 'c' });
    expect(await new Adapter('DeviceCode').findByUserCode('ZZZZ-ZZZZ')).toBeUndefined();
  });
});

describe('consume', () => {
  test('consume sets consumed; a second consume throws InvalidGrant and revokes the grant', async () => {
    const { grantId, code, at, rt } = await grantWithTokens();
    const other = await grantWithTokens();
    const codes = new Adapter('AuthorizationCode');
    expect((await codes.find(code))?.consumed).toBeUndefined();
    await codes.consume(code);
    const consumed = await codes.find(code);
    expect(consumed?.consumed).toEqual(expect.any(Number));
    expect(Math.abs(consumed!.consumed as number - Date.now() / 1000)).toBeLessThan(60);

    await expect(codes.consume(code)).rejects.toBeInstanceOf(errors.InvalidGrant);
    expect(await new Adapter('Grant').find(grantId)).toBeUndefined();
    expect(await new Adapter('AccessToken').find(at)).toBeUndefined();
    expect(await new Adapter('RefreshToken').find(rt)).toBeUndefined();
    for (const model of ['Grant', 'AuthorizationCode', 'AccessToken', 'RefreshToken']) expect(await countModel(model, grantId)).toBe(0);
    // Another grant is untouched.
    expect(await new Adapter('AccessToken').find(other.at)).toBeDefined();
    expect(await new Adapter('Grant').find(other.grantId)).toBeDefined();
  });

  test('a spent refresh token presented again: InvalidGrant, grant revoked', async () => {
    const { grantId, rt, at } = await grantWithTokens();
    const refresh = new Adapter('RefreshToken');
    await refresh.consume(rt);
    await expect(refresh.consume(rt)).rejects.toBeInstanceOf(errors.InvalidGrant);
    expect(await new Adapter('AccessToken').find(at)).toBeUndefined();
    expect(await countModel('Grant', grantId)).toBe(0);
  });

  test('20 parallel consume() calls: exactly one succeeds', async () => {
    const { code, grantId } = await grantWithTokens();
    const codes = new Adapter('AuthorizationCode');
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => codes.consume(code)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(19);
    for (const r of rejected) expect(r.reason).toBeInstanceOf(errors.InvalidGrant);
    // The losers were replays: the grant is gone.
    expect(await countModel('Grant', grantId)).toBe(0);
  });

  test('20 parallel consume() calls on separate adapter instances: exactly one succeeds', async () => {
    // oidc-provider builds a model instance per request; nothing may rely on a shared instance.
    const { rt } = await grantWithTokens();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => new Adapter('RefreshToken').consume(rt)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  test('consuming a non-replay model twice is refused without revoking anything', async () => {
    const grantId = newId();
    await new Adapter('Grant').upsert(grantId, { kind: 'Grant', accountId: 'acct', clientId: 'c' } as AdapterPayload, HOUR);
    const id = newId();
    const pushed = new Adapter('PushedAuthorizationRequest');
    await pushed.upsert(id, { kind: 'PushedAuthorizationRequest', grantId } as AdapterPayload, 60);
    await pushed.consume(id);
    await expect(pushed.consume(id)).rejects.toBeInstanceOf(errors.InvalidRequest);
    expect(await countModel('Grant', grantId)).toBe(1);
  });

  test('consuming an unknown id fails', async () => {
    await expect(new Adapter('AuthorizationCode').consume(newId())).rejects.toBeInstanceOf(errors.InvalidGrant);
  });
});

describe('destroy and revokeByGrantId', () => {
  test('destroy removes one row of one model', async () => {
    const { at, rt, grantId } = await grantWithTokens();
    await new Adapter('AccessToken').destroy(at);
    expect(await new Adapter('AccessToken').find(at)).toBeUndefined();
    expect(await new Adapter('RefreshToken').find(rt)).toBeDefined();
    expect(await countModel('Grant', grantId)).toBe(1);
  });

  test("revokeByGrantId deletes only that grant's rows of that model", async () => {
    const g1 = await grantWithTokens();
    const g2 = await grantWithTokens();
    await new Adapter('AccessToken').revokeByGrantId(g1.grantId);
    expect(await new Adapter('AccessToken').find(g1.at)).toBeUndefined();
    expect(await new Adapter('RefreshToken').find(g1.rt)).toBeDefined();
    expect(await new Adapter('AuthorizationCode').find(g1.code)).toBeDefined();
    expect(await new Adapter('Grant').find(g1.grantId)).toBeDefined();
    expect(await new Adapter('AccessToken').find(g2.at)).toBeDefined();
  });

  test('revokeByGrantId is one statement', async () => {
    const g = await grantWithTokens();
    const before = database.db.statements;
    await new Adapter('RefreshToken').revokeByGrantId(g.grantId);
    expect(database.db.statements - before).toBe(1);
    expect(await countModel('RefreshToken', g.grantId)).toBe(0);
  });
});

describe('coalesced token lookups', () => {
  test('AccessToken, ClientCredentials and RefreshToken finds of one id issued together run ONE statement', async () => {
    const id = newId();
    await new Adapter('RefreshToken').upsert(id, { kind: 'RefreshToken', clientId: 'c', accountId: 'acct' }, HOUR);
    const before = database.db.statements;
    const [at, cc, rt] = await Promise.all([
      new Adapter('AccessToken').find(id), new Adapter('ClientCredentials').find(id), new Adapter('RefreshToken').find(id),
    ]);
    expect(database.db.statements - before).toBe(1);
    expect(at).toBeUndefined();
    expect(cc).toBeUndefined();
    expect(rt).toMatchObject({ kind: 'RefreshToken', jti: id });
  });

  test('three finds of the same token at once share one statement and each get their own copy', async () => {
    const id = newId();
    await new Adapter('AccessToken').upsert(id, { kind: 'AccessToken', clientId: 'c', scope: 'a b' }, HOUR);
    const a = new Adapter('AccessToken');
    const before = database.db.statements;
    const found = await Promise.all([a.find(id), a.find(id), a.find(id)]);
    expect(database.db.statements - before).toBe(1);
    for (const f of found) expect(f).toMatchObject({ jti: id, scope: 'a b' });
    found[0]!.scope = 'changed';
    expect(found[1]!.scope).toBe('a b');
  });

  test('lookups are not cached: a later find sees a change', async () => {
    const id = newId();
    const a = new Adapter('AccessToken');
    await a.upsert(id, { kind: 'AccessToken', clientId: 'c' }, HOUR);
    expect(await a.find(id)).toBeDefined();
    const before = database.db.statements;
    await a.destroy(id);
    expect(await a.find(id)).toBeUndefined();
    expect(database.db.statements - before).toBe(2);
  });
});
