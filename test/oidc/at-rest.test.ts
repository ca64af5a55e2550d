// "A copy of the database lets nobody in": after real flows, the bytes of the SQLite database
// file and of its write-ahead log contain none of the secrets those flows produced.
//
// This test always runs on a SQLite database of its own (whatever DATABASE_URL says): it needs
// a database file to copy. The same adapter and queries serve PostgreSQL, where the other suites run.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as oidc from 'openid-client';
import { loadKeys } from '../../src/oidc/keys.js';
import { sha256 } from '../../src/shared/crypto.js';
import { createToken } from '../../src/tokens/tokens.js';
import { signIn } from '../helpers/admin.js';
import { createSqliteTestDatabase, type TestDatabase } from '../helpers/db.js';
import { formField, introspect, tokenRequest, UserAgent } from '../helpers/oauth.js';
import type { TestServer } from '../helpers/server.js';
import { startOAuthWorld } from '../helpers/world.js';

let database: TestDatabase;
let server: TestServer;
/** name → value of every secret the flows produced. */
const secrets = new Map<string, string>();
/** Values that must be found: proof that the scan reads the data the flows wrote. */
const expectedPresent = new Map<string, string>();
/** The database as it was while a user was on the consent page. */
let midFlowCopy: { main: Buffer; wal: Buffer };

function keep(name: string, value: unknown): void {
  expect(typeof value).toBe('string');
  expect((value as string).length).toBeGreaterThanOrEqual(12);
  secrets.set(name, value as string);
}

beforeAll(async () => {
  database = await createSqliteTestDatabase();
  const world = await startOAuthWorld({}, { database, role: 'admin', app: { webhookUrl: 'https://hooks.example.com/grantledger' } });
  server = world.server;
  const { company, user: admin, app, gateway, config } = world;
  keep('user password', admin.password);
  keep('client secret', app.clientSecret);
  keep('webhook secret', app.webhookSecret);
  keep('gateway secret', gateway.clientSecret);

  // Authorization code + PKCE through the login and consent pages, walked step by step so the
  // database can be copied while the user sits on the consent page (a live Interaction row,
  // bound to a live Session).
  const agent = new UserAgent();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: app.redirectUri, scope: 'openid email offline_access schedules:read company_access', state, prompt: 'consent',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
  });
  let { res } = await agent.follow(await agent.get(authUrl.href), authUrl.href, server.url);
  let html = await res.text();
  const uidOf = (page: string) => /\/interaction\/([^/"]+)\//.exec(page)?.[1];
  expect(html).toContain('id="login"');
  res = await agent.postForm(`${server.url}/interaction/${uidOf(html)}/login`, { _csrf: formField(html, '_csrf'), email: admin.email, password: admin.password });
  ({ res } = await agent.follow(res, `${server.url}/interaction/${uidOf(html)}`, server.url));
  html = await res.text();
  expect(html).toContain('id="consent"');
  const uid = uidOf(html);
  keep('cookie _session (on the consent page)', agent.cookies.get('_session'));
  midFlowCopy = copyOfDatabase();
  res = await agent.postForm(`${server.url}/interaction/${uid}/confirm`, { _csrf: formField(html, '_csrf') });
  const { url: callback } = await agent.follow(res, `${server.url}/interaction/${uid}`, server.url);
  expect(callback.startsWith(app.redirectUri)).toBe(true);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: codeVerifier, expectedState: state });
  keep('authorization code', new URL(callback).searchParams.get('code'));
  keep('PKCE code verifier', codeVerifier);
  keep('access token', tokens.access_token);
  keep('refresh token', tokens.refresh_token);
  expectedPresent.set('SHA-256 of the access token', sha256(tokens.access_token));
  expectedPresent.set('SHA-256 of the authorization code', sha256(secrets.get('authorization code')!));
  expectedPresent.set('client id', app.clientId);
  // `_interaction` and `_interaction_resume` hold the interaction uid, which is no secret: it
  // is in every interaction URL (and so in access logs); the cookies are signed with keys that
  // are stored only encrypted. Every other cookie value is a secret.
  for (const [name, value] of agent.cookies) {
    if (!name.endsWith('.sig') && !name.startsWith('_interaction')) keep(`cookie ${name}`, value);
  }
  expect([...agent.cookies.keys()]).toEqual(expect.arrayContaining(['_session', 'gl.csrf']));

  // Refresh (rotation: the first refresh token is consumed, a new one issued).
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  keep('rotated access token', refreshed.access_token);
  keep('rotated refresh token', refreshed.refresh_token);
  expectedPresent.set('SHA-256 of the rotated refresh token', sha256(refreshed.refresh_token!));

  // Client credentials for the company the admin connected the app to.
  const cc = await tokenRequest(server, app, { grant_type: 'client_credentials', scope: 'schedules:read', company: company.guid });
  expect(cc.status).toBe(200);
  keep('client-credentials token', cc.body.access_token);
  expectedPresent.set('SHA-256 of the client-credentials token', sha256(String(cc.body.access_token)));

  // Personal access token and legacy API key.
  const pat = await createToken(server.db, admin.user, { kind: 'access_token', name: 'ci', scopes: ['schedules:read'], expiresAt: null });
  const key = await createToken(server.db, admin.user, { kind: 'api_key', name: 'legacy', scopes: ['schedules:read'], expiresAt: null });
  keep('personal access token', pat.token);
  keep('API key', key.token);
  expectedPresent.set('SHA-256 of the personal access token', sha256(pat.token));

  // Every token is live and used once (introspection may write last_used_at).
  for (const token of [refreshed.access_token, String(cc.body.access_token), pat.token, key.token]) {
    expect((await introspect(server, gateway, token)).body.active).toBe(true);
  }

  // A Developer Tools sign-in: its session cookie.
  const { agent: browser } = await signIn(server, admin);
  expect(browser.cookies.get('gl.admin')).toEqual(expect.any(String));
  keep('admin session cookie', browser.cookies.get('gl.admin'));

  // The server's own keys: only ever stored encrypted with SECRET_KEY (which is not stored).
  keep('SECRET_KEY', server.settings.secrets.secretKey);
  const keys = await loadKeys(server.db, server.running.services.kek);
  keys.cookieKeys.forEach((k, i) => keep(`cookie signing key ${i}`, k));
  for (const jwk of keys.jwks.keys) {
    for (const param of ['d', 'p', 'q', 'dp', 'dq', 'qi']) if (jwk[param]) keep(`private key ${String(jwk.kid)} ${param}`, jwk[param]);
  }
});

