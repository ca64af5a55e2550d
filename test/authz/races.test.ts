// The authorization model under concurrency: a narrowing racing client-credentials issuance,
// a demotion racing a refresh, two admins granting company-wide access at once, and
// authorizations racing the revocation of the consent they come from. After each change has
// answered, nothing outside what it left may work — whatever the interleaving.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { setRole } from '../../src/companies/membership.js';
import { signIn, type SignedIn } from '../helpers/admin.js';
import { authorize, connect, connectUser, consentPage, introspect, rpConfig, tokenRequest } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeGateway, makeUser, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

let server: TestServer;
let companyGuid: string;
let admin: TestUser;
let session: SignedIn;
let gateway: { clientId: string; clientSecret: string };

beforeAll(async () => {
  server = await startTestServer();
  companyGuid = (await makeCompany(server.db)).guid;
  admin = await makeUser(server.db, companyGuid, 'admin');
  session = await signIn(server, admin);
  gateway = await makeGateway(server);
});
afterAll(() => server.close());

const active = async (token: string) => (await introspect(server, gateway, token)).body.active === true;

test('a company grant narrowed while client-credentials tokens are issued: no token outside the new scopes survives the PATCH answer', async () => {
  const app = await makeApp(server);
  await authorize(server, await rpConfig(server, app), app, admin, { scope: 'openid schedules:read users:read company_access' });
  const issued: Array<{ token: string; scope: string }> = [];
  let patched = false;
  let afterPatch = 0;
  // Issuers keep asking (no scope: whatever the grant holds at that moment) until a few answers
  // after the PATCH has returned.
  const issuer = async () => {
    while (!patched || afterPatch < 6) {
      const res = await tokenRequest(server, app, { grant_type: 'client_credentials', company: companyGuid });
      if (res.status === 200) issued.push({ token: String(res.body.access_token), scope: String(res.body.scope) });
      if (patched) afterPatch++;
    }
  };
  const issuers = [issuer(), issuer(), issuer(), issuer()];
  await new Promise((r) => setTimeout(r, 30));
  const res = await session.api('PATCH', `/connected-apps/${app.clientId}`, { company_access: { scopes: ['schedules:read'] } });
  patched = true;
  expect(res.status).toBe(200);
  await Promise.all(issuers);
  const wide = issued.filter((t) => t.scope.split(' ').includes('users:read'));
  const narrow = issued.filter((t) => !t.scope.split(' ').includes('users:read'));
  expect(wide.length).toBeGreaterThan(0); // the race was run: some were issued before
  expect(narrow.length).toBeGreaterThan(0);
  for (const t of wide) expect(await active(t.token)).toBe(false);
  for (const t of narrow) expect(await active(t.token)).toBe(true);
});

describe('a demotion racing a refresh', () => {
  test('whichever wins, nothing of an authorization beyond the new role works afterwards', async () => {
    const app = await makeApp(server);
    const config = await rpConfig(server, app);
    for (let round = 0; round < 4; round++) {
      const person = await makeUser(server.db, companyGuid, 'admin');
      const t = await connectUser(server, config, app, person, { scope: 'users:write schedules:read' });
      const [refreshed] = await Promise.all([
        tokenRequest(server, app, { grant_type: 'refresh_token', refresh_token: t.refreshToken }),
        // Let the refresh get a head start in half of the rounds.
        new Promise((r) => setTimeout(r, round % 2 ? 5 : 0)).then(() => setRole(server.running.services, person.user, 'employee')),
      ]);
      expect(await active(t.accessToken)).toBe(false);
      if (refreshed.status === 200) {
        expect(await active(String(refreshed.body.access_token))).toBe(false);
        const next = await tokenRequest(server, app, { grant_type: 'refresh_token', refresh_token: String(refreshed.body.refresh_token) });
        expect(next.body.error).toBe('invalid_grant');
      } else {
        expect(refreshed.body.error).toBe('invalid_grant');
      }
    }
  });
});

test('two admins granting company-wide access at once: one grant, the last writer’s scopes, both audited', async () => {
  const app = await makeApp(server);
  const config = await rpConfig(server, app);
  const other = await makeUser(server.db, companyGuid, 'admin');
  // Both walk to their consent pages first, then allow at the same moment.
  const pages = await Promise.all([
    consentPage(server, config, app, admin, 'openid schedules:read company_access'),
    consentPage(server, config, app, other, 'openid users:read company_access'),
  ]);
  const answers = await Promise.all(pages.map((p) => p.agent.postForm(`${server.url}/interaction/${p.uid}/confirm`, { _csrf: p.csrf })));
  for (const a of answers) expect(a.status).toBe(303);
  const rows = await server.db.all<{ company_access_scopes: string | null }>(
    'SELECT company_access_scopes FROM connections WHERE client_id = ? AND revoked_at IS NULL', [app.clientId],
  );
  expect(rows).toHaveLength(1);
  const events = ((await session.api('GET', '/audit-events?limit=100')).body.data ?? [])
    .filter((e) => e.target_id === app.clientId && e.action === 'company_access.granted');
  expect(events).toHaveLength(2);
  // The newest event is the last writer: its scopes are the grant's.
  expect(rows[0]!.company_access_scopes).toBe((events[0]!.details as { scopes: string[] }).scopes.join(' '));
  const cc = await tokenRequest(server, app, { grant_type: 'client_credentials', company: companyGuid });
  expect(cc.body.scope).toBe(rows[0]!.company_access_scopes);
});

test('authorizations racing the revocation of their consent: once it has answered, no grant of the person for the app is left', async () => {
  const app = await makeApp(server);
  const config = await rpConfig(server, app);
  const person = await makeUser(server.db, companyGuid, 'employee');
  await connect(server, config, app, person, { scope: 'openid schedules:read' });
  // Eight browsers of the person authorize (remembered consent: each makes a grant of its own)
  // while an admin revokes the person's authorization.
  const flows = Array.from({ length: 8 }, (_, i) => new Promise((r) => setTimeout(r, i * 15))
    .then(() => authorize(server, config, app, person, { scope: 'openid schedules:read', expectConsent: false }))
    .then((a) => a, () => undefined));
  await new Promise((r) => setTimeout(r, 40));
  const revoked = await session.api('DELETE', `/connected-apps/${app.clientId}/users/${person.user.guid}`);
  expect(revoked.status).toBe(200);
  const done = await Promise.all(flows);
  const grants = await server.db.get<{ n: number | string }>(
    "SELECT COUNT(*) AS n FROM oidc_payloads WHERE model = 'Grant' AND account_id = ? AND client_id = ?", [person.user.guid, app.clientId],
  );
  expect(Number(grants?.n)).toBe(0);
  // Codes from flows that reached the app cannot be redeemed.
  for (const a of done.filter((x) => x !== undefined)) {
    const res = await tokenRequest(server, app, {
      grant_type: 'authorization_code', code: a!.callbackUrl.searchParams.get('code')!, redirect_uri: app.redirectUri, code_verifier: a!.codeVerifier,
    });
    expect(res.body.error).toBe('invalid_grant');
  }
});
