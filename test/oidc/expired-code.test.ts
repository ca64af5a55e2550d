// A late authorization-code redemption answers invalid_grant with "authorization code expired";
// an unknown or already-used code keeps oidc-provider's own description.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { findPayload } from '../../src/oidc/payload-store.js';
import { authorize, rpConfig, tokenRequest } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeUser, startTestServer, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

let server: TestServer;
let app: TestApp;
let user: TestUser;

beforeAll(async () => {
  server = await startTestServer({ tokens: { authorizationCodeTtl: 5 } });
  app = await makeApp(server);
  user = await makeUser(server.db, (await makeCompany(server.db)).guid, 'admin');
});
afterAll(() => server?.close());

const redeem = (code: string, codeVerifier: string) => tokenRequest(server, app, {
  grant_type: 'authorization_code', code, redirect_uri: app.redirectUri, code_verifier: codeVerifier,
});

test('a code redeemed after its lifetime: invalid_grant, "authorization code expired"', async () => {
  const { callbackUrl, codeVerifier } = await authorize(server, await rpConfig(server, app), app, user);
  const code = callbackUrl.searchParams.get('code')!;
  const expiresAt = Number((await findPayload(server.db, 'AuthorizationCode', code))!.expires_at);
  // Waits for the code's own expiry time to pass (a condition on time, not a guessed delay).
  await eventually(async () => (Date.now() > expiresAt ? true : undefined), 10_000, 'the code to expire');
  expect(await redeem(code, codeVerifier)).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'authorization code expired' } });
});

test('an unknown code and a used one keep the generic description', async () => {
  expect((await redeem('not-a-code', 'x'.repeat(43))).body).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
  const { callbackUrl, codeVerifier } = await authorize(server, await rpConfig(server, app), app, user);
  const code = callbackUrl.searchParams.get('code')!;
  expect((await redeem(code, codeVerifier)).status).toBe(200);
  expect((await redeem(code, codeVerifier)).body).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
});
