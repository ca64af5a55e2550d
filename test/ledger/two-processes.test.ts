// Two grantledger processes on one database (as behind a load balancer): a revoke through one
// is seen by the other at once — no cache, no delay. The second process is the real
// `src/main.ts`, started as a child process with the same DATABASE_URL and SECRET_KEY.
// On PostgreSQL the test database is a schema: the child reaches it through a search_path in
// the URL (`?options=-c search_path=<schema>`, understood by node-postgres).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as oidc from 'openid-client';
import { signIn, type AdminSession } from '../helpers/admin.js';
import { freePort } from '../helpers/http.js';
import { clientCredentials, connectUser, introspect, refresh, rpConfig, userinfo } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeGateway, makeUser, startTestServer, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { packageRoot } from '../../src/shared/paths.js';

let one: TestServer;
let twoUrl: string;
let child: ChildProcess;
let childOutput = '';
let app: TestApp;
let gateway: { clientId: string; clientSecret: string };

function childDatabaseUrl(): string {
  const { url, schema } = one.database;
  if (!schema) return url;
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

async function startSecondProcess(): Promise<void> {
  const port = await freePort();
  twoUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for the server
  child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: packageRoot,
    env: {
      ...env,
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      // One public issuer for both instances, as behind a load balancer.
      ISSUER: one.url,
      DATABASE_URL: childDatabaseUrl(),
      SECRET_KEY: one.settings.secrets.secretKey!,
      BOOTSTRAP: 'false',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (childOutput += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (childOutput += d.toString()));
  const end = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the second process exited (${child.exitCode}): ${childOutput}`);
    const ready = await fetch(`${twoUrl}/readyz`).then((r) => r.ok, () => false);
    if (ready) return;
    if (Date.now() > end) throw new Error(`the second process did not become ready: ${childOutput}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The relying party's view with every endpoint on `viaUrl` (the issuer stays the shared one). */
async function configVia(viaUrl: string): Promise<oidc.Configuration> {
  const discovered = (await rpConfig(one, app)).serverMetadata();
  const meta = Object.fromEntries(Object.entries(discovered).map(([k, v]) => [
    k, k !== 'issuer' && typeof v === 'string' && v.startsWith(one.url) ? viaUrl + v.slice(one.url.length) : v,
  ])) as oidc.ServerMetadata;
  const config = new oidc.Configuration(meta, app.clientId, undefined, oidc.ClientSecretBasic(app.clientSecret));
  oidc.allowInsecureRequests(config);
  return config;
}

interface Held {
  company: string;
  access: string;
  refresh: string;
  cc: string;
  admin: TestUser;
}

/** A company whose user connected the app through `viaUrl`, plus a client-credentials token. */
async function holdTokens(viaUrl: string): Promise<Held> {
  const company = await makeCompany(one.db);
  const admin = await makeUser(one.db, company.guid, 'admin');
  const user = await makeUser(one.db, company.guid, 'employee');
  const via = { url: viaUrl };
  // Every URL the server hands out is the shared issuer's: follow them to `via`, as a balancer would.
  const c = await connectUser(via, await configVia(viaUrl), app, user, { issuer: one.url });
  // The admin gives the app company-wide access (client credentials for the company).
  await connectUser(via, await configVia(viaUrl), app, admin, { scope: 'openid schedules:read company_access', issuer: one.url });
  const first = await refresh(via, app, c.refreshToken); // the chain continues on `via`
  expect(first.status).toBe(200);
  const cc = await clientCredentials(via, app, company.guid);
  expect(cc.status).toBe(200);
  return { company: company.guid, access: String(first.body.access_token), refresh: String(first.body.refresh_token), cc: String(cc.body.access_token), admin };
}

async function expectAlive(url: string, h: Held): Promise<void> {
  expect((await introspect({ url }, gateway, h.access)).body).toMatchObject({ active: true, company_guid: h.company });
  expect((await introspect({ url }, gateway, h.cc)).body).toMatchObject({ active: true, company_guid: h.company });
  expect(await userinfo({ url }, h.access)).toBe(200);
}

async function expectDead(url: string, h: Held): Promise<void> {
  expect((await introspect({ url }, gateway, h.access)).body).toEqual({ active: false });
  expect((await introspect({ url }, gateway, h.cc)).body).toEqual({ active: false });
  expect(await userinfo({ url }, h.access)).toBe(401);
  expect((await refresh({ url }, app, h.refresh)).body.error).toBe('invalid_grant');
  expect((await clientCredentials({ url }, app, h.company)).body.error).toBe('unauthorized_client');
}

beforeAll(async () => {
  one = await startTestServer();
  app = await makeApp(one);
  gateway = await makeGateway(one);
  await startSecondProcess();
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  await one.close();
});

describe('two server processes on one database', () => {
  test('the second process serves the same issuer and database', async () => {
    const meta = (await (await fetch(`${twoUrl}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(meta.issuer).toBe(one.url);
    const twoJwks = await (await fetch(`${twoUrl}/jwks`)).json();
    const oneJwks = await (await fetch(`${one.url}/jwks`)).json();
    expect(twoJwks).toEqual(oneJwks);
  });

  test('tokens from process 1, revoked through process 2: process 1 answers active:false at once', async () => {
    const h = await holdTokens(one.url);
    await expectAlive(one.url, h);
    await expectAlive(twoUrl, h); // process 2 has looked at them too (any cache is warm)
    // One admin session for both processes (sessions and cookie keys live in the database).
    const session: AdminSession = (await signIn(one, h.admin)).on(twoUrl);
    const revoked = await session.revoke(app.clientId);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked).toMatchObject({ grants: 2, access_tokens: 3, refresh_tokens: 1, client_credentials_tokens: 1 });
    await expectDead(one.url, h);
    await expectDead(twoUrl, h);
    expect((await session.on(one.url).revoke(app.clientId)).status).toBe(404);
  });

  test('tokens from process 2, revoked through process 1: process 2 answers active:false at once', async () => {
    const h = await holdTokens(twoUrl);
    await expectAlive(twoUrl, h);
    await expectAlive(one.url, h);
    const session = await signIn({ url: twoUrl }, h.admin);
    expect((await session.on(one.url).revoke(app.clientId)).status).toBe(200);
    await expectDead(twoUrl, h);
    await expectDead(one.url, h);
    expect(await session.connectedAppIds()).toEqual([]);
  });

  test('the second process logged no error', () => {
    expect(childOutput).not.toMatch(/"level":"error"|failed to start/);
  });
});
