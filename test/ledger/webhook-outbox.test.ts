// The webhook outbox shared by several servers: two instances polling one database deliver each
// event exactly once (a delivery is claimed with a conditional update), and the retry backoff
// stops growing at its cap (an hour) however many attempts failed. Runs on SQLite and, with
// DATABASE_URL=postgres://…, on PostgreSQL.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { Company } from '../../src/companies/users.js';
import { backoffSeconds } from '../../src/webhooks/worker.js';
import { signIn, type SignedIn } from '../helpers/admin.js';
import { connectUser, rpConfig } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeUser, startTestServer, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

const settings = { backoffBase: 0.2, pollInterval: 0.05, maxAttempts: 30, timeout: 2 };
const HOUR_MS = 3_600_000;

let a: TestServer;
let b: TestServer;
let receiver: Server;
let receiverUrl: string;
/** Delivery ids as they arrived, per path. */
const arrivals: Array<{ path: string; delivery: string }> = [];
let company: Company;
let admin: TestUser;
let session: SignedIn;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.push({ path: req.url ?? '', delivery: String(req.headers['x-grantledger-delivery']) });
      res.writeHead(req.url?.startsWith('/fail') ? 500 : 204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  a = await startTestServer({ webhooks: settings });
  // B: another instance on the same database (and secret key), with its own webhook worker.
  b = await startTestServer({ webhooks: settings, secrets: a.settings.secrets }, a.database);
  company = await makeCompany(a.db);
  admin = await makeUser(a.db, company.guid, 'admin');
  session = await signIn(a, admin);
});
afterAll(async () => {
  await b.running.close();
  await a.close();
  await new Promise((r) => receiver.close(r));
});

async function connectedApp(path: string): Promise<TestApp> {
  const app = await makeApp(a, { webhookUrl: `${receiverUrl}${path}` });
  await connectUser(a, await rpConfig(a, app), app, admin);
  return app;
}

describe('two servers on one outbox', () => {
  test('every event is delivered exactly once', async () => {
    const apps: TestApp[] = [];
    for (let i = 0; i < 4; i++) apps.push(await connectedApp(`/once/${i}`));
    // Revoked through both instances, so both workers are kicked while the other polls.
    await Promise.all(apps.map((app, i) => (i % 2 ? session.on(b.url) : session).revoke(app.clientId).then((r) => expect(r.status).toBe(200))));
    const ids = await eventually(async () => {
      const rows = await a.db.all<{ id: number; status: string }>(
        `SELECT id, status FROM webhook_deliveries WHERE client_id IN (${apps.map(() => '?').join(', ')})`, apps.map((x) => x.clientId),
      );
      return rows.length === apps.length && rows.every((r) => r.status === 'delivered') ? rows.map((r) => String(r.id)) : undefined;
    }, 10_000, 'every delivery delivered');
    await Promise.all([a.running.workers.webhooks.idle(), b.running.workers.webhooks.idle()]);
    const sent = arrivals.filter((x) => x.path.startsWith('/once/')).map((x) => x.delivery);
    expect(sent.sort()).toEqual(ids.sort());
    expect(await a.db.all("SELECT id FROM webhook_deliveries WHERE status = 'delivered' AND attempts <> 1")).toEqual([]);
  });
});

describe('backoff', () => {
  test('doubles from backoffBase, then stays at an hour', () => {
    expect([1, 2, 3, 4].map((n) => backoffSeconds(0.2, n))).toEqual([0.2, 0.4, 0.8, 1.6]);
    expect(backoffSeconds(60, 7)).toBe(3600);
    expect(backoffSeconds(0.2, 200)).toBe(3600);
  });

  test('after many failed attempts the next one is an hour away, not more', async () => {
    const app = await connectedApp('/fail');
    expect((await session.revoke(app.clientId)).status).toBe(200);
    await eventually(async () => ((await row(app)).attempts >= 1 ? true : undefined), 5000, 'a first attempt');
    await Promise.all([a.running.workers.webhooks.idle(), b.running.workers.webhooks.idle()]);
    // As if it had failed 20 times: the 21st attempt, due now, schedules the 22nd.
    const before = Date.now();
    await a.db.run('UPDATE webhook_deliveries SET attempts = 20, next_attempt_at = 0 WHERE client_id = ?', [app.clientId]);
    const after = await eventually(async () => {
      const r = await row(app);
      return r.attempts === 21 ? r : undefined;
    }, 5000, 'the 21st attempt');
    const done = Date.now();
    expect(after.status).toBe('pending');
    expect(after.next_attempt_at).toBeGreaterThanOrEqual(before + HOUR_MS);
    expect(after.next_attempt_at).toBeLessThanOrEqual(done + HOUR_MS);
    // Not due: both workers find nothing to send.
    await Promise.all([a.running.workers.webhooks.idle(), b.running.workers.webhooks.idle()]);
    expect((await row(app)).attempts).toBe(21);
  });
});

async function row(app: TestApp) {
  return (await a.db.get<{ status: string; attempts: number; next_attempt_at: number }>(
    'SELECT status, attempts, next_attempt_at FROM webhook_deliveries WHERE client_id = ?', [app.clientId],
  ))!;
}
