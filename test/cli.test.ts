// The operator CLI as an operator runs it: a child process on a fresh database — a SQLite file,
// or with DATABASE_URL=postgres://… a schema of its own that the child reaches through a
// search_path in its URL — with --json printing exactly one JSON object, and bad arguments
// failing with one line and exit code 2, failed operations with exit code 1.
// Independent commands run in parallel, a few processes at a time: each pays about a second
// of CPU to start, and the machine is shared.
import { defaultClientScopes } from '../src/authz/policy.js';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { openDatabase, type Database } from '../src/db/database.js';
import { packageRoot } from '../src/shared/paths.js';
import { decrypt, randomSecret, sha256, verifyPassword } from '../src/shared/crypto.js';
import { loadSecretKey } from '../src/oidc/keys.js';
import { TOKEN_SCOPES } from '../src/oidc/scopes.js';
import { parseToken } from '../src/tokens/format.js';
import { usingPostgres } from './helpers/db.js';

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

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
// The timeout only guards against a hung process; a loaded CI machine can be slow.
const TIMEOUT = 240_000;
/** Long enough for a few CLI processes on a loaded machine. */
const STEP = 600_000;

// At most this many CLI processes at once: more only share the same cores, and the timeout
// of each would then measure the others' work.
const SLOTS = 4;
let running = 0;
const waiting: Array<() => void> = [];

async function inSlot<T>(start: () => Promise<T>): Promise<T> {
  if (running >= SLOTS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await start();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function cliWith(processEnv: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  return inSlot(() => new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { cwd: packageRoot, env: processEnv, timeout: TIMEOUT }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, signal: err?.signal ?? undefined, stdout, stderr });
    });
  }));
}

function collect(child: ReturnType<typeof spawn>, onStdout?: (all: string) => void): Promise<Run> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout);
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal: signal ?? undefined, stdout, stderr });
    });
  });
}

/** The CLI with `input` as its whole stdin (a pipe, not a terminal). */
function cliWithStdin(processEnv: NodeJS.ProcessEnv, input: string, ...args: string[]): Promise<Run> {
  return inSlot(() => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: packageRoot, env: processEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end(input);
    return collect(child);
  });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The CLI on a terminal: util-linux `script` gives it a pseudo-terminal, and each answer is
 * typed only once its prompt is shown (typed earlier, the terminal itself would echo it). The
 * terminal's output (stdout and stderr of the CLI, and any echo) arrives as `stdout`.
 */
function cliOnTerminal(processEnv: NodeJS.ProcessEnv, answers: Array<[prompt: string, answer: string]>, ...args: string[]): Promise<Run> {
  const command = [process.execPath, ...CLI, ...args].map(shellQuote).join(' ');
  return inSlot(() => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: packageRoot, env: processEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let next = 0;
    let seen = 0;
    return collect(child, (all) => {
      const pending = answers[next];
      if (!pending) return;
      const at = all.indexOf(pending[0], seen);
      if (at < 0) return;
      seen = at + pending[0].length;
      next++;
      child.stdin!.write(`${pending[1]}\r`);
    });
  });
}

/** A fresh, empty database: its URL for the CLI, and a handle for the test once the CLI made it. */
interface Fresh {
  url: string;
  open(): Promise<Database>;
  drop(): Promise<void>;
}

async function freshDatabase(name: string): Promise<Fresh> {
  if (!usingPostgres) {
    const file = join(dir, `${name}.sqlite`);
    return { url: `sqlite:${file}`, open: () => openDatabase({ url: `sqlite:${file}` }), drop: async () => undefined };
  }
  const base = process.env.DATABASE_URL!;
  const schema = `gl_cli_${randomSecret(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  return {
    url: `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    open: () => openDatabase({ url: base, schema, poolSize: 2 }),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
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

let main: Fresh;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grantledger-cli-'));
  main = await freshDatabase('cli');
  env = {
    PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test',
    DATABASE_URL: main.url, SECRET_KEY_FILE: join(dir, 'secret.key'),
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
}, STEP);

