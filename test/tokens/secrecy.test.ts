// The creation response is the only place a token appears: not in list or detail responses,
// not in the page after a reload, not in audit events, not in the server's logs (debug level),
// not in the database — read through SQL on every dialect, and as raw bytes of the SQLite file
// and its WAL.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Company } from '../../src/companies/users.js';
import { sha256 } from '../../src/shared/crypto.js';
import { stdoutDestination } from '../../src/shared/logger.js';
import { createToken } from '../../src/tokens/tokens.js';
import { bearerApi, signIn } from '../helpers/admin.js';
import { createSqliteTestDatabase, type TestDatabase } from '../helpers/db.js';
import { introspect } from '../helpers/oauth.js';
import { makeCompany, makeGateway, makeUser, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

/**
 * Everything the server logged to stdout (the logger's JSON lines) while this file ran: every
 * logger made without a destination writes its lines through stdoutDestination().write.
 */
const logged: string[] = [];
const stdout = stdoutDestination();
const realWrite = stdout.write;

function captureStdout(): void {
  stdout.write = ((chunk: string) => {
    logged.push(chunk);
    return true;
  }) as typeof stdout.write;
}

/** Starts a server logging at debug level (the test helper takes the level from TEST_LOG_LEVEL). */
async function startDebugServer(database?: TestDatabase): Promise<TestServer> {
  const saved = process.env.TEST_LOG_LEVEL;
  process.env.TEST_LOG_LEVEL = 'debug';
  try {
    return await startTestServer({}, database);
  } finally {
    if (saved === undefined) delete process.env.TEST_LOG_LEVEL;
    else process.env.TEST_LOG_LEVEL = saved;
  }
}

/**
 * Pieces of a token that must never show up: the whole value, and every 12-character window
 * (each holds at least 6 random characters: the shown last four never match, but a stored or
 * logged prefix, suffix or fragment does).
 */
function fragments(token: string): string[] {
  const out = [token];
  for (let i = 0; i + 12 <= token.length; i++) out.push(token.slice(i, i + 12));
  return out;
}

function leaks(haystack: string | Buffer, tokens: string[]): string[] {
  const found: string[] = [];
  for (const token of tokens) {
    for (const f of fragments(token)) {
      if (haystack.includes(f)) found.push(`${token.slice(0, 8)}…: "${f}"`);
    }
  }
  return found;
}

/** Every row of every table of the database, as text (both dialects). */
async function dumpTables(server: TestServer): Promise<string> {
  const tables = server.db.dialect === 'sqlite'
    ? await server.db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
    : await server.db.all<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()');
  expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['access_tokens', 'audit_events', 'users']));
  let dump = '';
  for (const { name } of tables) {
    const rows = await server.db.all(`SELECT * FROM "${name}"`);
    dump += `${name}\n${JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}\n`;
  }
  return dump;
}

interface Scenario {
  /** Every token created, in the order made. */
  tokens: string[];
  names: string[];
  /** Every response body that is not a creation response. */
  responses: string[];
}

/**
 * Creates tokens every way there is (admin API with a session and with a bearer token, legacy
 * API key, the page form, createToken as the CLI does), uses them, reads them back every way,
 * and revokes some.
 */
