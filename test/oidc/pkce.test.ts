// PKCE (S256, required for every client) and redirect-URI checks at the authorization and token
// endpoints of the real server, with openid-client as the relying party.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as oidc from 'openid-client';
import { authorize, rpConfig, tokenRequest, UserAgent } from '../helpers/oauth.js';
import { makeApp, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { startOAuthWorld } from '../helpers/world.js';

// RFC 7636, appendix B.
const RFC_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

let server: TestServer;
let app: TestApp;
let publicApp: TestApp;
let user: TestUser;
let config: oidc.Configuration;
let publicConfig: oidc.Configuration;

beforeAll(async () => {
  ({ server, user, app, config } = await startOAuthWorld());
  publicApp = await makeApp(server, {
    public: true, grantTypes: ['authorization_code', 'refresh_token'], redirectUris: ['http://127.0.0.1:9/native'],
  });
  publicConfig = await rpConfig(server, publicApp);
});
afterAll(() => server.close());

/** GET the authorization endpoint (no session, no redirects followed). */
async function authorizationRequest(params: Record<string, string>): Promise<Response> {
  const url = new URL(config.serverMetadata().authorization_endpoint!);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
}

const baseParams = () => ({
  client_id: app.clientId, response_type: 'code', redirect_uri: app.redirectUri, scope: 'openid', state: oidc.randomState(),
});

/** The request was refused back to the app: a redirect to its URI with an error and no code. */
function expectRefusedToApp(res: Response, redirectUri: string, why: RegExp) {
  expect([302, 303]).toContain(res.status);
  const location = new URL(res.headers.get('location')!);
  expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
  expect(location.searchParams.get('error')).toBe('invalid_request');
  expect(location.searchParams.get('error_description')).toMatch(why);
  expect(location.searchParams.has('code')).toBe(false);
}

describe('PKCE at the authorization endpoint', () => {
  test('a confidential client without code_challenge is refused, no code issued', async () => {
    expectRefusedToApp(await authorizationRequest(baseParams()), app.redirectUri, /PKCE/);
  });

  test('a public client without code_challenge is refused, no code issued', async () => {
    expectRefusedToApp(
      await authorizationRequest({ ...baseParams(), client_id: publicApp.clientId, redirect_uri: publicApp.redirectUri }),
      publicApp.redirectUri, /PKCE/,
    );
  });

  test('code_challenge_method=plain is refused', async () => {
    expectRefusedToApp(
      await authorizationRequest({ ...baseParams(), code_challenge: RFC_VERIFIER, code_challenge_method: 'plain' }),
      app.redirectUri, /code_challenge_method/,
    );
  });

  test('a code_challenge without its method is refused (no silent fallback to plain)', async () => {
    expectRefusedToApp(await authorizationRequest({ ...baseParams(), code_challenge: RFC_CHALLENGE }), app.redirectUri, /code_challenge_method/);
  });

  test('a well-formed S256 request goes on to the sign-in step', async () => {
    // The control case: the refusals above are about PKCE, not about the rest of the request.
    const res = await authorizationRequest({ ...baseParams(), code_challenge: RFC_CHALLENGE, code_challenge_method: 'S256' });
    expect([302, 303]).toContain(res.status);
    expect(res.headers.get('location')).toMatch(/^\/interaction\/[A-Za-z0-9_-]+$/);
  });
});

describe('PKCE at the token endpoint', () => {
  test('a wrong code_verifier gives invalid_grant and no tokens', async () => {
    const a = await authorize(server, config, app, user);
    const params = { grant_type: 'authorization_code', code: a.callbackUrl.searchParams.get('code')!, redirect_uri: app.redirectUri };
    const wrong = await tokenRequest(server, app, { ...params, code_verifier: oidc.randomPKCECodeVerifier() });
    expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(wrong.body.access_token).toBeUndefined();
    const missing = await tokenRequest(server, app, params);
    expect(missing).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // The challenge itself is not a verifier (what "plain" would accept).
    const challengeAsVerifier = await tokenRequest(server, app, {
      ...params, code_verifier: await oidc.calculatePKCECodeChallenge(a.codeVerifier),
    });
    expect(challengeAsVerifier).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  test('openid-client refuses to redeem with a wrong verifier too', async () => {
    const a = await authorize(server, config, app, user);
    await expect(oidc.authorizationCodeGrant(config, a.callbackUrl, {
      pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: a.state,
    })).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});

describe('RFC 7636 appendix B vector', () => {
  test("openid-client's calculatePKCECodeChallenge gives the RFC challenge", async () => {
    expect(await oidc.calculatePKCECodeChallenge(RFC_VERIFIER)).toBe(RFC_CHALLENGE);
  });

  test('the server accepts the RFC verifier for a code requested with the literal RFC challenge', async () => {
    // The challenge is sent as the RFC's literal string, so this checks the server's S256, not ours.
    const a = await authorize(server, config, app, user, {
      codeVerifier: RFC_VERIFIER,
      extra: { code_challenge: RFC_CHALLENGE, code_challenge_method: 'S256' },
    });
    expect(a.codeVerifier).toBe(RFC_VERIFIER);
    const tokens = await oidc.authorizationCodeGrant(config, a.callbackUrl, {
      pkceCodeVerifier: RFC_VERIFIER, expectedState: a.state,
    });
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.claims()?.sub).toBe(user.user.guid);
  });

  test('a public client (no secret) redeems with the RFC verifier, and not with a near miss', async () => {
    const a = await authorize(server, publicConfig, publicApp, user, { codeVerifier: RFC_VERIFIER });
    const code = a.callbackUrl.searchParams.get('code')!;
    const params = { grant_type: 'authorization_code', code, redirect_uri: publicApp.redirectUri, client_id: publicApp.clientId };
    const post = (extra: Record<string, string>) => fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...params, ...extra }),
    });
    const nearMiss = await post({ code_verifier: `${RFC_VERIFIER.slice(0, -1)}l` });
    expect(nearMiss.status).toBe(400);
    expect(((await nearMiss.json()) as { error: string }).error).toBe('invalid_grant');
    const ok = await post({ code_verifier: RFC_VERIFIER });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { access_token?: string }).access_token).toEqual(expect.any(String));
  });
});

