// Scale-out: grantledger instances as real processes (`node --import tsx src/main.ts`) sharing
// ONE PostgreSQL schema. It runs only when DATABASE_URL is postgres://… (`npm run test:postgres`);
// on SQLite — plain `npm test` — it is skipped under a name that says so and opens no
// connection, so the suite passes on a machine without PostgreSQL. Every step is sent to a
// chosen instance, so each check crosses processes: login on A and consent on B, tokens from B
// introspected and refreshed on A, revocation through B seen by A at once, sign-in throttling
// counted across both, the admin's browser session and the end-user session shared. Then
// WORKERS=2: two worker processes behind one port, both answering, a crashed worker replaced.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import pg from 'pg';
import { createApp, createGateway } from '../../src/clients/clients.js';
import { createCompany, createUser } from '../../src/companies/users.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { randomSecret } from '../../src/shared/crypto.js';
import { createToken } from '../../src/tokens/tokens.js';
import { DEVELOPER_TOOLS, pageCsrf, signIn } from '../helpers/admin.js';
import { usingPostgres } from '../helpers/db.js';
import { basicAuth, freePort, type ClientCredentials } from '../helpers/http.js';
import { formField, storeCookies } from '../helpers/oauth.js';
import type { TestUser } from '../helpers/server.js';
import { bearer, call, startApi } from '../gateway/helpers.js';

const BASE_URL = process.env.DATABASE_URL ?? '';
const SCHEMA = `gl_scale_${randomBytes(5).toString('hex')}`;
const SCHEMA_URL = `${BASE_URL}${BASE_URL.includes('?') ? '&' : '?'}options=-c%20search_path%3D${SCHEMA}`;
const SECRET_KEY = randomSecret(32);
const RATE_LIMIT = 3;
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

// ---------------------------------------------------------------------------------------------
// Processes

interface Instance {
  name: string;
  url: string;
  child: ChildProcess;
  output(): string;
  /** Parsed JSON log lines (stdout). */
  logs(): Array<Record<string, unknown>>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; graceful: boolean }>;
}

