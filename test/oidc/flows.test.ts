// The standard flows with openid-client as the relying party, against the real server.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as oidc from 'openid-client';
import { authorize, connect, introspect, rpConfig } from '../helpers/oauth.js';
import { makeApp, makeUser, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { startOAuthWorld } from '../helpers/world.js';

let server: TestServer;
let app: TestApp;
let user: TestUser;
let gateway: { clientId: string; clientSecret: string };
let config: oidc.Configuration;
let companyGuid: string;

beforeAll(async () => {
  ({ server, app, user, gateway, config, companyGuid } = await startOAuthWorld());
});
afterAll(() => server.close());

describe('OAuth and OpenID Connect flows', () => {
  test('discovery names every endpoint and requires S256', () => {
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(server.url.replace('localhost', '127.0.0.1'));
    for (const key of ['authorization_endpoint', 'token_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint'] as const) {
      expect(meta[key]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    }
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.scopes_supported).toEqual(expect.arrayContaining(['openid', 'schedules:read', 'timepunches:write']));
  });

  test('authorization code + PKCE through login and consent, then userinfo, refresh, introspection and revocation', async () => {
    const first = await connect(server, config, app, user);
    expect(first.consentShown).toBe(true);
    const { tokens } = first;
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.claims()?.sub).toBe(user.user.guid);

    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.user.guid);
    expect(info).toMatchObject({ sub: user.user.guid, email: user.email });

    const seen = await introspect(server, gateway, tokens.access_token);
    expect(seen.body).toMatchObject({
      active: true, client_id: app.clientId, sub: user.user.guid, company_guid: companyGuid, auth_type: 'oauth',
    });
    expect(String(seen.body.scope).split(' ')).toEqual(expect.arrayContaining(['openid', 'schedules:read']));

    // Refresh rotates: a new refresh token, and the old one is spent.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeDefined();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await introspect(server, gateway, refreshed.access_token)).body.active).toBe(true);

    // Consent is remembered: a second authorization goes straight back to the app.
    const again = await authorize(server, config, app, user, { expectConsent: false });
    expect(again.consentShown).toBe(false);

    // The app revokes its access token (RFC 7009).
    await oidc.tokenRevocation(config, refreshed.access_token);
    expect((await introspect(server, gateway, refreshed.access_token)).body).toEqual({ active: false });
  });

  test('client credentials for a connected company, introspected by a gateway', async () => {
    const admin = await makeUser(server.db, companyGuid, 'admin');
    const ccApp = await makeApp(server);
    const ccConfig = await rpConfig(server, ccApp);
    // Not connected yet: refused.
    await expect(oidc.clientCredentialsGrant(ccConfig, { scope: 'schedules:read', company: companyGuid }))
      .rejects.toMatchObject({ error: 'unauthorized_client' });
    // Without a company: refused with a clear message.
    await expect(oidc.clientCredentialsGrant(ccConfig, { scope: 'schedules:read' }))
      .rejects.toMatchObject({ error: 'invalid_request' });

    // Connected by an admin without company_access: still no company-wide access.
    await connect(server, ccConfig, ccApp, admin, { scope: 'openid schedules:read' });
    await expect(oidc.clientCredentialsGrant(ccConfig, { scope: 'schedules:read', company: companyGuid }))
      .rejects.toMatchObject({ error: 'unauthorized_client' });
    await connect(server, ccConfig, ccApp, admin, { scope: 'openid schedules:read company_access' });
    const cc = await oidc.clientCredentialsGrant(ccConfig, { scope: 'schedules:read', company: companyGuid });
    const seen = await introspect(server, gateway, cc.access_token);
    expect(seen.body).toMatchObject({ active: true, client_id: ccApp.clientId, company_guid: companyGuid, auth_type: 'oauth', scope: 'schedules:read' });
    expect(seen.body.sub).toBeUndefined();
  });
});
