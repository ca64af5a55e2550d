// Who may introspect what (RFC 7662 at the real server), and what deactivating a user does to
// the tokens they gave apps.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type * as oidc from 'openid-client';
import { deactivateUser } from '../../src/companies/membership.js';
import { sha256 } from '../../src/shared/crypto.js';
import { basicAuth } from '../helpers/http.js';
import { connect, introspect, tokenRequest } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeUser, reloadUser, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { startOAuthWorld } from '../helpers/world.js';

let server: TestServer;
let appA: TestApp;
let appB: TestApp;
let user: TestUser;
let gateway: { clientId: string; clientSecret: string };
let configA: oidc.Configuration;
let tokensA: oidc.TokenEndpointResponse;

beforeAll(async () => {
  ({ server, user, app: appA, gateway, config: configA } = await startOAuthWorld());
  appB = await makeApp(server);
  ({ tokens: tokensA } = await connect(server, configA, appA, user));
});
afterAll(() => server.close());

/** Introspection with arbitrary headers (for unauthenticated and malformed calls). */
async function rawIntrospect(headers: Record<string, string>, fields: Record<string, string>) {
  const res = await fetch(`${server.url}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}


describe('introspection policy', () => {
  test("an app introspects its own access token", async () => {
    const seen = await introspect(server, appA, tokensA.access_token);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ active: true, client_id: appA.clientId, sub: user.user.guid, token_type: 'Bearer' });
  });

  test("another app cannot introspect it: exactly {active: false}", async () => {
    const seen = await introspect(server, appB, tokensA.access_token);
    expect(seen).toEqual({ status: 200, body: { active: false } });
    // …nor the refresh token, with or without a hint.
    expect((await introspect(server, appB, tokensA.refresh_token!)).body).toEqual({ active: false });
    expect((await introspect(server, appB, tokensA.refresh_token!, 'refresh_token')).body).toEqual({ active: false });
  });

  test('a gateway sees the access token as an active access token', async () => {
    const seen = await introspect(server, gateway, tokensA.access_token);
    expect(seen.body).toMatchObject({ active: true, client_id: appA.clientId, token_type: 'Bearer', auth_type: 'oauth' });
  });

  test('a refresh token is never reported as an access token to a gateway: {active: false}', async () => {
    const refreshToken = tokensA.refresh_token!;
    expect(refreshToken).toEqual(expect.any(String));
    // The refresh token is live: its own app sees it (the gateway answer is policy, not a dead token).
    expect((await introspect(server, appA, refreshToken)).body).toMatchObject({ active: true, client_id: appA.clientId });
    expect(await introspect(server, gateway, refreshToken)).toEqual({ status: 200, body: { active: false } });
    for (const hint of ['refresh_token', 'access_token']) {
      expect((await introspect(server, gateway, refreshToken, hint)).body).toEqual({ active: false });
    }
  });

  // Absent or malformed credentials are oidc-provider's 400 invalid_request ("no client
  // authentication mechanism provided"); credentials that do not authenticate are 401
  // invalid_client. Either way the caller learns nothing about the token.
  test('no client authentication: 400 invalid_request, no answer about the token', async () => {
    const res = await rawIntrospect({}, { token: tokensA.access_token });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'no client authentication mechanism provided' });
  });

  test('a client_id without a secret (as a public client would send): 401 invalid_client', async () => {
    const res = await rawIntrospect({}, { token: tokensA.access_token, client_id: gateway.clientId });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(res.body.active).toBeUndefined();
  });

  test('a wrong secret: 401 invalid_client with a Basic challenge', async () => {
    for (const secret of [`${gateway.clientSecret}x`, gateway.clientSecret.slice(0, -1), appA.clientSecret, 'x']) {
      const res = await rawIntrospect({ authorization: basicAuth({ ...gateway, clientSecret: secret }) }, { token: tokensA.access_token });
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect(res.body.active).toBeUndefined();
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    }
  });

  test('an empty secret or a malformed Authorization header: 400 invalid_request', async () => {
    for (const authorization of [basicAuth({ ...gateway, clientSecret: '' }), 'Basic !!!', `Bearer ${tokensA.access_token}`]) {
      const res = await rawIntrospect({ authorization }, { token: tokensA.access_token });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(res.body.active).toBeUndefined();
    }
  });

  test("the stored hash of a secret is not accepted as the secret", async () => {
    const res = await rawIntrospect({ authorization: basicAuth({ ...gateway, clientSecret: sha256(gateway.clientSecret) }) }, { token: tokensA.access_token });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  test('an unknown client: 401 invalid_client', async () => {
    const res = await rawIntrospect(
      { authorization: basicAuth({ ...gateway, clientId: '00000000-0000-4000-8000-000000000000' }) }, { token: tokensA.access_token },
    );
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  test('a gateway cannot obtain tokens for itself', async () => {
    const res = await tokenRequest(server, gateway, { grant_type: 'client_credentials', scope: 'schedules:read' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.access_token).toBeUndefined();
  });
});

describe('deactivating a user', () => {
  test("their access token becomes inactive and their refresh fails", async () => {
    const company = await makeCompany(server.db);
    const leaver = await makeUser(server.db, company.guid, 'employee');
    const stayer = await makeUser(server.db, company.guid, 'employee');
    const { tokens } = await connect(server, configA, appA, leaver);
    const { tokens: other } = await connect(server, configA, appA, stayer);
    expect((await introspect(server, gateway, tokens.access_token)).body.active).toBe(true);

    await deactivateUser(server.running.services, await reloadUser(server.db, leaver.user.guid));

    expect((await introspect(server, gateway, tokens.access_token)).body).toEqual({ active: false });
    expect((await introspect(server, appA, tokens.access_token)).body).toEqual({ active: false });
    const refresh = await tokenRequest(server, appA, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    expect(refresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const info = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(info.status).toBe(401);
    // A colleague's tokens for the same app are untouched.
    expect((await introspect(server, gateway, other.access_token)).body).toMatchObject({ active: true, sub: stayer.user.guid });
    const colleague = await tokenRequest(server, appA, { grant_type: 'refresh_token', refresh_token: other.refresh_token! });
    expect(colleague.status).toBe(200);
  });
});
