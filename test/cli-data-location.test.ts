// Where the data lives, as an operator meets it: DATA_DIR (default: the installation's data/,
// whatever the current directory) holds the default SQLite database and the secret key; the CLI
// run from another directory uses the same database, or refuses with one line saying where it
// looked — only `migrate` creates one; the server says which database it serves, and every
// start-up failure is one line without a stack.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { loadSettings, dataDir } from '../src/config.js';
import { describeDatabase } from '../src/db/database.js';
import { packageRoot } from '../src/shared/paths.js';
import { baseEnv, emptyDatabase, jsonOf, runCli, runServer, type EmptyDatabase, type Run } from './helpers/cli.js';
import { usingPostgres } from './helpers/db.js';

const STEP = 300_000;
let dir: string;
let elsewhere: string;

/** Exit 1, one line on stderr (besides oidc-provider's warning on Node 20), no stack. */
function oneLine(run: Run, pattern: RegExp): void {
  expect(run.code).toBe(1);
  const lines = run.stderr.split('\n').filter((l) => l && !l.startsWith('oidc-provider WARNING: Unsupported runtime'));
  expect(lines).toEqual([expect.stringMatching(/^grantledger: /)]);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/^\s+at /m);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'grantledger-data-'));
  elsewhere = join(dir, 'somewhere', 'else');
  mkdirSync(elsewhere, { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the settings', () => {
  test('by default the database and the secret key are under the installation’s data/, whatever the current directory', async () => {
    const s = await loadSettings({}, { NODE_ENV: 'test' });
    expect(dataDir(s)).toBe(join(packageRoot, 'data'));
    expect(s.database.url).toBe(`sqlite:${join(packageRoot, 'data', 'grantledger.sqlite')}`);
    expect(s.secrets.secretKeyFile).toBe(join(packageRoot, 'data', 'secret.key'));
  });

  test('DATA_DIR moves both; DATABASE_URL and SECRET_KEY_FILE still win', async () => {
    const s = await loadSettings({}, { NODE_ENV: 'test', DATA_DIR: '/srv/gl' });
    expect([dataDir(s), s.database.url, s.secrets.secretKeyFile]).toEqual(['/srv/gl', 'sqlite:/srv/gl/grantledger.sqlite', '/srv/gl/secret.key']);
    const t = await loadSettings({}, { NODE_ENV: 'test', DATA_DIR: '/srv/gl', DATABASE_URL: 'sqlite:/var/x.sqlite', SECRET_KEY_FILE: '/etc/gl.key' });
    expect([t.database.url, t.secrets.secretKeyFile]).toEqual(['sqlite:/var/x.sqlite', '/etc/gl.key']);
  });

  test('a database is named for people without its password', () => {
    expect(describeDatabase('postgres://gl:s3cret@db.example:5432/gl')).toBe('postgres://gl:***@db.example:5432/gl');
    expect(describeDatabase('sqlite:/srv/gl/x.sqlite')).toBe('/srv/gl/x.sqlite');
  });
});

describe('the CLI from another directory', () => {
  let data: string;
  let db: EmptyDatabase;
  let env: NodeJS.ProcessEnv;
  const r: Record<string, Run> = {};

  beforeAll(async () => {
    data = join(dir, 'data');
    db = await emptyDatabase(join(dir, 'nowhere-yet'));
    // SQLite: the database follows DATA_DIR alone; PostgreSQL: DATABASE_URL names it, DATA_DIR keeps the key.
    env = baseEnv({ DATA_DIR: data, ...(usingPostgres ? { DATABASE_URL: db.url } : {}) });
    [r.before, r.migrateOnly] = await Promise.all([
      runCli(env, ['company', 'list'], elsewhere),
      runCli(baseEnv({ DATA_DIR: join(dir, 'missing') }), ['client', 'create', '--name', 'Lost', '--redirect-uri', 'https://lost.example/cb'], elsewhere),
    ]);
    r.migrate = await runCli(env, ['migrate', '--json']);
    r.create = await runCli(env, ['company', 'create', '--name', 'Acme', '--json'], elsewhere);
    r.list = await runCli(env, ['company', 'list', '--json'], '/');
  }, STEP);
  afterAll(() => db.drop());

  test('with no database there, a command fails with one line saying where it looked and what to run, and creates nothing', () => {
    oneLine(r.before!, /no (grantledger )?database at .*; run "grantledger migrate" to create it/);
    if (!usingPostgres) expect(r.before!.stderr).toContain(join(data, 'grantledger.sqlite'));
    oneLine(r.migrateOnly!, new RegExp(`no database at ${join(dir, 'missing', 'grantledger.sqlite')}`));
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  test('migrate creates the database and the secret key under DATA_DIR', () => {
    expect(jsonOf(r.migrate!).applied).toEqual(expect.arrayContaining([expect.stringMatching(/^Core/)]));
    expect(existsSync(join(data, 'secret.key'))).toBe(true);
    if (!usingPostgres) expect(existsSync(join(data, 'grantledger.sqlite'))).toBe(true);
  });

  test('a company created from one directory is listed from another', () => {
    const created = jsonOf(r.create!);
    expect(jsonOf(r.list!).data).toEqual([expect.objectContaining({ guid: created.guid, name: 'Acme' })]);
    expect(existsSync(join(elsewhere, 'data'))).toBe(false);
  });
});

describe('the server', () => {
  test('says which database it serves', async () => {
    const data = join(dir, 'served');
    const run = await runServer(baseEnv({ DATA_DIR: data, PORT: '0', LOG_LEVEL: 'info' }), elsewhere, /grantledger listening"}\n/);
    expect(run.stdout).toMatch(new RegExp(`"database":"${join(data, 'grantledger.sqlite')}".*"msg":"grantledger listening"`));
    expect(existsSync(join(data, 'grantledger.sqlite'))).toBe(true);
  }, STEP);

  test('every start-up failure is one line, never a stack, and creates nothing', async () => {
    const file = join(dir, 'a-folder.sqlite');
    mkdirSync(file);
    const env = (extra: NodeJS.ProcessEnv) => baseEnv({ DATA_DIR: join(dir, 'unused'), PORT: '0', ...extra });
    const [noFolder, aFolder, noRole, badSetting] = await Promise.all([
      runServer(env({ DATABASE_URL: `sqlite:${join(dir, 'nonexistent', 'dir', 'x.sqlite')}` }), elsewhere),
      runServer(env({ DATABASE_URL: `sqlite:${file}` }), elsewhere),
      runServer(env({ DATABASE_URL: 'postgres://no_such_role_gl@127.0.0.1/test' }), elsewhere),
      runServer(env({ DATABASE_URL: 'mysql://x' }), elsewhere),
    ]);
    oneLine(noFolder, /cannot open the SQLite database .*x\.sqlite: the folder .*nonexistent\/dir does not exist/);
    expect(existsSync(join(dir, 'nonexistent'))).toBe(false);
    oneLine(aFolder, /cannot open the SQLite database .*a-folder\.sqlite: it is a folder/);
    oneLine(noRole, /cannot reach the database postgres:\/\/no_such_role_gl@127\.0\.0\.1\/test: role "no_such_role_gl" does not exist/);
    oneLine(badSetting, /invalid setting database\.url \(DATABASE_URL\)/);
  }, STEP);
});
