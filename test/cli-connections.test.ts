// `grantledger connection list | revoke`: the operator's view of a company's Connected Apps, and
// the same revocation command Developer Tools runs (one transaction; audited as the operator;
// every token of the app for the company dead when it returns).
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { grantAuthorization } from '../src/ledger/authorizations.js';
import { packageRoot } from '../src/shared/paths.js';
import { randomSecret } from '../src/shared/crypto.js';
import { listAudit } from '../src/audit/audit.js';
import { connect, introspect, rpConfig, tokenRequest } from './helpers/oauth.js';
import { makeApp, makeCompany, makeGateway, makeUser, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ secrets: { secretKey: randomSecret(32) } });
});
afterAll(() => server.close());

/** The CLI against the test server's database (SQLite file, or the PostgreSQL schema). */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { url, schema } = server.database;
  const databaseUrl = schema ? `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}` : url;
  const env = { ...process.env, NODE_ENV: 'test', DATABASE_URL: databaseUrl, SECRET_KEY: server.settings.secrets.secretKey };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: packageRoot, env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

test('connection list shows the company’s apps; connection revoke ends every token of the app for that company only', async () => {
  const [acme, other] = await Promise.all([makeCompany(server.db), makeCompany(server.db)]);
  const [admin, otherAdmin] = await Promise.all([makeUser(server.db, acme.guid, 'admin'), makeUser(server.db, other.guid, 'admin')]);
  const gateway = await makeGateway(server);
  const app = await makeApp(server, { name: 'Payroll Sync' });
  const config = await rpConfig(server, app);
  const mine = await connect(server, config, app, admin, { scope: 'openid schedules:read company_access' });
  const theirs = await connect(server, config, app, otherAdmin, { scope: 'openid schedules:read' });
  const cc = await tokenRequest(server, app, { grant_type: 'client_credentials', company: acme.guid });
  expect(cc.status).toBe(200);
  await grantAuthorization(server.db, { user: admin.user, clientId: (await makeApp(server)).clientId, granted: ['openid'], companyAccess: null });

  const listed = await cli('connection', 'list', '--company', acme.guid, '--json');
  expect(listed.code).toBe(0);
  const data = (JSON.parse(listed.stdout) as { data: Array<{ client_id: string; company_access: unknown; users: number }> }).data;
  expect(data).toHaveLength(2);
  expect(data.find((c) => c.client_id === app.clientId)).toMatchObject({ company_access: { scopes: ['schedules:read'] }, users: 1 });

  const revoked = await cli('connection', 'revoke', '--company', acme.guid, '--client-id', app.clientId, '--json');
  expect(revoked.code).toBe(0);
  expect(JSON.parse(revoked.stdout)).toMatchObject({ client_id: app.clientId, revoked: { grants: 1, access_tokens: 1, client_credentials_tokens: 1 } });
  for (const t of [mine.tokens.access_token, String(cc.body.access_token)]) expect((await introspect(server, gateway, t)).body).toEqual({ active: false });
  expect((await introspect(server, gateway, theirs.tokens.access_token)).body.active).toBe(true);
  const audit = await listAudit(server.db, acme.id, { limit: 10 });
  expect(audit.data.find((e) => e.action === 'connection.revoked')).toMatchObject({ actor: 'operator:cli', target_id: app.clientId });

  // Again: it is gone (exit 1, one line); malformed arguments: exit 2, nothing opened.
  const again = await cli('connection', 'revoke', '--company', acme.guid, '--client-id', app.clientId);
  expect(again.code).toBe(1);
  expect(again.stderr.trim().split('\n')).toHaveLength(1);
  for (const args of [['--company', 'acme', '--client-id', app.clientId], ['--company', acme.guid], ['--client-id', app.clientId]]) {
    const bad = await cli('connection', 'revoke', ...args);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^grantledger: /);
  }
}, 240_000); // nine CLI processes, each a few seconds on a loaded machine
