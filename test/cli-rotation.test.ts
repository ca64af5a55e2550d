// `grantledger client rotate-secret`, `client rotate-webhook-secret` and `gateway rotate-secret`
// as an operator runs them: the JSON contract {client_id, client_secret, previous_secret_expires_at},
// the new secret stored as a hash only, and every error path with its exit code.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { openDatabase, type Database } from '../src/db/database.js';
import { sha256 } from '../src/shared/crypto.js';
import { baseEnv, emptyDatabase, jsonOf, runCli, type EmptyDatabase, type Run } from './helpers/cli.js';
import { usingPostgres } from './helpers/db.js';

let dir: string;
let place: EmptyDatabase;
let env: NodeJS.ProcessEnv;
const out: Record<string, Record<string, unknown>> = {};
const r: Record<string, Run> = {};
const cli = (...args: string[]) => runCli(env, args);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'grantledger-rotate-'));
  place = await emptyDatabase(dir);
  env = baseEnv({ DATA_DIR: dir, DATABASE_URL: place.url });
  jsonOf(await cli('migrate', '--json'));
  const [gateway, app, pub] = await Promise.all([
    cli('gateway', 'create', '--name', 'V2', '--json'),
    cli('client', 'create', '--name', 'Hooks', '--redirect-uri', 'https://hooks.example/cb', '--webhook-url', 'https://hooks.example/events', '--json'),
    cli('client', 'create', '--name', 'Pocket', '--redirect-uri', 'com.example.pocket:/cb', '--public', '--json'),
  ]);
  Object.assign(out, { gateway: jsonOf(gateway), app: jsonOf(app), pub: jsonOf(pub) });
  const [g, a, w, badKeep, tooLong, unknown, publicApp, gatewayAsApp, help] = await Promise.all([
    cli('gateway', 'rotate-secret', '--client-id', String(out.gateway!.client_id), '--keep-old', '0', '--json'),
    cli('client', 'rotate-secret', '--client-id', String(out.app!.client_id), '--json'),
    cli('client', 'rotate-webhook-secret', '--client-id', String(out.app!.client_id), '--keep-old', '90m'),
    cli('client', 'rotate-secret', '--client-id', String(out.app!.client_id), '--keep-old', 'forever'),
    cli('gateway', 'rotate-secret', '--client-id', String(out.gateway!.client_id), '--keep-old', '31d'),
    cli('gateway', 'rotate-secret', '--client-id', '00000000-0000-4000-8000-000000000000'),
    cli('client', 'rotate-secret', '--client-id', String(out.pub!.client_id), '--json'),
    cli('client', 'rotate-secret', '--client-id', String(out.gateway!.client_id)),
    cli('gateway', '--help'),
  ]);
  Object.assign(r, { g, a, w, badKeep, tooLong, unknown, publicApp, gatewayAsApp, help });
}, 600_000);

