// The `authorization.revoked` webhook: queued in the revoke's transaction, delivered from the
// outbox with an HMAC-SHA256 signature over `timestamp.body`, retried after a failure, and a
// dead or hanging endpoint stops neither the revocation nor other apps' deliveries.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { signIn, type AdminSession } from '../helpers/admin.js';
import { createTestDatabase } from '../helpers/db.js';
import { freePort } from '../helpers/http.js';
import { connectUser, rpConfig } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeUser, startTestServer, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';
import type { Company } from '../../src/companies/users.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from '../../src/webhooks/signature.js';

interface Arrival {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  at: number;
  /** When the sender gave up on the connection (only /hang requests, which are never answered). */
  closedAt?: number;
}

let server: TestServer;
let receiver: Server;
let receiverUrl: string;
const sockets = new Set<Socket>();
const arrivals: Arrival[] = [];
let company: Company;
let admin: TestUser;
let session: AdminSession;

const settings = { backoffBase: 0.2, pollInterval: 0.2, maxAttempts: 3, timeout: 2 };

/** /ok answers 204; /flaky answers 500 to the first attempt of each delivery; /redirect 302; /hang never answers. */
function startReceiver(): Promise<void> {
  const failedOnce = new Set<string>();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const arrival: Arrival = { path, headers: req.headers, raw: Buffer.concat(chunks).toString('utf8'), at: performance.now() };
      arrivals.push(arrival);
      if (path.startsWith('/hang')) {
        res.on('close', () => (arrival.closedAt = performance.now()));
        return; // never answers
      }
      const delivery = String(req.headers['x-grantledger-delivery']);
      if (path.startsWith('/redirect')) {
        res.writeHead(302, { location: `${receiverUrl}/ok-after-redirect` }).end();
        return;
      }
      if (path.startsWith('/flaky') && !failedOnce.has(delivery)) {
        failedOnce.add(delivery);
        res.writeHead(500).end('try later');
        return;
      }
      res.writeHead(204).end();
    });
  });
  receiver.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) => receiver.listen(0, '127.0.0.1', () => {
    receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
    resolve();
  }));
}

/** An app with a webhook to `url`, connected to the company. */
async function connectedApp(url: string): Promise<TestApp> {
  const app = await makeApp(server, { webhookUrl: url });
  expect(app.webhookSecret).toMatch(/^whsec_/);
  await connectUser(server, await rpConfig(server, app), app, admin);
  return app;
}

/** Revokes the app's connection; the answer and when it arrived (performance.now(), to order it against arrivals). */
async function revokeTimed(app: TestApp): Promise<{ body: Record<string, unknown>; returnedAt: number }> {
  const res = await session.revoke(app.clientId);
  expect(res.status).toBe(200);
  return { body: res.body, returnedAt: performance.now() };
}

/** Makes every insert of a webhook row for `clientId` fail (a trigger), as a broken outbox would. */
async function refuseWebhookRows(clientId: string): Promise<void> {
  if (server.db.dialect === 'sqlite') {
    await server.db.run(`CREATE TRIGGER refuse_webhooks BEFORE INSERT ON webhook_deliveries WHEN NEW.client_id = '${clientId}'
      BEGIN SELECT RAISE(ABORT, 'outbox refused'); END`);
  } else {
    await server.db.run("CREATE FUNCTION refuse_webhooks() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'outbox refused'; END $$ LANGUAGE plpgsql");
    await server.db.run(`CREATE TRIGGER refuse_webhooks BEFORE INSERT ON webhook_deliveries FOR EACH ROW
      WHEN (NEW.client_id = '${clientId}') EXECUTE FUNCTION refuse_webhooks()`);
  }
}

async function allowWebhookRows(): Promise<void> {
  if (server.db.dialect === 'sqlite') {
    await server.db.run('DROP TRIGGER refuse_webhooks');
  } else {
    await server.db.run('DROP TRIGGER refuse_webhooks ON webhook_deliveries');
    await server.db.run('DROP FUNCTION refuse_webhooks()');
  }
}

