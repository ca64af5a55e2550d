// The operator CLI as an operator runs it: a child process on a fresh SQLite database (always
// SQLite: the CLI opens whatever DATABASE_URL names, and a file is what a process can share),
// with --json printing exactly one JSON object, and bad arguments failing with one line.
// Independent commands run in parallel: each process pays about 1.5 s of CPU to start, so the
// file runs 15 processes, no more.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { openDatabase, type Database } from '../src/db/database.js';
import { packageRoot } from '../src/shared/paths.js';
import { decrypt, sha256 } from '../src/shared/crypto.js';
import { loadSecretKey } from '../src/oidc/keys.js';
import { parseToken } from '../src/tokens/format.js';

interface Run {
  /** Exit code; -1 when the process was killed (see `signal`). */
  code: number;
  signal?: string;
  stdout: string;
  stderr: string;
}

let dir: string;
let env: NodeJS.ProcessEnv;

function cli(...args: string[]): Promise<Run> {
  return cliWith(env, ...args);
}

function cliWith(processEnv: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    // The timeout only guards against a hung process; a loaded CI machine can be slow.
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: packageRoot, env: processEnv, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, signal: err?.signal ?? undefined, stdout, stderr });
    });
  });
}

/** Exit 0, and stdout is exactly one JSON object (one line). */
function json(run: Run): Record<string, unknown> {
  expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 0, signal: undefined, stderr: '' });
  const lines = run.stdout.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  const value = JSON.parse(lines[0]!) as unknown;
  expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
  return value as Record<string, unknown>;
}

/** Non-zero exit, one line on stderr naming the problem. */
function failed(run: Run, pattern: RegExp): string {
  expect(run.code).not.toBe(0);
  const lines = run.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^grantledger: /);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const out: Record<string, Record<string, unknown>> = {};
const bad: Record<string, Run> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grantledger-cli-'));
  env = {
    PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test',
    DATABASE_URL: `sqlite:${join(dir, 'cli.sqlite')}`, SECRET_KEY_FILE: join(dir, 'secret.key'),
  };

  // 1. A fresh database.
  out.migrate = json(await cli('migrate', '--json'));

  // 2. Everything that needs only the schema, in parallel.
  const [company, confidential, publicClient, withWebhook, gateway, rotate, unknown, noName, badRole, badUri] = await Promise.all([
    cli('company', 'create', '--name', 'Acme Rota', '--json'),
    cli('client', 'create', '--name', 'Shifty', '--redirect-uri', 'https://shifty.example/cb', '--redirect-uri', 'http://localhost:8080/cb', '--json'),
    cli('client', 'create', '--name', 'Pocket', '--redirect-uri', 'com.example.pocket:/cb', '--public', '--json'),
    cli('client', 'create', '--name', 'Hooks', '--redirect-uri', 'https://hooks.example/cb', '--grant-type', 'authorization_code',
      '--grant-type', 'refresh_token', '--grant-type', 'client_credentials', '--webhook-url', 'https://hooks.example/events', '--json'),
    cli('gateway', 'create', '--name', 'V2 API', '--json'),
    cli('keys', 'rotate', '--json'),
    cliWith({ ...env, DATABASE_URL: `sqlite:${join(dir, 'untouched.sqlite')}` }, 'frobnicate', 'everything'),
    cli('company', 'create', '--json'),
    cli('user', 'set-role', '--email', 'nobody@example.com', '--role', 'boss'),
    cli('client', 'create', '--name', 'Evil', '--redirect-uri', 'http://evil.example/cb'),
  ]);
  Object.assign(out, {
    company: json(company), confidential: json(confidential), publicClient: json(publicClient), withWebhook: json(withWebhook),
    gateway: json(gateway), rotate: json(rotate),
  });
  Object.assign(bad, { unknown, noName, badRole, badUri });

  // 3. A user of that company, made admin, who creates an access token (which only an admin
  // may: so it also proves set-role took effect), then is deactivated.
  out.user = json(await cli(
    'user', 'create', '--company', String(out.company!.guid), '--email', 'Ada@Example.com', '--password', 'correct horse', '--role', 'manager', '--json',
  ));
  out.setRole = json(await cli('user', 'set-role', '--email', 'ada@example.com', '--role', 'admin', '--json'));
  out.token = json(await cli('access-token', 'create', '--email', 'ada@example.com', '--name', 'payroll sync', '--json'));
  out.deactivate = json(await cli('user', 'deactivate', '--email', 'ada@example.com', '--json'));
}, 240_000);