describe('redirect_uri', () => {
  const unregistered = [
    'https://evil.example/callback',
    'http://127.0.0.1:9/callback/extra',
    'http://127.0.0.1:9/callback?next=https://evil.example',
    'http://127.0.0.1:90/callback',
    'http://127.0.0.1:9/callback#frag',
    'http://127.0.0.1:9/Callback',
    'http://localhost:9/callback',
    'javascript:alert(1)',
  ];

  test.each(unregistered)('an unregistered redirect_uri (%s) never redirects', async (redirectUri) => {
    const res = await authorizationRequest({
      ...baseParams(), redirect_uri: redirectUri, code_challenge: RFC_CHALLENGE, code_challenge_method: 'S256',
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const body = await res.text();
    expect(body).toMatch(/redirect_uri/);
  });

  test('an unregistered redirect_uri is refused even with a signed-in session', async () => {
    // A signed-in user must not be turned into an open redirector either.
    const agent = new UserAgent();
    await authorize(server, config, app, user, { agent });
    const url = new URL(config.serverMetadata().authorization_endpoint!);
    for (const [k, v] of Object.entries({
      ...baseParams(), redirect_uri: 'https://evil.example/cb', code_challenge: RFC_CHALLENGE, code_challenge_method: 'S256',
    })) url.searchParams.set(k, v);
    const res = await agent.get(url.href);
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  test('an unknown client_id never redirects', async () => {
    const res = await authorizationRequest({ ...baseParams(), client_id: '00000000-0000-4000-8000-000000000000' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });

  test('the token endpoint refuses a code with a redirect_uri other than the one it was issued for', async () => {
    const other = 'http://127.0.0.1:9/other';
    const twoUris = await makeApp(server, { redirectUris: [app.redirectUri, other] });
    const twoConfig = await rpConfig(server, twoUris);
    const a = await authorize(server, twoConfig, twoUris, user);
    const res = await tokenRequest(server, twoUris, {
      grant_type: 'authorization_code', code: a.callbackUrl.searchParams.get('code')!, redirect_uri: other, code_verifier: a.codeVerifier,
    });
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});