async function runScenario(server: TestServer, company: Company, admin: TestUser): Promise<Scenario> {
  const session = await signIn(server, admin);
  const gateway = await makeGateway(server);
  const tokens: string[] = [];
  const names: string[] = [];
  const responses: string[] = [];
  const ids: Record<string, string> = {};

  // Admin API with the session: an access token and a legacy API key.
  const pat = await session.api('POST', '/access-tokens', { name: 'Secrecy PAT', scopes: ['schedules:read', 'developer_tools:write'] });
  expect(pat.status).toBe(201);
  expect(pat.text).toContain(pat.body.token as string); // the creation response does show it
  const key = await session.api('POST', '/api-keys', { name: 'Secrecy key' });
  expect(key.status).toBe(201);
  tokens.push(pat.body.token as string, key.body.token as string);
  names.push('Secrecy PAT', 'Secrecy key');
  ids.pat = pat.body.id as string;
  ids.key = key.body.id as string;

  // The admin API with a bearer token (no session): another access token.
  const viaBearer = await bearerApi(server, tokens[0]!, 'POST', '/access-tokens', { name: 'Made by bearer', scopes: ['developer_tools:read'] });
  expect(viaBearer.status).toBe(201);
  tokens.push(viaBearer.body.token as string);
  names.push('Made by bearer');
  ids.bearer = viaBearer.body.id as string;

  // The page form.
  const form = await session.agent.postForm(`${server.url}/settings/developer-tools/access-tokens`, {
    _csrf: session.csrf, name: 'Made in the page', scope_preset: 'custom', 'scope:users:read': 'on', 'scope:developer_tools:read': 'on', expiry: 'never',
  });
  // Post/redirect/get: the secret comes with the page the redirect leads to, once.
  expect(form.status).toBe(303);
  const shown = await session.agent.follow(form, `${server.url}/settings/developer-tools/access-tokens`, server.url);
  expect(shown.res.status).toBe(200);
  const page = await shown.res.text();
  const fromPage = /id="new-token-value" readonly value="([^"]+)"/.exec(page)?.[1];
  expect(fromPage).toMatch(/^grantledger_pat_/);
  expect(page).toContain('It will not be shown again');
  tokens.push(fromPage!);
  names.push('Made in the page');

  // As the CLI does.
  const cli = await createToken(server.db, admin.user, { kind: 'access_token', name: 'Made by the CLI', scopes: ['company:read', 'developer_tools:read'], expiresAt: null });
  tokens.push(cli.token);
  names.push('Made by the CLI');

  // Use them: introspection as a gateway, the admin API as bearer.
  for (const token of tokens) {
    const seen = await introspect(server, gateway, token);
    expect(seen.body).toMatchObject({ active: true, company_guid: company.guid });
    responses.push(JSON.stringify(seen.body));
  }
  for (const token of [tokens[0]!, tokens[2]!, tokens[3]!, tokens[4]!]) {
    const listed = await bearerApi(server, token, 'GET', '/access-tokens');
    expect(listed.status).toBe(200);
    responses.push(listed.text);
  }
  // An API key is refused as bearer: the refusal does not echo it.
  const refused = await bearerApi(server, tokens[1]!, 'GET', '/access-tokens');
  expect(refused.status).toBe(401);
  responses.push(refused.text, JSON.stringify([...refused.headers]));

  // Read everything back.
  const list = await session.api('GET', '/access-tokens');
  expect(list.body.data!.map((t) => t.name)).toEqual(expect.arrayContaining(['Secrecy PAT', 'Made by bearer', 'Made in the page', 'Made by the CLI']));
  ids.page = list.body.data!.find((t) => t.name === 'Made in the page')!.id as string;
  responses.push(list.text);
  for (const t of list.body.data!) {
    const one = await session.api('GET', `/access-tokens/${t.id as string}`);
    expect(one.status).toBe(200);
    responses.push(one.text);
  }
  const keys = await session.api('GET', '/api-keys');
  expect(keys.body.data!.map((k) => k.id)).toContain(ids.key);
  responses.push(keys.text, (await session.api('GET', `/api-keys/${ids.key}`)).text);

  // Lists show the last four characters, nothing more.
  const listedPat = list.body.data!.find((t) => t.id === ids.pat)!;
  expect(listedPat).toEqual({
    id: ids.pat, name: 'Secrecy PAT', last4: tokens[0]!.slice(-4), scopes: ['schedules:read', 'developer_tools:write'],
    created_at: expect.any(String), created_by: { id: admin.user.guid, name: admin.user.name, email: admin.user.email },
    expires_at: null, last_used_at: expect.anything(),
  });

  // The page, reloaded.
  const reloaded = await session.agent.get(`${server.url}/settings/developer-tools`);
  expect(reloaded.status).toBe(200);
  const html = await reloaded.text();
  for (const t of tokens) if (t.startsWith('grantledger_pat_')) expect(html).toContain(`…${t.slice(-4)}`);
  expect(html).not.toContain('new-token-value');
  responses.push(html);

  // Revoke two (page and API), then try them again.
  const revokedInPage = await session.agent.postForm(`${server.url}/settings/developer-tools/access-tokens/${ids.page}/revoke`, { _csrf: session.csrf });
  expect(revokedInPage.status).toBe(303);
  const revoked = await session.api('DELETE', `/access-tokens/${ids.pat}`);
  expect(revoked.status).toBe(200);
  responses.push(revoked.text);
  for (const token of [tokens[0]!, tokens[3]!]) {
    const seen = await introspect(server, gateway, token);
    expect(seen.body).toEqual({ active: false });
    const refusedAgain = await bearerApi(server, token, 'GET', '/access-tokens');
    expect(refusedAgain.status).toBe(401);
    responses.push(JSON.stringify(seen.body), refusedAgain.text);
  }

  // The audit trail records creation and revocation, by id.
  const audit = await session.api('GET', '/audit-events?limit=100');
  expect(audit.status).toBe(200);
  const events = audit.body.data!.map((e) => `${e.action as string} ${e.target_id as string}`);
  expect(events).toEqual(expect.arrayContaining([
    `access_token.created ${ids.pat}`, `api_key.created ${ids.key}`, `access_token.created ${ids.bearer}`,
    `access_token.revoked ${ids.pat}`, `access_token.revoked ${ids.page}`,
  ]));
  responses.push(audit.text);

  return { tokens, names, responses };
}