let db: Database;
beforeAll(async () => {
  db = await openDatabase({ url: env.DATABASE_URL! });
});
afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('grantledger --json', () => {
  test('migrate applies every migration once', async () => {
    expect(out.migrate!.applied).toEqual(expect.arrayContaining([expect.stringMatching(/^Core\d+$/)]));
    expect((out.migrate!.applied as string[]).length).toBeGreaterThanOrEqual(4);
    const done = await db.all<{ name: string }>('SELECT name FROM migrations');
    expect(done.map((m) => m.name).sort()).toEqual([...(out.migrate!.applied as string[])].sort());
  });

  test('company create → {id, guid, name}', async () => {
    expect(out.company).toEqual({ id: expect.any(Number), guid: expect.stringMatching(GUID), name: 'Acme Rota' });
    expect(await db.get('SELECT name FROM companies WHERE guid = ?', [out.company!.guid as string])).toEqual({ name: 'Acme Rota' });
  });

  test('user create → the user, e-mail normalised', async () => {
    expect(out.user).toEqual({ id: expect.stringMatching(GUID), email: 'ada@example.com', role: 'manager', company_guid: out.company!.guid });
    const row = await db.get<{ password_hash: string }>('SELECT password_hash FROM users WHERE guid = ?', [out.user!.id as string]);
    expect(row?.password_hash).toMatch(/^scrypt\$/);
    expect(row?.password_hash).not.toContain('correct horse');
  });

  test('user set-role → {id, email, role}', async () => {
    expect(out.setRole).toEqual({ id: out.user!.id, email: 'ada@example.com', role: 'admin' });
    expect(await db.get('SELECT role FROM users WHERE guid = ?', [out.user!.id as string])).toEqual({ role: 'admin' });
  });

  test('user deactivate → {id, email, active: false, revoked_tokens}', async () => {
    expect(out.deactivate).toEqual({ id: out.user!.id, email: 'ada@example.com', active: false, revoked_tokens: expect.any(Number) });
    expect(await db.get('SELECT active FROM users WHERE guid = ?', [out.user!.id as string])).toEqual({ active: 0 });
  });

  test('client create (confidential) → {client_id, client_secret}, the secret stored as SHA-256 only', async () => {
    expect(out.confidential).toEqual({ client_id: expect.stringMatching(GUID), client_secret: expect.stringMatching(/^glcs_/) });
    const row = await db.get<{ secret_hash: string; metadata: string; kind: string }>(
      'SELECT secret_hash, metadata, kind FROM clients WHERE client_id = ?', [out.confidential!.client_id as string],
    );
    expect(row?.kind).toBe('app');
    expect(row?.secret_hash).toBe(sha256(out.confidential!.client_secret as string));
    expect(JSON.parse(row!.metadata)).toMatchObject({
      client_name: 'Shifty', redirect_uris: ['https://shifty.example/cb', 'http://localhost:8080/cb'], token_endpoint_auth_method: 'client_secret_basic',
    });
  });

  test('client create --public → {client_id} without a secret', async () => {
    expect(out.publicClient).toEqual({ client_id: expect.stringMatching(GUID) });
    const row = await db.get<{ secret_hash: string | null; metadata: string }>(
      'SELECT secret_hash, metadata FROM clients WHERE client_id = ?', [out.publicClient!.client_id as string],
    );
    expect(row?.secret_hash).toBeNull();
    expect(JSON.parse(row!.metadata)).toMatchObject({ token_endpoint_auth_method: 'none' });
  });

  test('client create --webhook-url → {client_id, client_secret, webhook_secret}, the webhook secret encrypted', async () => {
    expect(out.withWebhook).toEqual({
      client_id: expect.stringMatching(GUID), client_secret: expect.stringMatching(/^glcs_/), webhook_secret: expect.stringMatching(/^whsec_/),
    });
    const row = await db.get<{ webhook_url: string; webhook_secret: string; metadata: string }>(
      'SELECT webhook_url, webhook_secret, metadata FROM clients WHERE client_id = ?', [out.withWebhook!.client_id as string],
    );
    expect(row?.webhook_url).toBe('https://hooks.example/events');
    expect(row?.webhook_secret).not.toContain(out.withWebhook!.webhook_secret as string);
    // Sealed with the key-encryption key the CLI generated into SECRET_KEY_FILE.
    expect(statSync(env.SECRET_KEY_FILE!).mode & 0o077).toBe(0);
    expect(decrypt(loadSecretKey(undefined, env.SECRET_KEY_FILE!), row!.webhook_secret)).toBe(out.withWebhook!.webhook_secret);
    expect(JSON.parse(row!.metadata).grant_types).toEqual(['authorization_code', 'refresh_token', 'client_credentials']);
  });

  test('gateway create → {client_id, client_secret}', async () => {
    expect(out.gateway).toEqual({ client_id: expect.stringMatching(GUID), client_secret: expect.stringMatching(/^glcs_/) });
    const row = await db.get<{ kind: string; secret_hash: string }>('SELECT kind, secret_hash FROM clients WHERE client_id = ?', [out.gateway!.client_id as string]);
    expect(row).toEqual({ kind: 'gateway', secret_hash: sha256(out.gateway!.client_secret as string) });
  });

  test('access-token create → {id, token, scopes}, the token shown once and stored as a hash', async () => {
    expect(out.token).toEqual({ id: expect.stringMatching(GUID), token: expect.stringMatching(/^glpat_/), scopes: expect.any(Array) });
    expect(parseToken(out.token!.token as string)).toBe('access_token');
    const row = await db.get<{ token_hash: string; name: string }>('SELECT token_hash, name FROM access_tokens WHERE id = ?', [out.token!.id as string]);
    expect(row).toEqual({ token_hash: sha256(out.token!.token as string), name: 'payroll sync' });
  });

  test('keys rotate → {keys, retired}: a new generation first, the old kept', async () => {
    const keys = out.rotate!.keys as string[];
    expect(out.rotate!.retired).toEqual([]);
    // The first generation (created on demand) and the new one: RS256, ES256 and a cookie key each.
    expect(keys).toHaveLength(6);
    const rows = await db.all<{ kid: string }>('SELECT kid FROM keys ORDER BY created_at DESC, kid');
    expect(rows.map((r) => r.kid).slice(0, 3).sort()).toEqual(keys.slice(0, 3).sort());
    for (const family of ['rs256-', 'es256-', 'cookie-']) expect(keys.filter((k) => k.startsWith(family))).toHaveLength(2);
  });
});

describe('bad arguments', () => {
  test('an unknown command', () => {
    failed(bad.unknown!, /unknown command "frobnicate everything"/);
    expect(existsSync(join(dir, 'untouched.sqlite'))).toBe(false);
  });

  test('a missing --name', () => {
    failed(bad.noName!, /missing --name/);
  });

  test('a bad --role', () => {
    failed(bad.badRole!, /--role must be one of admin, manager, employee/);
  });

  test('a bad --redirect-uri', () => {
    failed(bad.badUri!, /redirect/i);
  });

  test('with --json, a failure is one JSON object on stdout too', () => {
    expect(bad.noName!.code).toBe(2);
    expect(JSON.parse(bad.noName!.stdout.trim())).toEqual({ error: 'missing --name' });
  });

  test('nothing was written by the failed commands', async () => {
    expect(await db.all('SELECT name FROM clients WHERE name = ?', ['Evil'])).toEqual([]);
    expect(await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM companies')).toEqual({ n: 1 });
  });
});