const arrivalsFor = (app: TestApp) => arrivals.filter((a) => JSON.parse(a.raw || '{}').client_id === app.clientId);

async function deliveryRow(app: TestApp) {
  return (await server.db.get<{ status: string; attempts: number; last_status: number | null; last_error: string | null }>(
    'SELECT status, attempts, last_status, last_error FROM webhook_deliveries WHERE client_id = ?', [app.clientId],
  ))!;
}

beforeAll(async () => {
  await startReceiver();
  server = await startTestServer({ webhooks: settings });
  company = await makeCompany(server.db);
  admin = await makeUser(server.db, company.guid, 'admin');
  session = await signIn(server, admin);
});
afterAll(async () => {
  await server.close();
  for (const s of sockets) s.destroy();
  await new Promise((r) => receiver.close(r));
});

describe('authorization.revoked webhooks', () => {
  test('revoking queues the event; it arrives once, signed, with the documented body', async () => {
    const app = await connectedApp(`${receiverUrl}/ok`);
    const { body: revoked } = await revokeTimed(app);
    // Queued in the revoke's own transaction: the row exists as soon as the call returns.
    const queued = await server.db.all<{ event: string; target_url: string }>(
      'SELECT event, target_url FROM webhook_deliveries WHERE client_id = ?', [app.clientId],
    );
    expect(queued).toEqual([{ event: 'authorization.revoked', target_url: `${receiverUrl}/ok` }]);
    const [arrival] = await eventually(async () => (arrivalsFor(app).length ? arrivalsFor(app) : undefined), 5000, 'the webhook');
    const a = arrival!;
    expect(a.headers['content-type']).toMatch(/^application\/json/);
    expect(a.headers['x-grantledger-event']).toBe('authorization.revoked');
    expect(JSON.parse(a.raw)).toEqual({
      event: 'authorization.revoked', company_guid: company.guid, client_id: app.clientId,
      revoked_at: revoked.revoked_at, revoked_by: admin.user.guid, revoked: 'connection',
    });

    const timestamp = String(a.headers[TIMESTAMP_HEADER]);
    const signature = String(a.headers[SIGNATURE_HEADER]);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(30);
    // With our helper…
    expect(verifyWebhook(app.webhookSecret!, { timestamp, signature }, a.raw)).toBe(true);
    // …and independently, as a receiver would in a few lines.
    const expected = createHmac('sha256', app.webhookSecret!).update(`${timestamp}.${a.raw}`).digest('hex');
    expect(signature).toBe(`v1=${expected}`);
    // Hostile copies fail: another body, another timestamp, another secret, an old timestamp.
    expect(verifyWebhook(app.webhookSecret!, { timestamp, signature }, a.raw.replace(company.guid, '00000000-0000-4000-8000-000000000000'))).toBe(false);
    expect(verifyWebhook(app.webhookSecret!, { timestamp: String(Number(timestamp) + 1), signature }, a.raw)).toBe(false);
    expect(verifyWebhook(`${app.webhookSecret!}x`, { timestamp, signature }, a.raw)).toBe(false);
    expect(verifyWebhook(app.webhookSecret!, { timestamp, signature }, a.raw, 300, (Number(timestamp) + 3600) * 1000)).toBe(false);
    expect(verifyWebhook(app.webhookSecret!, { timestamp: undefined, signature }, a.raw)).toBe(false);

    await eventually(async () => ((await deliveryRow(app)).status === 'delivered' ? true : undefined), 3000, 'delivered');
    expect(await deliveryRow(app)).toMatchObject({ status: 'delivered', attempts: 1, last_status: 204 });
    // A second revoke is a 404 and queues nothing; several polls later there is still one arrival.
    expect((await session.revoke(app.clientId)).status).toBe(404);
    await server.running.workers.webhooks.idle();
    expect(arrivalsFor(app)).toHaveLength(1);
    expect(await server.db.all('SELECT id FROM webhook_deliveries WHERE client_id = ?', [app.clientId])).toHaveLength(1);
  });

  test('a receiver that answers 500 first is retried with backoff, then the delivery succeeds', async () => {
    const app = await connectedApp(`${receiverUrl}/flaky`);
    await revokeTimed(app);
    const both = await eventually(async () => (arrivalsFor(app).length >= 2 ? arrivalsFor(app) : undefined), 5000, 'the retry');
    const [first, second] = both as [Arrival, Arrival];
    expect(second.raw).toBe(first.raw);
    expect(second.headers['x-grantledger-delivery']).toBe(first.headers['x-grantledger-delivery']);
    expect(second.at - first.at).toBeGreaterThanOrEqual(settings.backoffBase * 1000 - 50);
    expect(verifyWebhook(app.webhookSecret!, { timestamp: String(second.headers[TIMESTAMP_HEADER]), signature: String(second.headers[SIGNATURE_HEADER]) }, second.raw)).toBe(true);
    await eventually(async () => ((await deliveryRow(app)).status === 'delivered' ? true : undefined), 3000, 'delivered');
    expect(await deliveryRow(app)).toMatchObject({ status: 'delivered', attempts: 2, last_status: 204 });
    await server.running.workers.webhooks.idle();
    expect(arrivalsFor(app)).toHaveLength(2);
  });

  test('a dead endpoint (connection refused) ends dead after maxAttempts, and is not tried again', async () => {
    const closedPort = await freePort();
    const app = await connectedApp(`http://127.0.0.1:${closedPort}/webhook`);
    await revokeTimed(app);
    const row = await eventually(async () => {
      const r = await deliveryRow(app);
      return r.status === 'dead' ? r : undefined;
    }, 5000, 'dead');
    expect(row.attempts).toBe(settings.maxAttempts);
    expect(row.last_error).toBeTruthy();
    // Given up: never attempted again, even once its backoff has passed.
    await server.db.run('UPDATE webhook_deliveries SET next_attempt_at = 0 WHERE client_id = ?', [app.clientId]);
    await server.running.workers.webhooks.idle();
    expect((await deliveryRow(app)).attempts).toBe(settings.maxAttempts);
    expect(await session.connectedAppIds()).not.toContain(app.clientId);
  });

  test('a redirect (3xx) is a failure, never followed', async () => {
    const app = await connectedApp(`${receiverUrl}/redirect`);
    await revokeTimed(app);
    const row = await eventually(async () => {
      const r = await deliveryRow(app);
      return r.status === 'dead' ? r : undefined;
    }, 5000, 'dead');
    expect(row).toMatchObject({ attempts: settings.maxAttempts, last_status: 302, last_error: 'HTTP 302' });
    await server.running.workers.webhooks.idle();
    expect(arrivals.filter((a) => a.path === '/ok-after-redirect')).toHaveLength(0);
    expect(arrivalsFor(app)).toHaveLength(settings.maxAttempts);
  });

  test('the webhook is written in the revoke’s own transaction: when queueing it fails, nothing is revoked', async () => {
    const app = await connectedApp(`${receiverUrl}/ok`);
    await refuseWebhookRows(app.clientId);
    try {
      const res = await session.revoke(app.clientId);
      expect(res.status).toBe(500);
      expect(res.body.error?.code).toEqual(expect.any(String));
    } finally {
      await allowWebhookRows();
    }
    // Rolled back as one: the connection, the person's authorization and the audit trail are as before.
    expect(await session.connectedAppIds()).toContain(app.clientId);
    expect(await server.db.all('SELECT id FROM connections WHERE client_id = ? AND revoked_at IS NOT NULL', [app.clientId])).toHaveLength(0);
    expect(await server.db.all('SELECT id FROM consents WHERE client_id = ?', [app.clientId])).toHaveLength(1);
    expect(await server.db.all("SELECT id FROM audit_events WHERE target_id = ? AND action = 'connection.revoked'", [app.clientId])).toHaveLength(0);
    expect(await server.db.all('SELECT id FROM webhook_deliveries WHERE client_id = ?', [app.clientId])).toHaveLength(0);
    // Once the outbox takes rows again, the same revoke goes through and queues its webhook.
    await revokeTimed(app);
    expect(await server.db.all('SELECT id FROM webhook_deliveries WHERE client_id = ?', [app.clientId])).toHaveLength(1);
  });

  test('an endpoint that never answers holds up neither the revocation nor other apps’ deliveries', async () => {
    const hanging = await connectedApp(`${receiverUrl}/hang`);
    const healthy = await connectedApp(`${receiverUrl}/ok`);
    const slow = await revokeTimed(hanging);
    // The hanging delivery is in flight (for up to `timeout`) when the next app is revoked…
    const [hung] = await eventually(async () => (arrivalsFor(hanging).length ? arrivalsFor(hanging) : undefined), 3000, 'the hanging request');
    // The revoke answered before the sender gave up on the hanging request: it did not wait for it.
    expect(hung!.closedAt === undefined || slow.returnedAt < hung!.closedAt).toBe(true);
    await revokeTimed(healthy);
    const [arrival] = await eventually(async () => (arrivalsFor(healthy).length ? arrivalsFor(healthy) : undefined), 5000, 'the healthy webhook');
    // …and the healthy one arrives while it is still hanging, not after the worker gave up on it.
    expect(hung!.closedAt === undefined || arrival!.at < hung!.closedAt).toBe(true);
    expect(verifyWebhook(healthy.webhookSecret!, { timestamp: String(arrival!.headers[TIMESTAMP_HEADER]), signature: String(arrival!.headers[SIGNATURE_HEADER]) }, arrival!.raw)).toBe(true);

    // Each attempt times out after 2 s; after maxAttempts it is given up.
    const row = await eventually(async () => {
      const r = await deliveryRow(hanging);
      return r.status === 'dead' ? r : undefined;
    }, 15_000, 'dead');
    expect(row).toMatchObject({ attempts: settings.maxAttempts, last_error: 'timed out' });
    expect(arrivalsFor(hanging)).toHaveLength(settings.maxAttempts);
    expect(await deliveryRow(healthy)).toMatchObject({ status: 'delivered', attempts: 1 });
  }, 30_000);

  test('shutting down does not wait for a hanging endpoint; the delivery is handed back, not lost', async () => {
    const database = await createTestDatabase();
    try {
      const other = await startTestServer({ webhooks: { ...settings, timeout: 60 } }, database);
      const otherCompany = await makeCompany(other.db);
      const otherAdmin = await makeUser(other.db, otherCompany.guid, 'admin');
      const app = await makeApp(other, { webhookUrl: `${receiverUrl}/hang-shutdown` });
      await connectUser(other, await rpConfig(other, app), app, otherAdmin);
      expect((await (await signIn(other, otherAdmin)).revoke(app.clientId)).status).toBe(200);
      await eventually(async () => (arrivals.some((a) => a.path === '/hang-shutdown') ? true : undefined), 3000, 'the hanging request');
      // Waiting for the 60 s timeout would end in this test's own (30 s).
      await other.close(); // the database stays open: it is ours
      const row = await database.db.get<{ status: string; attempts: number; locked_until: number | null }>(
        'SELECT status, attempts, locked_until FROM webhook_deliveries WHERE client_id = ?', [app.clientId],
      );
      // Another instance (or the next start) sends it: pending, unlocked, no attempt counted.
      expect(row).toEqual({ status: 'pending', attempts: 0, locked_until: null });
    } finally {
      await database.drop();
    }
  }, 30_000);
});
