// Settings: the documented defaults load and validate; an invalid value stops the start with
// one line naming the setting (its environment variable).
import { join } from 'node:path';
import { packageRoot } from '../src/shared/paths.js';
import { describe, expect, test } from '@jest/globals';
import { loadSettings, SettingsError } from '../src/config.js';

/** loadSettings with only these environment variables (NODE_ENV=test loads config/test.js). */
const load = (env: Record<string, string> = {}) => loadSettings({}, { NODE_ENV: 'development', ...env });

async function failure(env: Record<string, string>): Promise<SettingsError> {
  const err = await load(env).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SettingsError);
  return err as SettingsError;
}

describe('loadSettings', () => {
  test('the defaults are valid and as documented', async () => {
    const s = await load();
    expect(s.server.port).toBe(3000);
    expect(s.server.issuer).toBe('http://localhost:3000');
    expect(s.server.trustProxy).toBe(0);
    expect(s.database.url).toBe(`sqlite:${join(packageRoot, 'data', 'grantledger.sqlite')}`); // the installation's data/, whatever the cwd
    expect(s.database.migrateOnStart).toBe(true);
    expect(s.bootstrap).toBe(true);
    expect(s.tokens.grantTtl).toBeGreaterThanOrEqual(s.tokens.refreshTokenTtl);
    expect(s.tokens.authorizationCodeTtl).toBeLessThanOrEqual(600);
    expect(s.secrets.secretKey).toBeUndefined();
  });

  test('environment variables override the files', async () => {
    const s = await load({
      PORT: '8080', ISSUER: 'https://auth.example.com/', DATABASE_URL: 'postgres://u:p@db/grantledger',
      TRUST_PROXY: 'true', BOOTSTRAP: 'false', REFRESH_TOKEN_TTL: '100', GRANT_TTL: '100',
    });
    expect(s.server.port).toBe(8080);
    expect(s.server.issuer).toBe('https://auth.example.com'); // trailing slash trimmed
    expect(s.database.url).toBe('postgres://u:p@db/grantledger');
    expect(s.server.trustProxy).toBe(1);
    expect(s.bootstrap).toBe(false);
    expect(s.tokens.refreshTokenTtl).toBe(100);
  });

  test('"false" and "0" are false (not coerced to true)', async () => {
    expect((await load({ MIGRATE_ON_START: 'false' })).database.migrateOnStart).toBe(false);
    expect((await load({ MIGRATE_ON_START: '0' })).database.migrateOnStart).toBe(false);
    expect((await load({ TRUST_PROXY: 'FALSE' })).server.trustProxy).toBe(0);
    expect((await load({ TRUST_PROXY: '2' })).server.trustProxy).toBe(2);
  });

  test('an empty variable means "unset"', async () => {
    expect((await load({ PORT: '' })).server.port).toBe(3000);
  });

  test('NODE_ENV=test loads config/test.js on top of the defaults', async () => {
    const s = await loadSettings({}, { NODE_ENV: 'test' });
    expect(s.bootstrap).toBe(false);
    expect(s.logLevel).toBe('silent');
  });

  test('one load never leaks into the next (the config modules are not mutated)', async () => {
    expect((await load({ PORT: '8080', DATABASE_URL: 'postgres://x/y' })).server.port).toBe(8080);
    await failure({ PORT: '70000' });
    const s = await load();
    expect(s.server.port).toBe(3000);
    expect(s.database.url).toBe(`sqlite:${join(packageRoot, 'data', 'grantledger.sqlite')}`); // the installation's data/, whatever the cwd
  });

  test('programmatic overrides win over the environment', async () => {
    const s = await loadSettings({ server: { port: 4000 } }, { NODE_ENV: 'development', PORT: '5000' });
    expect(s.server.port).toBe(4000);
  });

  test.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['DATABASE_URL', { DATABASE_URL: 'sqlite:' }],
    ['GRANT_TTL', { GRANT_TTL: '60', REFRESH_TOKEN_TTL: '3600' }],
    ['BOOTSTRAP', { BOOTSTRAP: 'maybe' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'yes' }],
    ['ISSUER', { ISSUER: 'ftp://auth.example.com' }],
    ['ISSUER', { ISSUER: 'not a url' }],
    ['SECRET_KEY', { SECRET_KEY: 'too-short' }],
    ['AUTHORIZATION_CODE_TTL', { AUTHORIZATION_CODE_TTL: '3600' }],
    ['ACCESS_TOKEN_TTL', { ACCESS_TOKEN_TTL: '-5' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['MAX_BODY_BYTES', { MAX_BODY_BYTES: '10' }],
  ])('an invalid %s stops the start with one line naming it', async (name, env) => {
    const err = await failure(env);
    expect(err.message).toContain(name);
    expect(err.message).not.toContain('\n');
    expect(err.message.length).toBeLessThan(300);
    expect(err.message).toMatch(/^invalid setting /);
  });

  test('the message says what is expected', async () => {
    expect((await failure({ DATABASE_URL: 'mysql://x' })).message).toMatch(/sqlite:<path> or postgres:\/\//);
    expect((await failure({ BOOTSTRAP: 'maybe' })).message).toMatch(/true or false/);
    expect((await failure({ GRANT_TTL: '60', REFRESH_TOKEN_TTL: '3600' })).message).toMatch(/REFRESH_TOKEN_TTL|refreshTokenTtl/);
  });
});
