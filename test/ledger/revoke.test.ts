// Revoke access of a connected app for one company: every token of every kind that the app
// holds for that company dies at once, the other company's tokens keep working, the response
// and the audit trail count what was revoked, consent is asked again, and reconnecting makes a
// new connection.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type * as oidc from 'openid-client';
import { signIn, type AdminSession, type ApiResponse } from '../helpers/admin.js';
import {
  authorize, clientCredentials, connectUser, introspect, refresh, tokenRequest, userinfo, type AuthorizeResult, type UserAgent,
} from '../helpers/oauth.js';
import { makeCompany, makeUser, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { startOAuthWorld } from '../helpers/world.js';
import type { Company } from '../../src/companies/users.js';

let server: TestServer;
let app: TestApp;
let config: oidc.Configuration;
let gateway: { clientId: string; clientSecret: string };

/** Everything one company's people did with the app. */
interface CompanyWorld {
  company: Company;
  admin: TestUser;
  alice: TestUser;
  bob: TestUser;
  aliceAgent: UserAgent;
  session: AdminSession;
  /** Every access token issued by a code or a refresh (all live until revoked). */
  accessTokens: string[];
  /** The newest refresh token of each chain (live). */
  refreshTokens: string[];
  /** A refresh token already rotated away (dead before, dead after). */
  rotatedRefreshToken: string;
  unredeemed: AuthorizeResult;
  ccTokens: string[];
}

/**
 * Per company: Alice connects (code → tokens) and refreshes once, connects again from a second
 * browser (a grant of its own, no consent page: hers is remembered; plain OAuth, so a refresh
 * token without offline_access), Bob connects, the admin authorizes with company-wide access but
 * never redeems the code, and the app takes two client-credentials tokens for the company.
 */
async function populate(): Promise<CompanyWorld> {
  const company = await makeCompany(server.db);
  const [admin, alice, bob] = await Promise.all([
    makeUser(server.db, company.guid, 'admin'), makeUser(server.db, company.guid, 'employee'), makeUser(server.db, company.guid, 'manager'),
  ]);
  const a1 = await connectUser(server, config, app, alice);
  expect(a1.consentShown).toBe(true);
  const r1 = await refresh(server, app, a1.refreshToken);
  expect(r1.status).toBe(200);
  const a2 = await connectUser(server, config, app, alice, { scope: 'schedules:read' }); // a second browser
  expect(a2.consentShown).toBe(false);
  const b1 = await connectUser(server, config, app, bob);
  const unredeemed = await authorize(server, config, app, admin, { scope: 'openid schedules:read company_access' });
  const cc = await Promise.all([clientCredentials(server, app, company.guid), clientCredentials(server, app, company.guid)]);
  for (const c of cc) expect(c.status).toBe(200);
  return {
    company, admin, alice, bob, aliceAgent: a1.agent, session: await signIn(server, admin),
    accessTokens: [a1.accessToken, String(r1.body.access_token), a2.accessToken, b1.accessToken],
    refreshTokens: [String(r1.body.refresh_token), a2.refreshToken, b1.refreshToken],
    rotatedRefreshToken: a1.refreshToken,
    unredeemed,
    ccTokens: cc.map((c) => String(c.body.access_token)),
  };
}

function redeem(a: AuthorizeResult) {
  return tokenRequest(server, app, {
    grant_type: 'authorization_code', code: a.callbackUrl.searchParams.get('code')!, redirect_uri: app.redirectUri, code_verifier: a.codeVerifier,
  });
}

const inactive = { active: false };
let A: CompanyWorld;
let B: CompanyWorld;
let revoked: ApiResponse;

beforeAll(async () => {
  ({ server, app, gateway, config } = await startOAuthWorld());
  A = await populate();
  B = await populate();
});
afterAll(() => server.close());

/** Live rows of `c`'s users (and company) for the app in storage, sessions aside. */
const rowsOf = async (c: Company) => Number((await server.db.get<{ n: number }>(
  `SELECT COUNT(*) AS n FROM oidc_payloads WHERE client_id = ?
   AND (account_id IN (SELECT guid FROM users WHERE company_id = ?) OR company_guid = ?) AND model <> 'Session'`,
  [app.clientId, c.id, c.guid],
))?.n);

/** Before the revocation: every token of both companies works (checked once, in the setup). */
async function expectEverythingWorks(): Promise<void> {
    expect(config.serverMetadata().userinfo_endpoint).toBe(`${server.url}/me`);
    for (const w of [A, B]) {
      expect(await w.session.connectedAppIds()).toEqual([app.clientId]);
      for (const t of w.accessTokens) {
        expect((await introspect(server, gateway, t)).body).toMatchObject({ active: true, company_guid: w.company.guid, client_id: app.clientId });
        // The second browser's plain-OAuth token has no openid scope: userinfo is not for it.
        expect(await userinfo(server, t)).toBe(t === w.accessTokens[2] ? 403 : 200);
      }
      for (const t of w.refreshTokens) expect((await introspect(server, app, t)).body).toMatchObject({ active: true });
      for (const t of w.ccTokens) expect((await introspect(server, gateway, t)).body).toMatchObject({ active: true, company_guid: w.company.guid });
    }
}

// The tests below read what one revocation left (any order, `--randomize`): it happens once, in
// this setup, after the "before" checks, and its purge is awaited.
let startedAt: number;
let rowsOfAAfterPurge: number;
let purgeQueueAfterPurge: number;
beforeAll(async () => {
  await expectEverythingWorks();
  startedAt = Date.now();
  revoked = await A.session.revoke(app.clientId);
  await server.running.workers.purger.idle();
  rowsOfAAfterPurge = await rowsOf(A.company);
  purgeQueueAfterPurge = Number((await server.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM grant_purges'))?.n);
});

describe('revoking a connected app for one company', () => {
  test('the admin of A revokes: 200 with the counts of what was live', async () => {
    const started = startedAt;
    expect(revoked.status).toBe(200);
    expect(revoked.body.client_id).toBe(app.clientId);
    const at = Date.parse(String(revoked.body.revoked_at));
    expect(at).toBeGreaterThanOrEqual(started - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    // 4 grants (Alice's two browsers, Bob, the admin); 4 access tokens (code, refresh, second
    // browser, Bob); 3 live refresh tokens (the rotated one was already spent); 1 unredeemed
    // code; 2 cc tokens.
    expect(revoked.body.revoked).toMatchObject({
      grants: 4, access_tokens: 4, refresh_tokens: 3, authorization_codes: 1, client_credentials_tokens: 2,
    });
  });

  test('every A token of every kind is dead', async () => {
    for (const t of A.accessTokens) {
      expect((await introspect(server, gateway, t)).body).toEqual(inactive);
      expect((await introspect(server, app, t)).body).toEqual(inactive);
      expect(await userinfo(server, t)).toBe(401);
    }
    for (const t of [...A.refreshTokens, A.rotatedRefreshToken]) {
      expect((await introspect(server, app, t)).body).toEqual(inactive);
      const r = await refresh(server, app, t);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('invalid_grant');
    }
    for (const t of A.ccTokens) {
      expect((await introspect(server, gateway, t)).body).toEqual(inactive);
      expect((await introspect(server, app, t)).body).toEqual(inactive);
    }
    const code = await redeem(A.unredeemed);
    expect(code).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  test('the purge then deletes every row of A × app from storage, and none of B’s', async () => {
    expect(rowsOfAAfterPurge).toBe(0);
    expect(await rowsOf(B.company)).toBeGreaterThan(10);
    expect(purgeQueueAfterPurge).toBe(0);
  });

  test('A: no new client-credentials token; revoking again and reading the app answer 404', async () => {
    const cc = await clientCredentials(server, app, A.company.guid);
    expect(cc.status).toBe(400);
    expect(cc.body.error).toBe('unauthorized_client');
    const again = await A.session.revoke(app.clientId);
    expect(again.status).toBe(404);
    expect(again.body.error?.code).toBe('not_found');
    expect((await A.session.api('GET', `/connected-apps/${app.clientId}`)).status).toBe(404);
  });

  test('none of B’s tokens is touched', async () => {
    for (const t of B.accessTokens) {
      expect((await introspect(server, gateway, t)).body).toMatchObject({ active: true, company_guid: B.company.guid });
      expect(await userinfo(server, t)).toBe(t === B.accessTokens[2] ? 403 : 200);
    }
    for (const t of B.ccTokens) expect((await introspect(server, gateway, t)).body).toMatchObject({ active: true, company_guid: B.company.guid });
    for (const t of B.refreshTokens) {
      const r = await refresh(server, app, t);
      expect(r.status).toBe(200);
      expect((await introspect(server, gateway, String(r.body.access_token))).body).toMatchObject({ active: true });
    }
    const code = await redeem(B.unredeemed);
    expect(code.status).toBe(200);
    expect((await clientCredentials(server, app, B.company.guid)).status).toBe(200);
    expect((await B.session.api('GET', `/connected-apps/${app.clientId}`)).status).toBe(200);
  });

  test('the connection lists: gone for A, still there for B', async () => {
    expect(await A.session.connectedAppIds()).toEqual([]);
    expect(await B.session.connectedAppIds()).toEqual([app.clientId]);
  });

  test('an audit event with the counts, in A’s trail only', async () => {
    const a = await A.session.api('GET', '/audit-events');
    expect(a.status).toBe(200);
    const events = a.body.data as Array<Record<string, unknown>>;
    // This revocation's event (the reconnection test revokes once more when it is done).
    const event = events.find((e) => e.action === 'connection.revoked' && e.created_at === revoked.body.revoked_at);
    expect(event).toMatchObject({
      actor: A.admin.email, target_type: 'client', target_id: app.clientId, details: { revoked: revoked.body.revoked },
    });
    const times = events.map((e) => Date.parse(String(e.created_at)));
    expect(times).toEqual([...times].sort((x, y) => y - x)); // newest first
    const b = await B.session.api('GET', '/audit-events');
    expect((b.body.data as Array<Record<string, unknown>>).filter((e) => e.action === 'connection.revoked')).toEqual([]);
  });

  test('the next authorization by a user of A asks for consent again; B’s users are not asked', async () => {
    // Alice still has her session at the authorization server: only the grant is gone.
    const again = await connectUser(server, config, app, A.alice, { agent: A.aliceAgent });
    expect(again.consentShown).toBe(true);
    const bAgain = await authorize(server, config, app, B.alice, { expectConsent: false });
    expect(bAgain.consentShown).toBe(false);

    // Reconnecting created a new connection; the revoked one stays for the audit trail.
    expect(await A.session.connectedAppIds()).toEqual([app.clientId]);
    const shown = await A.session.api('GET', `/connected-apps/${app.clientId}`);
    expect(shown.body).toMatchObject({ client_id: app.clientId, connected_by: { email: A.alice.email } });
    expect(Date.parse(String(shown.body.connected_at))).toBeGreaterThanOrEqual(Date.parse(String(revoked.body.revoked_at)));
    const rows = await server.db.all<{ id: number; revoked_at: number | null; revoked_by: number | null }>(
      'SELECT id, revoked_at, revoked_by FROM connections WHERE company_id = ? AND client_id = ? ORDER BY id',
      [A.company.id, app.clientId],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ revoked_at: Date.parse(String(revoked.body.revoked_at)), revoked_by: A.admin.user.id });
    expect(rows[1]!.revoked_at).toBeNull();
    expect(rows[1]!.id).not.toBe(rows[0]!.id);

    // The new tokens work; the old ones stay dead — reconnecting revives nothing.
    expect((await introspect(server, gateway, again.accessToken)).body).toMatchObject({ active: true, company_guid: A.company.guid });
    for (const t of A.accessTokens) expect((await introspect(server, gateway, t)).body).toEqual(inactive);
    for (const t of A.ccTokens) expect((await introspect(server, gateway, t)).body).toEqual(inactive);
    expect((await refresh(server, app, A.refreshTokens[0]!)).body.error).toBe('invalid_grant');
    // An employee's consent never restores company-wide access: only an admin can give it again.
    expect((await clientCredentials(server, app, A.company.guid)).body.error).toBe('unauthorized_client');
    await authorize(server, config, app, A.admin, { scope: 'openid schedules:read company_access' });
    expect((await clientCredentials(server, app, A.company.guid)).status).toBe(200);
    // Back to the state the other tests read (they run in any order): A revoked again.
    expect((await A.session.revoke(app.clientId)).status).toBe(200);
    await server.running.workers.purger.idle();
  });
});