let db: Database;
beforeAll(async () => {
  db = await main.open();
});
afterAll(async () => {
  await db?.close();
  await main?.drop();
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
    expect(out.deactivate).toEqual({ id: out.user!.id, email: 'ada@example.com', active: false, revoked_tokens: 0 }); // she had authorized no app: nothing to revoke
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
    expect(out.token).toEqual({ id: expect.stringMatching(GUID), token: expect.stringMatching(/^grantledger_pat_/), scopes: expect.any(Array) });
    expect(parseToken(out.token!.token as string)).toBe('access_token');
    const row = await db.get<{ token_hash: string; name: string }>('SELECT token_hash, name FROM access_tokens WHERE id = ?', [out.token!.id as string]);
    expect(row).toEqual({ token_hash: sha256(out.token!.token as string), name: 'payroll sync' });
  });

  test('access-token create within the operator\'s TOKEN_MAX_LIFETIME_DAYS: no expiry or a later one is refused, nothing stored', async () => {
    const limited = { ...env, TOKEN_MAX_LIFETIME_DAYS: '30' };
    expect((await cli('user', 'create', '--company', String(out.company!.guid), '--email', 'lim@example.com', '--password', 'correct horse', '--role', 'admin')).code).toBe(0);
    const count = async () => Number((await db.get<{ n: number | string }>("SELECT COUNT(*) AS n FROM access_tokens WHERE name = 'limited'"))!.n);
    const none = await cliWith(limited, 'access-token', 'create', '--email', 'lim@example.com', '--name', 'limited');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/expires_at: is required: tokens expire within 30 days/);
    const far = new Date(Date.now() + 60 * 24 * 3600 * 1000).toISOString().slice(0, 10);
    const late = await cliWith(limited, 'access-token', 'create', '--email', 'lim@example.com', '--name', 'limited', '--expires-at', far);
    expect(late.stderr).toMatch(/within 30 days/);
    expect(await count()).toBe(0);
    const near = new Date(Date.now() + 10 * 24 * 3600 * 1000).toISOString().slice(0, 10);
    const ok = await cliWith(limited, 'access-token', 'create', '--email', 'lim@example.com', '--name', 'limited', '--expires-at', near, '--json');
    expect(ok.code).toBe(0);
    expect(await count()).toBe(1);
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

/** Exit 2 (the command line is wrong), one line on stderr naming the problem. */
function usageError(run: Run, pattern: RegExp): string {
  const line = failed(run, pattern);
  expect(run.code).toBe(2);
  return line;
}

/** Exit 1 (the command ran and failed), one line on stderr. */
function operationFailed(run: Run, pattern: RegExp): string {
  const line = failed(run, pattern);
  expect(run.code).toBe(1);
  return line;
}

/** With --json: the failure is also exactly `{"error": <the line's message>}` on stdout. */
function jsonError(run: Run, line: string): void {
  expect(JSON.parse(run.stdout.trim())).toEqual({ error: line.replace(/^grantledger: /, '').replace(/ \(run grantledger .*--help for usage\)$/, '') });
}

describe('usage errors: exit 2, one line naming the option, before any database is opened', () => {
  let noDb: NodeJS.ProcessEnv;
  const r: Record<string, Run> = {};
  const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

  beforeAll(async () => {
    noDb = { ...env, DATABASE_URL: `sqlite:${join(dir, 'never.sqlite')}` };
    const cases: Record<string, string[]> = {
      version: ['--version'],
      help: ['--help'],
      userHelp: ['user', '--help'],
      helpUser: ['help', 'user'],
      createHelp: ['client', 'create', '--help'],
      group: ['client'],
      nothing: [],
      typoCommand: ['user', 'craete', '--email', 'a@b.example'],
      typoGroup: ['compnay', 'list'],
      typoOption: ['company', 'create', '--nmae', 'Acme', '--json'],
      noValue: ['company', 'create', '--name'],
      blank: ['company', 'create', '--name', '  '],
      extra: ['company', 'list', 'everything'],
      badCompany: ['user', 'list', '--company', 'acme', '--json'],
      badClientId: ['client', 'show', '--client-id', '42'],
      nothingToChange: ['client', 'update', '--client-id', '00000000-0000-4000-8000-000000000000'],
      badGrantType: ['client', 'create', '--name', 'X', '--redirect-uri', 'https://x.example/cb', '--grant-type', 'implicit'],
      noEmail: ['user', 'set-password', '--password', 'long enough'],
    };
    const runs = await Promise.all(Object.values(cases).map((args) => cliWith(noDb, ...args)));
    Object.keys(cases).forEach((k, i) => (r[k] = runs[i]!));
  }, STEP);

  test('--version prints the package version', () => {
    expect(r.version).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  test('--help lists every command group on stdout and exits 0', () => {
    expect(r.help).toMatchObject({ code: 0, stderr: '' });
    for (const group of ['migrate', 'company', 'user', 'client', 'gateway', 'access-token', 'keys']) expect(r.help!.stdout).toMatch(new RegExp(`^  ${group} `, 'm'));
    expect(r.help!.stdout).toMatch(/Exit codes: 0 .*; 1 .*\n2 /);
  });

  test('a group and a command have their own help', () => {
    expect(r.userHelp).toMatchObject({ code: 0, stderr: '' });
    expect(r.userHelp!.stdout).toMatch(/^Usage: grantledger user /);
    for (const command of ['create', 'list', 'deactivate', 'activate', 'set-role', 'set-password']) expect(r.userHelp!.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(r.helpUser).toEqual(r.userHelp);
    expect(r.createHelp).toMatchObject({ code: 0, stderr: '' });
    expect(r.createHelp!.stdout).toMatch(/^Usage: grantledger client create /);
    for (const option of ['--name', '--redirect-uri', '--public', '--grant-type', '--webhook-url', '--logo-uri', '--homepage', '--json']) {
      expect(r.createHelp!.stdout).toContain(`  ${option} `);
    }
  });

  test('a group alone prints its help on stderr and exits 2; so does no command at all', () => {
    expect(r.group).toMatchObject({ code: 2, stdout: '' });
    expect(r.group!.stderr).toMatch(/^Usage: grantledger client /);
    for (const command of ['create', 'list', 'show', 'update']) expect(r.group!.stderr).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(r.nothing).toMatchObject({ code: 2, stdout: '' });
    expect(r.nothing!.stderr).toMatch(/^Usage: grantledger /);
  });

  test('a mistyped command: did you mean', () => {
    usageError(r.typoCommand!, /^grantledger: unknown command "user craete" \(did you mean "user create"\?\)/);
    usageError(r.typoGroup!, /^grantledger: unknown command "compnay list" \(did you mean "company"\?\)/);
  });

  test('a mistyped option: did you mean, in JSON too', () => {
    const line = usageError(r.typoOption!, /^grantledger: unknown option --nmae \(did you mean --name\?\) \(run grantledger company create --help for usage\)$/);
    jsonError(r.typoOption!, line);
  });

  test('an option without its value, or a blank one', () => {
    usageError(r.noValue!, /^grantledger: --name needs a value/);
    usageError(r.blank!, /^grantledger: missing --name/);
  });

  test('an unexpected argument', () => {
    usageError(r.extra!, /unexpected argument "everything" for "company list"/);
  });

  test('a value that cannot be what the option names', () => {
    jsonError(r.badCompany!, usageError(r.badCompany!, /^grantledger: --company: "acme" is not a company GUID/));
    usageError(r.badClientId!, /^grantledger: --client-id: "42" is not a client id/);
    usageError(r.nothingToChange!, /^grantledger: nothing to change: give --name, --redirect-uri/);
    usageError(r.badGrantType!, /--grant-type must be one of authorization_code, refresh_token, client_credentials/);
    usageError(r.noEmail!, /^grantledger: missing --email/);
  });

  test('a reader that goes away early (`| head -1`) ends the output quietly, without a stack trace', async () => {
    const run = await inSlot(() => {
      const child = spawn(process.execPath, [...CLI, '--help'], { cwd: packageRoot, env: noDb, stdio: ['ignore', 'pipe', 'pipe'] });
      const done = collect(child);
      child.stdout!.destroy();
      return done;
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  }, STEP);

  test('no database was opened, let alone created', () => {
    expect(existsSync(join(dir, 'never.sqlite'))).toBe(false);
  });
});

describe('operator commands', () => {
  let world: Fresh;
  let wenv: NodeJS.ProcessEnv;
  let wdb: Database;
  const o: Record<string, Record<string, unknown>> = {};
  const r: Record<string, Run> = {};
  const w = (...args: string[]) => cliWith(wenv, ...args);
  const guidOf = (key: string) => String(o[key]!.guid ?? o[key]!.client_id ?? o[key]!.id);
  const hashOf = async (id: string) => (await wdb.get<{ password_hash: string }>('SELECT password_hash FROM users WHERE guid = ?', [id]))!.password_hash;
  const sessionsOf = async (id: string) => (await wdb.get<{ n: number }>(
    'SELECT COUNT(*) AS n FROM admin_sessions s JOIN users u ON u.id = s.user_id WHERE u.guid = ?', [id],
  ))!.n;

  beforeAll(async () => {
    world = await freshDatabase('operator');
    wenv = { ...env, DATABASE_URL: world.url };
    json(await w('migrate', '--json'));
    wdb = await world.open();

    // Two companies (one stays empty), two apps, a gateway.
    const [acme, empty, shifty, pocket, gateway] = await Promise.all([
      w('company', 'create', '--name', 'Acme', '--json'),
      w('company', 'create', '--name', 'Empty Co', '--json'),
      w('client', 'create', '--name', 'Shifty', '--redirect-uri', 'https://shifty.example/cb', '--json'),
      w('client', 'create', '--name', 'Pocket', '--redirect-uri', 'com.example.pocket:/cb', '--public', '--json'),
      w('gateway', 'create', '--name', 'V2 API', '--json'),
    ]);
    Object.assign(o, { acme: json(acme), empty: json(empty), shifty: json(shifty), pocket: json(pocket), gateway: json(gateway) });

    const [ada, bob, short] = await Promise.all([
      w('user', 'create', '--company', guidOf('acme'), '--email', 'ada@acme.example', '--password', 'first password', '--role', 'admin', '--name', 'Ada', '--json'),
      w('user', 'create', '--company', guidOf('acme'), '--email', 'bob@acme.example', '--password', 'first password', '--role', 'employee', '--json'),
      w('user', 'create', '--company', guidOf('acme'), '--email', 'cy@acme.example', '--password', 'short', '--role', 'admin', '--json'),
    ]);
    Object.assign(o, { ada: json(ada), bob: json(bob) });
    r.short = short;

    // Reads and refused commands, in parallel (a refused command writes nothing).
    const unknownCompany = '00000000-0000-4000-8000-000000000000';
    const cases: Record<string, string[]> = {
      companies: ['company', 'list', '--json'],
      companiesText: ['company', 'list'],
      users: ['user', 'list', '--company', guidOf('acme'), '--json'],
      usersText: ['user', 'list', '--company', guidOf('acme')],
      noUsers: ['user', 'list', '--company', guidOf('empty'), '--json'],
      unknownCompany: ['user', 'list', '--company', unknownCompany, '--json'],
      apps: ['client', 'list', '--json'],
      gateways: ['gateway', 'list', '--json'],
      show: ['client', 'show', '--client-id', guidOf('pocket'), '--json'],
      showText: ['client', 'show', '--client-id', guidOf('pocket')],
      showGateway: ['client', 'show', '--client-id', guidOf('gateway'), '--json'],
      badUpdate: ['client', 'update', '--client-id', guidOf('pocket'), '--redirect-uri', 'https://pocket.example/cb', '--redirect-uri', 'http://pocket.example/cb'],
      badLogo: ['client', 'create', '--name', 'Logo', '--redirect-uri', 'https://logo.example/cb', '--logo-uri', 'http://localhost:8080/logo.png'],
      badUri: ['client', 'create', '--name', 'Evil', '--redirect-uri', 'http://evil.example/cb', '--json'],
      badScope: ['access-token', 'create', '--email', 'ada@acme.example', '--name', 'sync', '--scope', 'schedules:read', '--scope', 'everything'],
      notAdmin: ['access-token', 'create', '--email', 'bob@acme.example', '--name', 'sync', '--json'],
      nobody: ['user', 'deactivate', '--email', 'nobody@acme.example'],
      bellName: ['company', 'create', '--name', 'Ring\u0007Ring', '--json'],
      badEmail: ['user', 'create', '--company', guidOf('acme'), '--email', 'dee at acme', '--password', 'long enough', '--role', 'employee'],
    };
    const runs = await Promise.all(Object.values(cases).map((args) => w(...args)));
    Object.keys(cases).forEach((k, i) => (r[k] = runs[i]!));
    // Then an update, what it left, and another one: one after the other.
    o.update = json(await w('client', 'update', '--client-id', guidOf('shifty'), '--name', 'Shifty 2', '--redirect-uri', 'https://shifty.example/v2/cb',
      '--redirect-uri', 'http://127.0.0.1:8080/cb', '--webhook-url', 'https://shifty.example/hooks', '--homepage', 'https://shifty.example', '--json'));
    r.showAfter = await w('client', 'show', '--client-id', guidOf('shifty'), '--json');
    r.updateAgain = await w('client', 'update', '--client-id', guidOf('shifty'), '--webhook-url', 'https://shifty.example/hooks/v2', '--json');
  }, STEP);

  afterAll(async () => {
    await wdb?.close();
    await world?.drop();
  });

  /** The list's items by `key` (items created in parallel have no defined order). */
  function sortedBy<T extends Record<string, unknown>>(data: unknown, key: string): T[] {
    return [...(data as T[])].sort((a, b) => String(a[key]).localeCompare(String(b[key])));
  }

  /** Oldest first. */
  function expectOldestFirst(data: unknown): void {
    const times = (data as Array<{ created_at: string }>).map((d) => Date.parse(d.created_at));
    expect(times.every((t) => !Number.isNaN(t))).toBe(true);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  }

  test('company list → {data: [{guid, name, created_at, users}]}, oldest first', () => {
    const { data } = json(r.companies!);
    expect(sortedBy(data, 'name')).toEqual([
      { guid: o.acme!.guid, name: 'Acme', created_at: expect.any(String), users: 2 },
      { guid: o.empty!.guid, name: 'Empty Co', created_at: expect.any(String), users: 0 },
    ]);
    expectOldestFirst(data);
    expect(r.companiesText!.code).toBe(0);
    expect(r.companiesText!.stdout).toMatch(new RegExp(`^${o.acme!.guid}\\s+2\\s+\\S+ \\S+\\s+Acme$`, 'm'));
  });

  test('user list --company → {data: [{id, email, name, role, active, created_at}]}, by e-mail', () => {
    expect(json(r.users!)).toEqual({
      data: [
        { id: o.ada!.id, email: 'ada@acme.example', name: 'Ada', role: 'admin', active: true, created_at: expect.any(String) },
        { id: o.bob!.id, email: 'bob@acme.example', name: 'bob', role: 'employee', active: true, created_at: expect.any(String) },
      ],
    });
    expect(r.usersText!.stdout).toMatch(new RegExp(`^${o.bob!.id}\\s+employee\\s+yes\\s+.*bob@acme\\.example\\s+bob$`, 'm'));
    expect(r.usersText!.stdout).not.toMatch(/scrypt/);
    expect(json(r.noUsers!)).toEqual({ data: [] });
  });

  test('user list of an unknown company: exit 1', () => {
    jsonError(r.unknownCompany!, operationFailed(r.unknownCompany!, /^grantledger: Company 00000000-0000-4000-8000-000000000000 was not found\.$/));
  });

  test('client list → apps only, with grant types and redirect URIs', () => {
    const { data } = json(r.apps!);
    expect(sortedBy(data, 'name')).toEqual([
      { client_id: o.pocket!.client_id, name: 'Pocket', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['com.example.pocket:/cb'], created_at: expect.any(String) },
      { client_id: o.shifty!.client_id, name: 'Shifty', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://shifty.example/cb'], created_at: expect.any(String) },
    ]);
    expectOldestFirst(data);
  });

  test('gateway list → gateways only', () => {
    expect(json(r.gateways!)).toEqual({ data: [{ client_id: o.gateway!.client_id, name: 'V2 API', created_at: expect.any(String) }] });
  });

  test('client show → the registration, never a secret or its hash', () => {
    expect(json(r.show!)).toEqual({
      client_id: o.pocket!.client_id, name: 'Pocket', public: true, grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['com.example.pocket:/cb'], scopes: defaultClientScopes(['authorization_code', 'refresh_token']),
      webhook_url: null, logo_uri: null, homepage: null, created_at: expect.any(String),
    });
    expect(r.showText!.stdout).toMatch(/^type\s+public/m);
    const confidential = JSON.stringify(json(r.showAfter!));
    expect(confidential).not.toContain(String(o.shifty!.client_secret));
    expect(confidential).not.toContain(sha256(String(o.shifty!.client_secret)));
    expect(confidential).not.toMatch(/glcs_|whsec_|secret/);
  });

  test('client show of a gateway or an unknown id: exit 1', () => {
    operationFailed(r.showGateway!, new RegExp(`^grantledger: App ${o.gateway!.client_id} was not found\\.$`));
  });

  test('client update → the new registration; a first webhook URL comes with its secret, once', async () => {
    expect(o.update).toEqual({
      client_id: o.shifty!.client_id, name: 'Shifty 2', public: false, grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['https://shifty.example/v2/cb', 'http://127.0.0.1:8080/cb'], scopes: defaultClientScopes(['authorization_code', 'refresh_token']),
      webhook_url: 'https://shifty.example/hooks',
      logo_uri: null, homepage: 'https://shifty.example', created_at: expect.any(String), webhook_secret: expect.stringMatching(/^whsec_/),
    });
    const { webhook_secret: _secret, ...shown } = o.update!;
    expect(json(r.showAfter!)).toEqual(shown);
    // A second webhook URL keeps the secret: none is shown.
    expect(json(r.updateAgain!)).toEqual({ ...shown, webhook_url: 'https://shifty.example/hooks/v2' });
    const row = await wdb.get<{ name: string; metadata: string; webhook_url: string; webhook_secret: string; secret_hash: string }>(
      'SELECT name, metadata, webhook_url, webhook_secret, secret_hash FROM clients WHERE client_id = ?', [String(o.shifty!.client_id)],
    );
    expect(row).toMatchObject({ name: 'Shifty 2', webhook_url: 'https://shifty.example/hooks/v2', secret_hash: sha256(String(o.shifty!.client_secret)) });
    expect(decrypt(loadSecretKey(undefined, env.SECRET_KEY_FILE!), row!.webhook_secret)).toBe(o.update!.webhook_secret);
    // What oidc-provider reads: the same metadata a creation would have written.
    expect(JSON.parse(row!.metadata)).toEqual({
      client_name: 'Shifty 2', redirect_uris: ['https://shifty.example/v2/cb', 'http://127.0.0.1:8080/cb'], application_type: 'web', grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic', client_uri: 'https://shifty.example',
      grantledger_scopes: defaultClientScopes(['authorization_code', 'refresh_token']).join(' '),
    });
  });

  test('client update is validated as at creation, and a refused update changes nothing', async () => {
    usageError(r.badUpdate!, /^grantledger: --redirect-uri: must be https:\/\/, http:\/\/ on loopback, or a reverse-DNS custom scheme \(got "http:\/\/pocket\.example\/cb"\)$/);
    const row = await wdb.get<{ metadata: string }>('SELECT metadata FROM clients WHERE client_id = ?', [String(o.pocket!.client_id)]);
    expect(JSON.parse(row!.metadata).redirect_uris).toEqual(['com.example.pocket:/cb']);
  });

  test('validation messages name the option in plain words, never a field path', () => {
    for (const run of [r.badLogo!, r.badUri!, r.badScope!, r.short!]) {
      expect(run.stderr).not.toMatch(/redirectUris|logoUri|scopes\.|Invalid option|Invalid URL/);
    }
    usageError(r.badLogo!, /^grantledger: --logo-uri: must be an https:\/\/ URL/);
    jsonError(r.badUri!, usageError(r.badUri!, /^grantledger: --redirect-uri: must be https:\/\/, http:\/\/ on loopback, or a reverse-DNS custom scheme/));
    usageError(r.badScope!, new RegExp(`^grantledger: --scope: unknown scope "everything" \\(known: ${TOKEN_SCOPES.join(', ')}\\)$`));
    usageError(r.short!, /^grantledger: --password: must be at least 8 characters$/);
    usageError(r.bellName!, /^grantledger: --name: must not contain control characters$/);
    usageError(r.badEmail!, /^grantledger: --email: must be an e-mail address/);
  });

  test('operations that fail exit 1: not an admin, no such user', () => {
    jsonError(r.notAdmin!, operationFailed(r.notAdmin!, /^grantledger: bob@acme\.example is not an active admin$/));
    operationFailed(r.nobody!, /^grantledger: User nobody@acme\.example was not found\.$/);
  });

  test('nothing was written by the refused commands', async () => {
    expect(await wdb.all("SELECT name FROM clients WHERE name IN ('Logo', 'Evil')")).toEqual([]);
    expect(await wdb.all("SELECT email FROM users WHERE email IN ('cy@acme.example', 'dee at acme')")).toEqual([]);
    expect(await wdb.get<{ n: number }>('SELECT COUNT(*) AS n FROM companies')).toEqual({ n: 2 });
    expect(await wdb.get<{ n: number }>('SELECT COUNT(*) AS n FROM access_tokens')).toEqual({ n: 0 });
  });

  describe('user set-password', () => {
    const now = Date.now();
    async function signedIn(userGuid: string): Promise<void> {
      const user = await wdb.get<{ id: number }>('SELECT id FROM users WHERE guid = ?', [userGuid]);
      await wdb.run('INSERT INTO admin_sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)', [sha256(randomSecret()), user!.id, now, now + 3_600_000]);
    }

    test('--password: the new password works, the old does not, and the user’s Developer Tools sessions end (no one else’s)', async () => {
      await signedIn(String(o.ada!.id));
      await signedIn(String(o.ada!.id));
      await signedIn(String(o.bob!.id));
      const run = await w('user', 'set-password', '--email', 'ada@acme.example', '--password', 'second password', '--json');
      expect(json(run)).toEqual({ id: o.ada!.id, email: 'ada@acme.example', ended_admin_sessions: 2 });
      expect(await verifyPassword('second password', await hashOf(String(o.ada!.id)))).toBe(true);
      expect(await verifyPassword('first password', await hashOf(String(o.ada!.id)))).toBe(false);
      expect(Number(await sessionsOf(String(o.ada!.id)))).toBe(0);
      expect(Number(await sessionsOf(String(o.bob!.id)))).toBe(1);
    }, STEP);

    test('from stdin when it is not a terminal: its first line', async () => {
      const run = await cliWithStdin(wenv, 'piped password\nnot this\n', 'user', 'set-password', '--email', 'bob@acme.example', '--json');
      expect(json(run)).toEqual({ id: o.bob!.id, email: 'bob@acme.example', ended_admin_sessions: 1 });
      expect(await verifyPassword('piped password', await hashOf(String(o.bob!.id)))).toBe(true);
    }, STEP);

    test('from stdin: nothing there, or too short, is refused with exit 2 and changes nothing', async () => {
      const before = await hashOf(String(o.bob!.id));
      const [empty, short] = await Promise.all([
        cliWithStdin(wenv, '', 'user', 'set-password', '--email', 'bob@acme.example'),
        cliWithStdin(wenv, 'seven77\n', 'user', 'set-password', '--email', 'bob@acme.example', '--json'),
      ]);
      usageError(empty, /^grantledger: missing --password \(and nothing on stdin\)/);
      jsonError(short, usageError(short, /^grantledger: --password: must be at least 8 characters$/));
      expect(await hashOf(String(o.bob!.id))).toBe(before);
    }, STEP);

    test('on a terminal: asked twice, never echoed', async () => {
      await signedIn(String(o.ada!.id));
      const run = await cliOnTerminal(wenv, [['New password: ', 'typed password'], ['Again: ', 'typed password']],
        'user', 'set-password', '--email', 'ada@acme.example', '--json');
      expect(run.code).toBe(0);
      expect(run.stdout).not.toContain('typed password');
      const result = run.stdout.split(/\r?\n/).find((l) => l.startsWith('{'));
      expect(JSON.parse(result!)).toEqual({ id: o.ada!.id, email: 'ada@acme.example', ended_admin_sessions: 1 });
      expect(await verifyPassword('typed password', await hashOf(String(o.ada!.id)))).toBe(true);
    }, STEP);

    test('on a terminal: two different answers change nothing (exit 2)', async () => {
      const before = await hashOf(String(o.ada!.id));
      const run = await cliOnTerminal(wenv, [['New password: ', 'one password'], ['Again: ', 'another password']],
        'user', 'set-password', '--email', 'ada@acme.example');
      expect(run.code).toBe(2);
      expect(run.stdout).toMatch(/grantledger: the two passwords differ: nothing was changed/);
      expect(run.stdout).not.toMatch(/one password|another password/);
      expect(await hashOf(String(o.ada!.id))).toBe(before);
    }, STEP);
  });
});