let db: Database;
beforeAll(async () => {
  db = await openDatabase(usingPostgres
    ? { url: process.env.DATABASE_URL!, schema: /search_path%3D(\w+)/.exec(place.url)![1] }
    : { url: place.url });
});
afterAll(async () => {
  await db?.close();
  await place?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const line = (run: Run) => run.stderr.split('\n').filter(Boolean);

describe('rotate-secret', () => {
  test('gateway rotate-secret --keep-old 0 → {client_id, client_secret, previous_secret_expires_at: null}; only the hash is stored', async () => {
    const g = jsonOf(r.g!);
    expect(g).toEqual({ client_id: out.gateway!.client_id, client_secret: expect.stringMatching(/^glcs_/), previous_secret_expires_at: null });
    const row = await db.get<{ secret_hash: string; previous_secret_hash: string | null }>(
      'SELECT secret_hash, previous_secret_hash FROM clients WHERE client_id = ?', [String(g.client_id)],
    );
    expect(row).toEqual({ secret_hash: sha256(String(g.client_secret)), previous_secret_hash: null });
  });

  test('client rotate-secret keeps the old secret 24 hours by default, as its hash', async () => {
    const a = jsonOf(r.a!);
    const until = Date.parse(String(a.previous_secret_expires_at));
    expect(until - Date.now()).toBeGreaterThan(23 * 3600_000);
    const row = await db.get<{ previous_secret_hash: string }>('SELECT previous_secret_hash FROM clients WHERE client_id = ?', [String(a.client_id)]);
    expect(row!.previous_secret_hash).toBe(sha256(String(out.app!.client_secret)));
  });

  test('client rotate-webhook-secret: the new secret shown once, the old one kept for the overlap', () => {
    expect(r.w).toMatchObject({ code: 0, stderr: '' });
    expect(r.w!.stdout).toMatch(/^webhook_secret +whsec_/m);
    expect(r.w!.stdout).toMatch(/The old secret keeps working until \d{4}-/);
  });

  test('a --keep-old that is not a duration, or beyond 30 days: exit 2, naming the option', () => {
    expect(r.badKeep!.code).toBe(2);
    expect(line(r.badKeep!)).toEqual([expect.stringMatching(/^grantledger: --keep-old: "forever" is not a duration/)]);
    expect(r.tooLong!.code).toBe(2);
    expect(line(r.tooLong!)).toEqual(['grantledger: --keep-old: must be at most 30 days']);
  });

  test('an unknown id, a public app, a gateway named as an app: exit 1, one line', () => {
    expect(r.unknown!.code).toBe(1);
    expect(line(r.unknown!)).toEqual([expect.stringMatching(/^grantledger: Gateway 00000000-.* was not found/)]);
    expect(r.publicApp!.code).toBe(1);
    expect(JSON.parse(r.publicApp!.stdout)).toEqual({ error: expect.stringMatching(/is a public client: it has no secret to rotate/) });
    expect(r.gatewayAsApp!.code).toBe(1);
    expect(line(r.gatewayAsApp!)).toEqual([expect.stringMatching(/^grantledger: App .* was not found/)]);
  });

  test('the commands are listed in their group’s help', () => {
    expect(r.help!.stdout).toMatch(/^ {2}rotate-secret /m);
  });
});

describe('operator keys and idempotent companies from the CLI', () => {
  const o: Record<string, Run> = {};
  beforeAll(async () => {
    [o.key, o.noName, o.first] = await Promise.all([
      cli('operator-key', 'create', '--name', 'provisioning', '--json'),
      cli('operator-key', 'create'),
      cli('company', 'create', '--name', 'Acme', '--external-id', 'acme-1', '--json'),
    ]);
    [o.again, o.dup, o.list] = await Promise.all([
      cli('company', 'create', '--name', 'Acme again', '--external-id', 'acme-1', '--json'),
      cli('operator-key', 'create', '--name', 'provisioning'),
      cli('operator-key', 'list', '--json'),
    ]);
    o.revoke = await cli('operator-key', 'revoke', '--id', String(jsonOf(o.key).id), '--json');
    o.revokeAgain = await cli('operator-key', 'revoke', '--id', String(jsonOf(o.key).id));
  }, 600_000);

  test('operator-key create → {id, key}, shown once, stored as a hash; list never shows it', async () => {
    const k = jsonOf(o.key!);
    expect(k).toEqual({ id: expect.any(String), key: expect.stringMatching(/^glop_/) });
    const row = await db.get<{ key_hash: string }>('SELECT key_hash FROM operator_keys WHERE id = ?', [String(k.id)]);
    expect(row!.key_hash).toBe(sha256(String(k.key)));
    expect(o.list!.stdout).not.toContain(String(k.key));
    expect(jsonOf(o.list!).data).toEqual([expect.objectContaining({ id: k.id, name: 'provisioning', last4: String(k.key).slice(-4), revoked_at: null })]);
  });

  test('operator-key errors: no --name exit 2; a second live key of one name exit 1; revoke twice exit 1', () => {
    expect(r.help).toBeDefined();
    expect(o.noName!.code).toBe(2);
    expect(line(o.noName!)).toEqual([expect.stringMatching(/^grantledger: missing --name/)]);
    expect(o.dup!.code).toBe(1);
    expect(line(o.dup!)).toEqual([expect.stringMatching(/a live operator key named "provisioning" exists/i)]);
    expect(jsonOf(o.revoke!)).toMatchObject({ name: 'provisioning', revoked_at: expect.any(String) });
    expect(o.revokeAgain!.code).toBe(1);
  });

  test('company create --external-id: a repeat answers the same company; the operators’ audit trail names the CLI', async () => {
    const first = jsonOf(o.first!);
    expect(jsonOf(o.again!)).toEqual(first);
    expect(first).toMatchObject({ name: 'Acme', external_id: 'acme-1' });
    const events = await db.all<{ actor: string; action: string }>('SELECT actor, action FROM operator_audit_events WHERE target_id = ?', [String(first.guid)]);
    expect(events).toEqual([{ actor: 'operator:cli', action: 'company.created' }]);
  });
});
