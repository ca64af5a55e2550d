// Single use of authorization codes and rotated refresh tokens, sequentially and under 20
// parallel requests, against the real server: every replay revokes the grant, so the tokens
// issued from it — including the newest ones — stop working.
//
// On SQLite one process serialises the statements, so most parallel losers see the code already
// consumed; on PostgreSQL they really race to the adapter's conditional update. Both paths must
// give one winner; test/db/adapter.test.ts pins the conditional update itself on both databases.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type * as oidc from 'openid-client';
import { authorize, connect, introspect, tokenRequest } from '../helpers/oauth.js';
import type { TestApp, TestServer, TestUser } from '../helpers/server.js';
import { startOAuthWorld } from '../helpers/world.js';

let server: TestServer;
let app: TestApp;
let user: TestUser;
let gateway: { clientId: string; clientSecret: string };
let config: oidc.Configuration;

beforeAll(async () => {
  ({ server, app, user, gateway, config } = await startOAuthWorld());
});
afterAll(() => server.close());

/** A fresh code (consent is remembered after the first run) and what redeeming it needs. */
async function freshCode() {
  const a = await authorize(server, config, app, user);
  const code = a.callbackUrl.searchParams.get('code');
  expect(code).toEqual(expect.any(String));
  return {
    grant_type: 'authorization_code', code: code!, redirect_uri: app.redirectUri, code_verifier: a.codeVerifier,
  };
}

const refreshParams = (refreshToken: string) => ({ grant_type: 'refresh_token', refresh_token: refreshToken });

async function expectActive(token: string) {
  expect((await introspect(server, gateway, token)).body).toMatchObject({ active: true, client_id: app.clientId });
}

async function expectDead(tokens: { access_token?: unknown; refresh_token?: unknown }) {
  expect((await introspect(server, gateway, String(tokens.access_token))).body).toEqual({ active: false });
  const refresh = await tokenRequest(server, app, refreshParams(String(tokens.refresh_token)));
  expect(refresh.status).toBe(400);
  expect(refresh.body.error).toBe('invalid_grant');
}

describe('refresh-token reuse', () => {
  test('presenting a rotated refresh token again revokes the grant: the newer tokens die too', async () => {
    const { tokens } = await connect(server, config, app, user);
    const first = await tokenRequest(server, app, refreshParams(tokens.refresh_token!));
    expect(first.status).toBe(200);
    const newer = first.body;
    expect(newer.refresh_token).toEqual(expect.any(String));
    expect(newer.refresh_token).not.toBe(tokens.refresh_token);
    await expectActive(String(newer.access_token));

    // Reuse of the spent refresh token.
    const reuse = await tokenRequest(server, app, refreshParams(tokens.refresh_token!));
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    expect(reuse.body.access_token).toBeUndefined();

    await expectDead(newer);
    expect((await introspect(server, gateway, tokens.access_token)).body).toEqual({ active: false });
    const info = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${String(newer.access_token)}` } });
    expect(info.status).toBe(401);
  });
});

describe('authorization-code replay', () => {
  test('a second redemption gives invalid_grant and kills the tokens of the first', async () => {
    const params = await freshCode();
    const first = await tokenRequest(server, app, params);
    expect(first.status).toBe(200);
    await expectActive(String(first.body.access_token));

    const replay = await tokenRequest(server, app, params);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(replay.body.access_token).toBeUndefined();

    await expectDead(first.body);
  });

  test('20 parallel redemptions of one code: exactly one success, the rest invalid_grant', async () => {
    const params = await freshCode();
    const results = await Promise.all(Array.from({ length: 20 }, () => tokenRequest(server, app, params)));
    const ok = results.filter((r) => r.status === 200);
    expect(results.map((r) => r.status).filter((s) => s === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400 && r.body.error === 'invalid_grant')).toHaveLength(19);
    expect(ok[0]!.body.access_token).toEqual(expect.any(String));

    // Every loser is a replay — whether it saw the code already consumed or lost the adapter's
    // conditional update (our adapter treats a lost race exactly like a replay) — so the grant
    // is revoked and even the winner's tokens are dead once all the requests have returned.
    await expectDead(ok[0]!.body);
  });
});

describe('parallel refresh', () => {
  test('20 parallel refreshes of one refresh token give at most one success', async () => {
    const { tokens } = await connect(server, config, app, user);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => tokenRequest(server, app, refreshParams(tokens.refresh_token!))),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length).toBeLessThanOrEqual(1);
    expect(results.filter((r) => r.status === 400 && r.body.error === 'invalid_grant')).toHaveLength(20 - ok.length);
    // At least 19 redemptions were replays: the grant is gone, and with it every token of the chain.
    expect((await introspect(server, gateway, tokens.access_token)).body).toEqual({ active: false });
    for (const r of ok) await expectDead(r.body);
  });

  test('a refresh that wins alone keeps working (the race, not refresh itself, revokes)', async () => {
    // Guards the tests above against passing vacuously because refresh always fails.
    const { tokens } = await connect(server, config, app, user);
    const r1 = await tokenRequest(server, app, refreshParams(tokens.refresh_token!));
    expect(r1.status).toBe(200);
    const r2 = await tokenRequest(server, app, refreshParams(String(r1.body.refresh_token)));
    expect(r2.status).toBe(200);
    await expectActive(String(r2.body.access_token));
  });
});