beforeAll(captureStdout);
afterAll(() => {
  stdout.write = realWrite;
});

describe('a token appears only in its creation response', () => {
  let server: TestServer;
  let company: Company;
  let admin: TestUser;

  beforeAll(async () => {
    server = await startDebugServer();
    company = await makeCompany(server.db);
    admin = await makeUser(server.db, company.guid, 'admin');
  });
  afterAll(() => server.close());

  test('not in list, detail, page, audit or error responses, not in the logs, not in any table', async () => {
    const { tokens, names, responses } = await runScenario(server, company, admin);
    expect(tokens).toHaveLength(5);
    expect(new Set(tokens).size).toBe(5);

    expect(responses.length).toBeGreaterThan(20);
    expect(leaks(responses.join('\n'), tokens)).toEqual([]);

    // The logs: the capture works (requests were logged at debug level)…
    const log = logged.join('');
    expect(log).toContain('"path":"/api/v1/access-tokens"');
    expect(log).toContain('"path":"/token/introspection"');
    expect(log).toContain('"path":"/settings/developer-tools/access-tokens"');
    // …and holds no token.
    expect(leaks(log, tokens)).toEqual([]);

    // Every table, read through SQL: the hashes and names are there, the tokens are not.
    const dump = await dumpTables(server);
    for (const t of tokens) expect(dump).toContain(sha256(t));
    for (const n of names) expect(dump).toContain(n);
    expect(leaks(dump, tokens)).toEqual([]);
  });
});

describe('the SQLite database file holds no token', () => {
  let database: TestDatabase;
  let server: TestServer;

  beforeAll(async () => {
    // Always SQLite, whatever DATABASE_URL says: this reads the file's bytes.
    database = await createSqliteTestDatabase();
    server = await startDebugServer(database);
  });
  afterAll(async () => {
    await server.close();
    await database.drop();
  });

  test('neither the main file nor the WAL contains a token or a fragment of one', async () => {
    expect(server.db.dialect).toBe('sqlite');
    const company = await makeCompany(server.db);
    const admin = await makeUser(server.db, company.guid, 'admin');
    const { tokens, names } = await runScenario(server, company, admin);

    const read = (file: string) => (existsSync(file) ? readFileSync(file) : Buffer.alloc(0));
    const scan = () => Buffer.concat([read(database.file!), read(`${database.file!}-wal`), read(`${database.file!}-shm`)]);

    // Before a checkpoint the recent writes live in the WAL; after it, in the main file.
    let bytes = scan();
    for (const t of tokens) expect(bytes.includes(sha256(t))).toBe(true); // the scan sees the stored rows
    for (const n of names) expect(bytes.includes(n)).toBe(true);
    expect(leaks(bytes, tokens)).toEqual([]);

    await server.db.run('PRAGMA wal_checkpoint(TRUNCATE)');
    bytes = scan();
    expect(read(database.file!).includes(sha256(tokens[0]!))).toBe(true);
    expect(leaks(bytes, tokens)).toEqual([]);

    // This server's logs too.
    expect(leaks(logged.join(''), tokens)).toEqual([]);
  });
});
