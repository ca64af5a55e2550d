// Key rotation without a restart: `grantledger keys rotate` writes a new generation of keys to
// the database (here through the same function, as another instance would), and the running
// server picks it up within KEYS_RELOAD_INTERVAL: it publishes and signs with the new keys,
// while everything made with the old ones (cookies, ID tokens, opaque tokens) keeps working.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import { rotateKeys } from '../../src/oidc/keys.js';
import { authorize, connect, introspect } from '../helpers/oauth.js';
import { eventually } from '../helpers/wait.js';
import { startOAuthWorld, type OAuthWorld } from '../helpers/world.js';

let world: OAuthWorld;

beforeAll(async () => {
  world = await startOAuthWorld({ keysReloadInterval: 0.2 });
});
afterAll(() => world.server.close());

async function jwks(): Promise<JSONWebKeySet> {
  const res = await fetch(`${world.server.url}/jwks`);
  expect(res.status).toBe(200);
  return (await res.json()) as JSONWebKeySet;
}

function kidOf(idToken: string | undefined): string {
  expect(idToken).toEqual(expect.any(String));
  return String(decodeProtectedHeader(idToken!).kid);
}

test('a rotation reaches the running server: new keys sign, old ones still verify', async () => {
  const { server, app, user, gateway, config } = world;
  const before = await connect(server, config, app, user);
  const oldKid = kidOf(before.tokens.id_token);
  const published = (await jwks()).keys.map((k) => k.kid);
  expect(published).toContain(oldKid);

  const { kids } = await rotateKeys(server.db, server.running.services.kek);
  const newRsKid = kids.find((k) => k.startsWith('rs256-'))!;
  expect(newRsKid).not.toBe(oldKid);

  // Published ahead of the old key, which stays for verification.
  const after = await eventually(async () => {
    const set = await jwks();
    return set.keys.some((k) => k.kid === newRsKid) ? set : undefined;
  }, 5000, 'the new key in the JWKS');
  const order = after.keys.map((k) => k.kid);
  expect(order).toContain(oldKid);
  expect(order.indexOf(newRsKid)).toBeLessThan(order.indexOf(oldKid));
  const keySet = createLocalJWKSet(after);

  // The browser's session cookie, signed before the rotation, still signs the user in: the flow
  // needs no login (a wrong password would fail it) and no consent (remembered).
  const again = await authorize(server, config, app, { ...user, password: 'not the password' }, { agent: before.agent, expectConsent: false });
  const tokens = await oidc.authorizationCodeGrant(config, again.callbackUrl, { pkceCodeVerifier: again.codeVerifier, expectedState: again.state });
  expect(kidOf(tokens.id_token)).toBe(newRsKid);
  await expect(jwtVerify(tokens.id_token!, keySet, { issuer: config.serverMetadata().issuer, audience: app.clientId })).resolves.toBeDefined();

  // What was issued with the old keys keeps working.
  await expect(jwtVerify(before.tokens.id_token!, keySet, { issuer: config.serverMetadata().issuer, audience: app.clientId, currentDate: new Date() }))
    .resolves.toBeDefined();
  expect((await introspect(server, gateway, before.tokens.access_token)).body.active).toBe(true);
  const refreshed = await oidc.refreshTokenGrant(config, before.tokens.refresh_token!);
  expect(kidOf(refreshed.id_token)).toBe(newRsKid);
});
