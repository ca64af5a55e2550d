// `last_used_at` of a connection: set when the app's tokens are used — introspection, userinfo,
// refresh — and written at most once per interval, so the hot path does not write on every call.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { signIn, type AdminSession } from '../helpers/admin.js';
import { clientCredentials, connectUser, introspect, refresh, rpConfig, userinfo } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeGateway, makeUser, startTestServer, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';
import type { Company } from '../../src/companies/users.js';

interface World {
  server: TestServer;
  gateway: { clientId: string; clientSecret: string };
  A: Company;
  userA: TestUser;
  userB: TestUser;
  sessionA: AdminSession;
  sessionB: AdminSession;
}

/** Every use writes (interval 0): each source is seen on its own. */
let fast: World;
/** An interval no test outlives: a write seen here was not let through by the interval ending. */
let long: World;

async function world(lastUsedInterval: number): Promise<World> {
  const server = await startTestServer({ tokens: { lastUsedInterval } });
  const gateway = await makeGateway(server);
  const [A, B] = await Promise.all([makeCompany(server.db), makeCompany(server.db)]);
  const userA = await makeUser(server.db, A.guid, 'admin');
  const userB = await makeUser(server.db, B.guid, 'admin');
  return { server, gateway, A, userA, userB, sessionA: await signIn(server, userA), sessionB: await signIn(server, userB) };
}

async function lastUsed(session: AdminSession, app: TestApp): Promise<number | null> {
  const res = await session.api('GET', `/connected-apps/${app.clientId}`);
  expect(res.status).toBe(200);
  return res.body.last_used_at === null ? null : Date.parse(String(res.body.last_used_at));
}

/** Waits for the background write; returns the new value. */
function lastUsedAfter(session: AdminSession, app: TestApp, previous: number | null): Promise<number> {
  return eventually(async () => {
    const v = await lastUsed(session, app);
    return v !== null && (previous === null || v > previous) ? v : undefined;
  }, 3000, 'last_used_at');
}

/** Connects `user` to `app` (a new one by default) and lets any write of the code exchange land. */
async function connected(w: World, user: TestUser, app?: TestApp) {
  const a = app ?? (await makeApp(w.server));
  // An admin's authorization, with company-wide access for client credentials.
  const tokens = await connectUser(w.server, await rpConfig(w.server, a), a, user, { scope: 'openid profile email offline_access schedules:read company_access' });
  await settled(w);
  return { app: a, ...tokens };
}

/** Every last-used write issued so far has landed (a negative check after this is meaningful). */
const settled = (w: World) => w.server.running.services.lastUsed.idle();

beforeAll(async () => {
  [fast, long] = await Promise.all([world(0), world(3600)]);
});
afterAll(() => Promise.all([fast.server.close(), long.server.close()]));