afterAll(async () => {
  await server.close();
  await database.drop();
});

function copyOfDatabase(): { main: Buffer; wal: Buffer } {
  const file = database.file!;
  const dir = mkdtempSync(join(tmpdir(), 'grantledger-copy-'));
  try {
    copyFileSync(file, join(dir, 'copy.sqlite'));
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, join(dir, 'copy.sqlite-wal'));
    const wal = existsSync(join(dir, 'copy.sqlite-wal')) ? readFileSync(join(dir, 'copy.sqlite-wal')) : Buffer.alloc(0);
    return { main: readFileSync(join(dir, 'copy.sqlite')), wal };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function leaks(bytes: Buffer): string[] {
  return [...secrets].filter(([, value]) => bytes.includes(Buffer.from(value, 'utf8'))).map(([name]) => name);
}

describe('secrets at rest (SQLite file and WAL)', () => {
  test('the flows produced the secrets this test looks for', () => {
    for (const name of [
      'authorization code', 'access token', 'refresh token', 'rotated refresh token', 'client-credentials token',
      'client secret', 'webhook secret', 'gateway secret', 'personal access token', 'API key', 'cookie _session',
      'cookie _session (on the consent page)', 'cookie gl.csrf',
      'admin session cookie', 'SECRET_KEY',
    ]) expect(secrets.has(name)).toBe(true);
  });

  test('a copy taken while a user is on the consent page holds no session id', () => {
    const all = Buffer.concat([midFlowCopy.main, midFlowCopy.wal]);
    const session = secrets.get('cookie _session (on the consent page)')!;
    // Control: the live Session row is in the copy, under the hash of its id.
    expect(all.includes(Buffer.from(sha256(session)))).toBe(true);
    expect(all.includes(Buffer.from(session))).toBe(false);
    expect(leaks(all).filter((name) => name.startsWith('cookie') || name.includes('password'))).toEqual([]);
  });

  test('the database file and its WAL, as they are, hold no usable secret', () => {
    const { main, wal } = copyOfDatabase();
    const all = Buffer.concat([main, wal]);
    // Control: the scan sees what the flows wrote (hashes and ids are there, in one file or the other).
    for (const [name, value] of expectedPresent) expect([name, all.includes(Buffer.from(value))]).toEqual([name, true]);
    expect(leaks(main)).toEqual([]);
    expect(leaks(wal)).toEqual([]);
  });

  test('after a checkpoint, the database file alone holds no usable secret', async () => {
    await server.db.run('PRAGMA wal_checkpoint(TRUNCATE)');
    const { main, wal } = copyOfDatabase();
    for (const [name, value] of expectedPresent) expect([name, main.includes(Buffer.from(value))]).toEqual([name, true]);
    expect(leaks(main)).toEqual([]);
    expect(leaks(wal)).toEqual([]);
  });
});