async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: process.cwd(),
    env: {
      PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: SCHEMA_URL, SECRET_KEY,
      BOOTSTRAP: 'false', LOG_LEVEL: 'warn', LOGIN_RATE_LIMIT: String(RATE_LIMIT), ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const instance: Instance = {
    name,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    logs: () => out.split('\n').flatMap((line) => {
      try {
        return line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : [];
      } catch {
        return []; // a line still being written
      }
    }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return { ...(await exited), graceful: true };
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 10_000)));
      const first = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (first !== 'timeout') return { ...first, graceful: true };
      child.kill('SIGKILL');
      return { ...(await exited), graceful: false };
    },
  };
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (done) throw new Error(`${name} exited during start:\n${out}`);
    if (Date.now() > deadline) {
      await instance.stop(); // left running, it would keep jest from exiting
      throw new Error(`${name} did not answer /healthz:\n${out}`);
    }
    const ok = await send(`${instance.url}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) return instance;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Child processes of `pid` running grantledger (Linux /proc). */
function childPids(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('src/main.ts')) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// ---------------------------------------------------------------------------------------------
// HTTP: every request on a fresh connection (so a cluster's workers take turns), cookies kept.

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

class Browser {
  readonly cookies = new Map<string, string>();

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Res> {
    const headers: Record<string, string> = { accept: 'text/html', ...init.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await send(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body });
    storeCookies(this.cookies, res.headers['set-cookie'] ?? []);
    return res;
  }
}

/** The same path and query on another instance. */
const on = (instance: Instance, urlOrPath: string) => {
  const u = new URL(urlOrPath, instance.url);
  return `${instance.url}${u.pathname}${u.search}`;
};
type AppCreds = ClientCredentials;
type Person = TestUser;

/**
 * Authorization code + PKCE through the login and consent pages, each step on the instance the
 * plan names: the authorization request and login on `login`, then (after the login POST)
 * resume and consent on `consent`, then (after the consent POST) the final resume on `finish`.
 */
async function authorizeAcross(
  browser: Browser, plan: { login: Instance; consent: Instance; finish: Instance }, app: AppCreds, person: Person, scope: string,
) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('base64url');
  const params = new URLSearchParams({
    response_type: 'code', client_id: app.clientId, redirect_uri: REDIRECT_URI, scope, state,
    // OIDC Core §11: offline_access (a refresh token) is asked with prompt=consent.
    ...(scope.split(' ').includes('offline_access') ? { prompt: 'consent' } : {}),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  });
  let instance = plan.login;
  let url = on(instance, `/auth?${params}`);
  let res = await browser.request(url);
  const pages: Array<{ page: 'login' | 'consent'; instance: string }> = [];
  for (let hop = 0; hop < 16; hop++) {
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.location!, url);
      if (next.href.startsWith(REDIRECT_URI)) {
        expect(next.searchParams.get('state')).toBe(state);
        const code = next.searchParams.get('code');
        if (!code) throw new Error(`no code: ${next.href}`);
        return { code, verifier, pages };
      }
      url = on(instance, next.href);
      res = await browser.request(url);
      continue;
    }
    if (res.status !== 200) throw new Error(`HTTP ${res.status} at ${url}: ${res.text.slice(0, 300)}`);
    const uid = /\/interaction\/([^/"]+)\//.exec(res.text)?.[1];
    if (!uid) throw new Error(`not an interaction page at ${url}: ${res.text.slice(0, 300)}`);
    const csrf = formField(res.text, '_csrf');
    if (res.text.includes('id="login"')) {
      pages.push({ page: 'login', instance: instance.name });
      url = on(instance, `/interaction/${uid}/login`);
      res = await browser.request(url, { form: { _csrf: csrf, email: person.email, password: person.password } });
      instance = plan.consent;
    } else if (res.text.includes('id="consent"')) {
      pages.push({ page: 'consent', instance: instance.name });
      url = on(instance, `/interaction/${uid}/confirm`);
      res = await browser.request(url, { form: { _csrf: csrf } });
      instance = plan.finish;
    } else {
      throw new Error(`unknown page at ${url}`);
    }
  }
  throw new Error('too many redirects');
}

async function tokenRequest(instance: Instance, app: AppCreds, params: Record<string, string>) {
  const res = await send(`${instance.url}/token`, {
    method: 'POST',
    headers: { authorization: basicAuth(app), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: res.json() };
}

async function introspect(instance: Instance, gateway: AppCreds, token: string) {
  const res = await send(`${instance.url}/token/introspection`, {
    method: 'POST',
    headers: { authorization: basicAuth(gateway), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(res.status).toBe(200);
  return res.json();
}

const userinfo = async (instance: Instance, token: string) => (await send(`${instance.url}/me`, { headers: { authorization: bearer(token) } })).status;

// ---------------------------------------------------------------------------------------------

let db: Database;
let a: Instance;
let b: Instance;
let cluster: Instance | undefined;
let clusterStarting: Promise<Instance> | undefined;
let companyGuid: string;
let admin: Person;
let employee: Person;
let gateway: AppCreds;
let adminPat: string;
const started: Instance[] = [];

async function person(role: 'admin' | 'employee'): Promise<Person> {
  const email = `${role}-${randomBytes(4).toString('hex')}@example.com`;
  const password = `pw-${randomSecret(9)}`;
  return { user: await createUser(db, { companyGuid, email, password, role }), email, password };
}

async function newApp(): Promise<AppCreds> {
  const created = await createApp(db, Buffer.from(SECRET_KEY, 'base64url'), {
    name: `Scale app ${randomBytes(3).toString('hex')}`, redirectUris: [REDIRECT_URI],
    grantTypes: ['authorization_code', 'refresh_token'],
  });
  return { clientId: created.client_id, clientSecret: created.client_secret! };
}

// Skipped on SQLite with its reason in the name; nothing below runs, so no connection is opened.
const onPostgres = usingPostgres ? describe : describe.skip;
const SUITE = usingPostgres ? 'scale-out on PostgreSQL' : 'scale-out on PostgreSQL (skipped: DATABASE_URL is not postgres://…; run `npm run test:postgres`)';

onPostgres(SUITE, () => {
  beforeAll(async () => {
    const client = new pg.Client({ connectionString: BASE_URL });
    await client.connect();
    await client.query(`CREATE SCHEMA ${SCHEMA}`);
    await client.end();
    db = await openDatabase({ url: BASE_URL, schema: SCHEMA, poolSize: 2 });
    await db.migrate();

    companyGuid = (await createCompany(db, 'Scale Co')).guid;
    admin = await person('admin');
    employee = await person('employee');
    const g = await createGateway(db, 'Scale gateway');
    gateway = { clientId: g.client_id, clientSecret: g.client_secret };
    adminPat = (await createToken(db, admin.user, { kind: 'access_token', name: 'ops', scopes: ['company:read', 'developer_tools:write'], expiresAt: null })).token;

    // Every instance says the same public issuer (a load balancer's address in production).
    const issuer = `http://127.0.0.1:${await freePort()}`;
    // The cluster boots while the two-instance tests run; its tests wait for it.
    clusterStarting = startInstance('C', { ISSUER: issuer, WORKERS: '2', LOG_LEVEL: 'info' });
    clusterStarting.then((c) => started.push(c), () => undefined);
    const results = await Promise.allSettled([startInstance('A', { ISSUER: issuer }), startInstance('B', { ISSUER: issuer })]);
    for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    [a, b] = results.map((r) => (r as PromiseFulfilledResult<Instance>).value) as [Instance, Instance];
  }, 90_000);

  afterAll(async () => {
    const c = await clusterStarting?.catch(() => undefined);
    const workers = c?.child.pid ? childPids(c.child.pid) : [];
    await Promise.all(started.map((instance) => instance.stop()));
    for (const pid of workers) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await db?.close();
    const client = new pg.Client({ connectionString: BASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.end();
  }, 30_000);

  describe('two instances on one PostgreSQL', () => {
    test('login on A, consent on B, tokens from B used on A, refresh on A, revocation through B seen by A at once', async () => {
      const app = await newApp();
      const browser = new Browser();
      const scope = 'openid offline_access schedules:read';

      // Interaction cookies, the CSRF cookie and the provider's state cross instances.
      const first = await authorizeAcross(browser, { login: a, consent: b, finish: a }, app, employee, scope);
      expect(first.pages).toEqual([{ page: 'login', instance: 'A' }, { page: 'consent', instance: 'B' }]);
      const issued = await tokenRequest(b, app, {
        grant_type: 'authorization_code', code: first.code, redirect_uri: REDIRECT_URI, code_verifier: first.verifier,
      });
      expect(issued.status).toBe(200);
      const tokens = issued.body as { access_token: string; refresh_token: string; id_token: string };

      // A token issued by B, introspected by A; the ID token B signed, verifiable with A's JWKS.
      expect(await introspect(a, gateway, tokens.access_token)).toMatchObject({
        active: true, client_id: app.clientId, sub: employee.user.guid, company_guid: companyGuid, auth_type: 'oauth', token_type: 'Bearer',
      });
      const kid = (JSON.parse(Buffer.from(tokens.id_token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
      const jwks = (await send(`${a.url}/jwks`)).json<{ keys: Array<{ kid: string }> }>();
      expect(jwks.keys.map((k) => k.kid)).toContain(kid);

      // Refresh on A of a refresh token B issued.
      const refreshed = await tokenRequest(a, app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      expect(refreshed.status).toBe(200);
      const next = refreshed.body as { access_token: string; refresh_token: string };
      expect(next.refresh_token).not.toBe(tokens.refresh_token);
      expect((await introspect(b, gateway, next.access_token)).active).toBe(true);
      expect(await userinfo(b, next.access_token)).toBe(200);

      // The gateway kit pointed at A accepts it.
      // (A generous deadline: this test also runs while the cluster below boots on the same cores.)
      const api = await startApi({ introspectionEndpoint: `${a.url}/token/introspection`, ...gateway, realm: 'v2', timeoutMs: 15_000 });
      try {
        expect((await call(`${api.url}/v2/schedules`, { authorization: bearer(next.access_token) })).status).toBe(200);

        // The end-user session is shared: a second app, started on B, asks for consent only.
        const other = await newApp();
        const second = await authorizeAcross(browser, { login: b, consent: b, finish: b }, other, employee, 'openid schedules:read');
        expect(second.pages).toEqual([{ page: 'consent', instance: 'B' }]);

        // The admin signs in to Developer Tools on A; B serves the page of that session, with the
        // same CSRF token, and the app is revoked through B.
        const session = await signIn(a, admin);
        const page = await session.agent.get(`${b.url}${DEVELOPER_TOOLS}`);
        expect(page.status).toBe(200);
        expect(pageCsrf(await page.text())).toBe(session.csrf);
        const revoke = await session.on(b.url).revoke(app.clientId);
        expect(revoke.status).toBe(200);
        expect(revoke.body.revoked).toMatchObject({ grants: 1 });

        // Seen by A at once: introspection, refresh, userinfo, and the gateway in front of A.
        expect(await introspect(a, gateway, next.access_token)).toEqual({ active: false });
        expect(await introspect(a, gateway, tokens.access_token)).toEqual({ active: false });
        expect((await tokenRequest(a, app, { grant_type: 'refresh_token', refresh_token: next.refresh_token })).body.error).toBe('invalid_grant');
        expect(await userinfo(a, next.access_token)).toBe(401);
        const refused = await call(`${api.url}/v2/schedules`, { authorization: bearer(next.access_token) });
        expect(refused.status).toBe(401);
        expect(refused.challenge).toBe('Bearer realm="v2", error="invalid_token"');

        // Reconnecting asks for consent again, on whichever instance.
        const again = await authorizeAcross(browser, { login: a, consent: a, finish: b }, app, employee, scope);
        expect(again.pages).toEqual([{ page: 'consent', instance: 'A' }]);

        // A code is redeemed once across instances: replayed on B after A redeemed it, it is
        // refused and the tokens it gave are revoked (RFC 6749 §4.1.2), on A too.
        const code = { grant_type: 'authorization_code', code: again.code, redirect_uri: REDIRECT_URI, code_verifier: again.verifier };
        const redeemed = await tokenRequest(a, app, code);
        expect(redeemed.status).toBe(200);
        const reissued = redeemed.body as { access_token: string };
        expect((await introspect(b, gateway, reissued.access_token)).active).toBe(true);
        expect((await tokenRequest(b, app, code)).body.error).toBe('invalid_grant');
        expect(await introspect(a, gateway, reissued.access_token)).toEqual({ active: false });
      } finally {
        await api.close();
      }
    });

    test('access tokens revoked through one instance are refused by the other at once', async () => {
      const pat = await createToken(db, admin.user, { kind: 'access_token', name: 'cross', scopes: ['schedules:read'], expiresAt: null });
      expect(await introspect(a, gateway, pat.token)).toMatchObject({ active: true, auth_type: 'access_token', company_guid: companyGuid });
      const del = await send(`${b.url}/api/v1/access-tokens/${pat.record.id}`, { method: 'DELETE', headers: { authorization: bearer(adminPat) } });
      expect(del.status).toBe(200);
      expect(await introspect(a, gateway, pat.token)).toEqual({ active: false });
    });

    test('sign-in throttling counts failures across instances', async () => {
      const target = await person('admin');
      const browser = new Browser();
      const attempt = async (instance: Instance, password: string) => {
        const form = await browser.request(`${instance.url}/login`);
        return browser.request(`${instance.url}/login`, { form: { _csrf: formField(form.text, '_csrf'), email: target.email, password } });
      };
      // RATE_LIMIT failures split over A and B: no single instance saw them all.
      expect((await attempt(a, 'wrong-1')).status).toBe(401);
      expect((await attempt(b, 'wrong-2')).status).toBe(401);
      expect((await attempt(a, 'wrong-3')).status).toBe(401);
      // Now even the right password is refused, on both.
      for (const instance of [b, a]) {
        const res = await attempt(instance, target.password);
        expect(res.status).toBe(429);
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    });
  });

  describe('WORKERS=2', () => {
    beforeAll(async () => {
      cluster = await clusterStarting!;
    }, 60_000);

    const workersSeen = (instance: Instance, from = 0) =>
      new Set(instance.logs().slice(from).filter((l) => l.msg === 'request').map((l) => l.worker as number));

    test('two worker processes, both answering, through a whole token flow', async () => {
      const c = cluster!;
      expect(childPids(c.child.pid!)).toHaveLength(2);
      // /healthz answered as soon as one worker listened: wait until both have answered.
      const deadline = Date.now() + 30_000;
      while (workersSeen(c).size < 2) {
        if (Date.now() > deadline) throw new Error(`only workers ${[...workersSeen(c)]} answered:\n${c.output().slice(-2000)}`);
        expect((await send(`${c.url}/healthz`)).status).toBe(200);
        await new Promise((r) => setTimeout(r, 50));
      }

      // A whole flow, one fresh connection per request: the workers take turns.
      const before = c.logs().length;
      const app = await newApp();
      const flow = await authorizeAcross(new Browser(), { login: c, consent: c, finish: c }, app, employee, 'openid schedules:read');
      const issued = await tokenRequest(c, app, {
        grant_type: 'authorization_code', code: flow.code, redirect_uri: REDIRECT_URI, code_verifier: flow.verifier,
      });
      expect(issued.status).toBe(200);
      const token = (issued.body as { access_token: string }).access_token;
      for (let i = 0; i < 4; i++) expect((await introspect(c, gateway, token)).active).toBe(true);
      expect(await userinfo(c, token)).toBe(200);
      // Both serving workers took part (worker 1 was the one that prepared the database and exited).
      expect(workersSeen(c, before)).toEqual(workersSeen(c));
      expect(workersSeen(c, before).size).toBe(2);
    });

    test('a crashed worker is replaced, and SIGTERM stops the primary and its workers', async () => {
      const c = cluster!;
      const [victim, survivor] = childPids(c.child.pid!);
      process.kill(victim!, 'SIGKILL');
      const deadline = Date.now() + 15_000;
      let replacement: number | undefined;
      while (!replacement) {
        if (Date.now() > deadline) throw new Error(`no replacement worker:\n${c.output().slice(-2000)}`);
        replacement = childPids(c.child.pid!).find((pid) => pid !== survivor && pid !== victim);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Meanwhile the survivor answers alone.
      for (let i = 0; i < 3; i++) expect((await send(`${c.url}/healthz`)).status).toBe(200);

      const workers = childPids(c.child.pid!);
      const stopped = await c.stop();
      expect(stopped).toEqual({ code: 0, signal: null, graceful: true });
      await new Promise((r) => setTimeout(r, 200));
      expect(workers.filter(alive)).toEqual([]);
    });
  });
});
