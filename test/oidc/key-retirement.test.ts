// Key retirement and the secret key. Each rotation keeps the newest three generations of
// signing and cookie keys; the third rotation (a fourth generation) retires the first generation: gone from the
// database and from the running server's JWKS, so what it signed no longer verifies. A
// SECRET_KEY other than the one the keys were sealed with is refused with SecretKeyError — by
// loadKeys, by the server at start (nothing written), and by `src/main.ts` with a readable
// message and exit code 1. SQLite, or PostgreSQL with DATABASE_URL=postgres://….
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { loadKeys, loadSecretKey, rotateKeys, SecretKeyError } from '../../src/oidc/keys.js';
import { randomSecret } from '../../src/shared/crypto.js';
import { packageRoot } from '../../src/shared/paths.js';
import { startServer } from '../../src/server.js';
import { createLogger } from '../../src/shared/logger.js';
import { connect } from '../helpers/oauth.js';
import { freePort } from '../helpers/http.js';
import { testSettings } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';
import { startOAuthWorld, type OAuthWorld } from '../helpers/world.js';

let world: OAuthWorld;

beforeAll(async () => {
  world = await startOAuthWorld({ keysReloadInterval: 0.1 });
});
afterAll(() => world.server.close());

const kek = () => world.server.running.services.kek;

async function jwks(): Promise<JSONWebKeySet> {
  return (await (await fetch(`${world.server.url}/jwks`)).json()) as JSONWebKeySet;
}

async function storedKids(): Promise<string[]> {
  return (await world.server.db.all<{ kid: string }>('SELECT kid FROM keys ORDER BY kid')).map((r) => r.kid);
}

describe('retirement', () => {
  test('the third rotation (a fourth generation) retires the first one everywhere; what it signed stops verifying', async () => {
    const { server, app, user, config } = world;
    const first = await storedKids();
    expect(first).toHaveLength(3); // RS256, ES256, cookie
    const { tokens } = await connect(server, config, app, user);
    const oldKid = String(decodeProtectedHeader(tokens.id_token!).kid);
    expect(first).toContain(oldKid);

    for (let i = 1; i <= 2; i++) expect((await rotateKeys(server.db, kek())).retired).toEqual([]);
    expect(await storedKids()).toHaveLength(9);
    const third = await rotateKeys(server.db, kek());
    // Exactly the first generation, one key of each family.
    expect([...third.retired].sort()).toEqual([...first].sort());
    expect(third.kids).toHaveLength(9);
    const left = await storedKids();
    for (const kid of first) expect(left).not.toContain(kid);

    // The running server drops it from its JWKS at its next reload…
    const set = await eventually(async () => {
      const s = await jwks();
      return s.keys.some((k) => k.kid === oldKid) ? undefined : s;
    }, 5000, 'the retired key gone from the JWKS');
    expect(set.keys.map((k) => k.kid).sort()).toEqual(left.filter((k) => !k.startsWith('cookie-')).sort());
    // …so an ID token it signed no longer verifies against what the server publishes.
    await expect(jwtVerify(tokens.id_token!, createLocalJWKSet(set), { issuer: config.serverMetadata().issuer, audience: app.clientId }))
      .rejects.toThrow(/no applicable key|JWKSNoMatchingKey/i);
    // The newest keys still sign: a new flow works.
    const again = await connect(server, config, app, user);
    expect(left).toContain(String(decodeProtectedHeader(again.tokens.id_token!).kid));
  });
});

describe('a wrong SECRET_KEY', () => {
  test('loadKeys refuses it with SecretKeyError; the right key opens the same rows', async () => {
    const wrong = Buffer.from(randomSecret(32), 'base64url');
    await expect(loadKeys(world.server.db, wrong)).rejects.toBeInstanceOf(SecretKeyError);
    await expect(loadKeys(world.server.db, wrong)).rejects.toThrow(/another SECRET_KEY/);
    expect((await loadKeys(world.server.db, kek())).jwks.keys.length).toBeGreaterThan(0);
  });

  test('a SECRET_KEY_FILE that does not hold a key is refused with SecretKeyError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'grantledger-key-'));
    try {
      const file = join(dir, 'secret.key');
      for (const content of ['', 'short', `${randomSecret(32)}!`, 'x'.repeat(44)]) {
        writeFileSync(file, content);
        expect(() => loadSecretKey(undefined, file)).toThrow(SecretKeyError);
      }
      // A missing file is created once, with a key that loads the same next time.
      rmSync(file);
      const made = loadSecretKey(undefined, file);
      expect(made).toHaveLength(32);
      expect(loadSecretKey(undefined, file).equals(made)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a server started with it fails with SecretKeyError and writes no key', async () => {
    const before = await storedKids();
    const settings = await testSettings(await freePort(), { secrets: { secretKey: randomSecret(32) } });
    await expect(startServer(settings, { db: world.server.db, logger: createLogger('silent') })).rejects.toBeInstanceOf(SecretKeyError);
    expect(await storedKids()).toEqual(before);
  });

  test('src/main.ts says so and exits 1', async () => {
    const { url, schema } = world.server.database;
    const databaseUrl = schema ? `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}` : url;
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: packageRoot,
      env: {
        ...env, NODE_ENV: 'test', PORT: String(await freePort()), HOST: '127.0.0.1', DATABASE_URL: databaseUrl,
        SECRET_KEY: randomSecret(32), BOOTSTRAP: 'false', LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^grantledger: the stored keys were encrypted with another SECRET_KEY/m);
    expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });
});
