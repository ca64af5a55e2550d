// Two end-user and app paths through the real server: the user who denies consent (the app gets
// access_denied at its redirect URI, no code, and nothing is written to the ledger), and token
// revocation at /token/revocation (RFC 7009): an app revokes its own access and refresh
// tokens, but another app's — even a valid token of the same user — it cannot touch.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as oidc from 'openid-client';
import { basicAuth, type ClientCredentials } from '../helpers/http.js';
import { connect, consentPage, introspect, refresh, rpConfig, userinfo } from '../helpers/oauth.js';
import { makeApp, type TestApp } from '../helpers/server.js';
import { startOAuthWorld, type OAuthWorld } from '../helpers/world.js';

let world: OAuthWorld;

beforeAll(async () => {
  world = await startOAuthWorld();
});
afterAll(() => world.server.close());

async function revoke(client: ClientCredentials, token: string, hint?: string) {
  const res = await fetch(`${world.server.url}/token/revocation`, {
    method: 'POST',
    headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, ...(hint ? { token_type_hint: hint } : {}) }),
  });
  return { status: res.status, text: await res.text() };
}

const count = async (sql: string, params: string[]) => Number((await world.server.db.get<{ n: number }>(sql, params))!.n);

describe('consent denied', () => {
  test('the app gets access_denied at its redirect URI, no code; no consent, grant or connection is written', async () => {
    const { server, config, app, user } = world;
    const { agent, uid, csrf } = await consentPage(server, config, app, user, 'openid profile schedules:read');
    const res = await agent.postForm(`${server.url}/interaction/${uid}/abort`, { _csrf: csrf });
    const { res: last, url } = await agent.follow(res, `${server.url}/interaction/${uid}`, server.url);
    await last.arrayBuffer();
    expect(url.startsWith(app.redirectUri)).toBe(true);
    const answer = new URL(url).searchParams;
    expect(answer.get('error')).toBe('access_denied');
    expect(answer.has('code')).toBe(false);
    expect(answer.get('state')).toEqual(expect.any(String));
    expect(await count('SELECT COUNT(*) AS n FROM consents WHERE client_id = ?', [app.clientId])).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM connections WHERE client_id = ?', [app.clientId])).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM oidc_payloads WHERE model IN ('Grant', 'AuthorizationCode', 'AccessToken') AND client_id = ?", [app.clientId])).toBe(0);
    // Without the form's CSRF token, abort is refused and the interaction stays open.
    const again = await consentPage(server, config, app, user, 'openid');
    const forged = await again.agent.postForm(`${server.url}/interaction/${again.uid}/abort`, { _csrf: 'x' });
    expect(forged.status).toBe(403);
  });
});

describe('RFC 7009 revocation', () => {
  let other: TestApp;

  beforeAll(async () => {
    other = await makeApp(world.server);
  });

  test('an app revokes its own access token: it stops working', async () => {
    const { server, config, app, user, gateway } = world;
    const { tokens } = await connect(server, config, app, user);
    expect((await revoke(app, tokens.access_token, 'access_token')).status).toBe(200);
    expect((await introspect(server, gateway, tokens.access_token)).body).toEqual({ active: false });
    expect(await userinfo(server, tokens.access_token)).toBe(401);
  });

  // KNOWN DEFECT (test.failing: it turns red once fixed — then make it a plain test). DESIGN.md
  // says an app revoking an access token ends only that token; oidc-provider 9.13's revocation
  // (lib/helpers/revoke.js) calls revokeByGrantId on every token model of the grant, so the
  // refresh token of the same authorization dies too (only the Grant row stays).
  test.failing('an app revokes its own access token: the refresh token of the same authorization keeps working', async () => {
    const { server, config, app, user, gateway } = world;
    const { tokens } = await connect(server, config, app, user);
    expect((await revoke(app, tokens.access_token, 'access_token')).status).toBe(200);
    expect((await introspect(server, gateway, tokens.access_token)).body).toEqual({ active: false });
    expect(await userinfo(server, tokens.access_token)).toBe(401);
    // Revoking an access token ends only that token (oidc-provider's revokeGrantPolicy).
    expect((await refresh(server, app, tokens.refresh_token!)).status).toBe(200);
  });

  test('an app revokes its own refresh token: the whole chain ends, access token included', async () => {
    const { server, config, app, user, gateway } = world;
    const { tokens } = await connect(server, config, app, user);
    expect((await revoke(app, tokens.refresh_token!)).status).toBe(200);
    expect((await refresh(server, app, tokens.refresh_token!)).status).toBe(400);
    expect((await introspect(server, gateway, tokens.access_token)).body).toEqual({ active: false });
    expect(await userinfo(server, tokens.access_token)).toBe(401);
  });

  // oidc-provider answers 200 without effect (allowedPolicy false), as for an unknown token: the
  // asking app learns nothing about the token (RFC 7009 §2.2 lets the server answer so).
  test('another app cannot revoke them, with or without a hint: the tokens keep working', async () => {
    const { server, config, app, user, gateway } = world;
    const { tokens } = await connect(server, config, app, user);
    // The same user's tokens for the other app are live too: it is not "whose user", it is "whose token".
    const theirs = await connect(server, await rpConfig(server, other), other, user);
    expect(theirs.tokens.access_token).toEqual(expect.any(String));
    for (const [token, hint] of [[tokens.access_token, undefined], [tokens.access_token, 'access_token'], [tokens.refresh_token!, 'refresh_token'], [tokens.refresh_token!, undefined]] as const) {
      expect((await revoke(other, token, hint)).status).toBe(200);
    }
    expect((await introspect(server, gateway, tokens.access_token)).body.active).toBe(true);
    expect(await userinfo(server, tokens.access_token)).toBe(200);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).toEqual(expect.any(String));
  });

  test('a gateway is no app: it cannot revoke an app’s token either', async () => {
    const { server, config, app, user, gateway } = world;
    const { tokens } = await connect(server, config, app, user);
    expect((await revoke(gateway, tokens.access_token)).status).toBeLessThan(500);
    expect((await introspect(server, gateway, tokens.access_token)).body.active).toBe(true);
  });
});