describe('last_used_at of connected apps', () => {
  test('failed calls do not count', async () => {
    const { server, gateway, sessionA, userA } = fast;
    const c = await connected(fast, userA);
    const start = await lastUsed(sessionA, c.app);
    expect((await introspect(server, gateway, `${c.accessToken}x`)).body).toEqual({ active: false });
    expect((await introspect(server, gateway, c.refreshToken)).body).toEqual({ active: false }); // gateways never accept refresh tokens
    expect(await userinfo(server, `${c.accessToken}x`)).toBe(401);
    expect((await refresh(server, c.app, `${c.refreshToken}x`)).status).toBe(400);
    await settled(fast);
    expect(await lastUsed(sessionA, c.app)).toBe(start);
  });

  test('introspection sets it — for this company’s connection only', async () => {
    const { server, gateway, sessionA, sessionB, userA, userB } = fast;
    const c = await connected(fast, userA);
    await connected(fast, userB, c.app);
    const [mine, theirs] = [await lastUsed(sessionA, c.app), await lastUsed(sessionB, c.app)];
    const before = Date.now();
    expect((await introspect(server, gateway, c.accessToken)).body.active).toBe(true);
    const at = await lastUsedAfter(sessionA, c.app, mine);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
    await settled(fast);
    expect(await lastUsed(sessionB, c.app)).toBe(theirs);
  });

  test('userinfo sets it', async () => {
    const { server, sessionA, userA } = fast;
    const c = await connected(fast, userA);
    const start = await lastUsed(sessionA, c.app);
    const before = Date.now();
    expect(await userinfo(server, c.accessToken)).toBe(200);
    expect(await lastUsedAfter(sessionA, c.app, start)).toBeGreaterThanOrEqual(before);
  });

  test('a refresh sets it', async () => {
    const { server, sessionA, userA } = fast;
    const c = await connected(fast, userA);
    const start = await lastUsed(sessionA, c.app);
    const before = Date.now();
    expect((await refresh(server, c.app, c.refreshToken)).status).toBe(200);
    expect(await lastUsedAfter(sessionA, c.app, start)).toBeGreaterThanOrEqual(before);
  });

  test('a client-credentials token’s introspection sets it', async () => {
    const { server, gateway, sessionA, userA, A } = fast;
    const c = await connected(fast, userA);
    const cc = await clientCredentials(server, c.app, A.guid);
    expect(cc.status).toBe(200);
    await settled(fast);
    const start = await lastUsed(sessionA, c.app);
    const before = Date.now();
    expect((await introspect(server, gateway, String(cc.body.access_token))).body.active).toBe(true);
    expect(await lastUsedAfter(sessionA, c.app, start)).toBeGreaterThanOrEqual(before);
  });

  test('a revoked connection is never touched again; the reconnected one is', async () => {
    const { server, gateway, sessionA, userA, A } = fast;
    const c = await connected(fast, userA);
    const row = () => server.db.get<{ last_used_at: number | null }>(
      'SELECT last_used_at FROM connections WHERE client_id = ? AND company_id = ? AND revoked_at IS NOT NULL', [c.app.clientId, A.id],
    );
    expect((await sessionA.revoke(c.app.clientId)).status).toBe(200);
    const frozen = (await row())!.last_used_at;
    expect((await introspect(server, gateway, c.accessToken)).body).toEqual({ active: false });
    expect(await userinfo(server, c.accessToken)).toBe(401);
    const again = await connected(fast, userA, c.app);
    const start = await lastUsed(sessionA, c.app);
    expect((await introspect(server, gateway, again.accessToken)).body.active).toBe(true);
    await lastUsedAfter(sessionA, c.app, start);
    expect((await row())!.last_used_at).toBe(frozen);
  });

  test('with an interval, it is written at most once per interval', async () => {
    const { server, gateway, sessionA, userA } = long;
    const c = await connected(long, userA);
    // The first use (the code exchange, or else this introspection) is written…
    expect((await introspect(server, gateway, c.accessToken)).body.active).toBe(true);
    const first = await lastUsedAfter(sessionA, c.app, null);
    // …and every kind of use, several times, inside the interval (an hour) writes nothing.
    let refreshToken = c.refreshToken;
    for (let i = 0; i < 3; i++) {
      expect((await introspect(server, gateway, c.accessToken)).body.active).toBe(true);
      expect(await userinfo(server, c.accessToken)).toBe(200);
      const r = await refresh(server, c.app, refreshToken);
      expect(r.status).toBe(200);
      refreshToken = String(r.body.refresh_token);
    }
    await settled(long);
    expect(await lastUsed(sessionA, c.app)).toBe(first);
    // When the interval ends the next use is written again: test/ledger/last-used-recorder.test.ts (its clock).
  });

  test('a connection made again after a revocation is written at its first use, inside the interval', async () => {
    const { server, gateway, sessionA, userA, A } = long;
    const c = await connected(long, userA);
    // The first connection is used through a user's token and a client-credentials token.
    const cc = await clientCredentials(server, c.app, A.guid);
    expect(cc.status).toBe(200);
    expect((await introspect(server, gateway, c.accessToken)).body.active).toBe(true);
    expect((await introspect(server, gateway, String(cc.body.access_token))).body.active).toBe(true);
    await lastUsedAfter(sessionA, c.app, null);

    // Revoked and connected again: the user's new token marks the new connection at once.
    expect((await sessionA.revoke(c.app.clientId)).status).toBe(200);
    const again = await connected(long, userA, c.app);
    expect(await lastUsed(sessionA, c.app)).toBeNull();
    expect((await introspect(server, gateway, again.accessToken)).body.active).toBe(true);
    await lastUsedAfter(sessionA, c.app, null);

    // And once more, used only by a client-credentials token this time.
    expect((await sessionA.revoke(c.app.clientId)).status).toBe(200);
    await connected(long, userA, c.app);
    expect(await lastUsed(sessionA, c.app)).toBeNull();
    const cc2 = await clientCredentials(server, c.app, A.guid);
    expect(cc2.status).toBe(200);
    expect((await introspect(server, gateway, String(cc2.body.access_token))).body.active).toBe(true);
    await lastUsedAfter(sessionA, c.app, null);
  });
});
