// Secret rotation with an overlap, against a running server: after `rotate-secret` the new
// client secret works at once, the old one keeps working until the overlap ends and not after
// it (or at once with keep-old 0), the app's connections and refresh tokens survive, and every
// rotation is audited. A webhook secret rotation signs each delivery with both secrets during
// the overlap (`v1=…,v1=…`), then with the new one alone.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { listOperatorAudit } from '../../src/audit/operator-audit.js';
import { rotateClientSecret, rotateWebhookSecret, SECRET_CACHE_MS } from '../../src/clients/rotate-secret.js';
import { revokeConnection } from '../../src/ledger/revoke-connection.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from '../../src/webhooks/signature.js';
import type { ClientCredentials } from '../helpers/http.js';
import { connectUser, introspect, refresh, rpConfig } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeGateway, makeUser, startTestServer, type TestServer } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';

let server: TestServer;
const CLI = { operator: 'cli' };

/** 200 when the client authenticates (the token itself is unknown: `active: false`), 401 when not. */
async function authStatus(client: ClientCredentials): Promise<number> {
  return (await introspect(server, client, 'not-a-token')).status;
}

beforeAll(async () => {
  server = await startTestServer({ webhooks: { pollInterval: 0.2, backoffBase: 0.2 } });
});
afterAll(() => server?.close());

describe('client secret rotation', () => {
  test('a gateway: the new secret works at once, the old one until the overlap ends and not after', async () => {
    const old = await makeGateway(server);
    expect(await authStatus(old)).toBe(200); // cached by the running server
    const r = await rotateClientSecret(server.db, CLI, 'gateway', old.clientId, 2);
    expect(r.client_secret).toMatch(/^glcs_/);
    const until = Date.parse(r.previous_secret_expires_at!);
    const fresh = { clientId: old.clientId, clientSecret: r.client_secret };
    expect(await authStatus(fresh)).toBe(200);
    expect(await authStatus(old)).toBe(200);
    const endedAt = await eventually(async () => ((await authStatus(old)) === 401 ? Date.now() : undefined), 10_000, 'the overlap to end');
    expect(endedAt).toBeGreaterThanOrEqual(until);
    expect(await authStatus(fresh)).toBe(200);
    expect(await authStatus({ clientId: old.clientId, clientSecret: `${r.client_secret}x` })).toBe(401);
  });

  test('an app: refresh tokens survive, both secrets work during the overlap; keep-old 0 ends the old one at once', async () => {
    const company = await makeCompany(server.db);
    const user = await makeUser(server.db, company.guid, 'admin');
    const app = await makeApp(server);
    const old = { clientId: app.clientId, clientSecret: app.clientSecret };
    const { refreshToken } = await connectUser(server, await rpConfig(server, app), app, user);

    const day = await rotateClientSecret(server.db, CLI, 'app', app.clientId);
    expect(Date.parse(day.previous_secret_expires_at!) - Date.now()).toBeGreaterThan(23.9 * 3600_000);
    const second = { clientId: app.clientId, clientSecret: day.client_secret };
    const refreshed = await refresh(server, second, refreshToken);
    expect(refreshed.status).toBe(200);
    expect(await authStatus(old)).toBe(200);

    const now = await rotateClientSecret(server.db, CLI, 'app', app.clientId, 0);
    expect(now.previous_secret_expires_at).toBeNull();
    const third = { clientId: app.clientId, clientSecret: now.client_secret };
    expect((await refresh(server, third, String(refreshed.body.refresh_token))).status).toBe(200);
    // Neither earlier secret works any more (a running server: within its secret cache).
    await eventually(async () => ((await authStatus(second)) === 401 ? true : undefined), SECRET_CACHE_MS * 2, 'the old secret to stop');
    expect(await authStatus(old)).toBe(401);
  });

  test('refused: an unknown id, a gateway as an app, a public app, an overlap beyond 30 days — nothing changes', async () => {
    const gateway = await makeGateway(server);
    const pub = await makeApp(server, { public: true, grantTypes: ['authorization_code'] });
    await expect(rotateClientSecret(server.db, CLI, 'app', '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ status: 404 });
    await expect(rotateClientSecret(server.db, CLI, 'app', gateway.clientId)).rejects.toMatchObject({ status: 404 });
    await expect(rotateClientSecret(server.db, CLI, 'app', pub.clientId)).rejects.toMatchObject({ status: 409 });
    await expect(rotateClientSecret(server.db, CLI, 'gateway', gateway.clientId, 31 * 86400)).rejects.toMatchObject({ status: 400 });
    await expect(rotateClientSecret(server.db, CLI, 'gateway', gateway.clientId, -1)).rejects.toMatchObject({ status: 400 });
    expect(await authStatus(gateway)).toBe(200);
  });

  test('every rotation is audited with the operator and the end of the overlap, never the secret', async () => {
    const gateway = await makeGateway(server);
    const r = await rotateClientSecret(server.db, { operator: 'provisioning' }, 'gateway', gateway.clientId, 60);
    const [event] = (await listOperatorAudit(server.db)).filter((e) => e.target_id === gateway.clientId);
    expect(event).toMatchObject({
      actor: 'operator:provisioning', action: 'gateway.secret_rotated', target_type: 'gateway',
      details: { previous_secret_expires_at: r.previous_secret_expires_at },
    });
    expect(JSON.stringify(event)).not.toContain(r.client_secret);
  });
});

describe('webhook secret rotation', () => {
  let receiver: Server;
  let url: string;
  const arrivals: Array<{ headers: IncomingHttpHeaders; raw: string }> = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        arrivals.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  /** Revokes the app's connection to a fresh company and waits for the webhook it sends. */
  async function delivery(app: Awaited<ReturnType<typeof makeApp>>) {
    const company = await makeCompany(server.db);
    const user = await makeUser(server.db, company.guid, 'admin');
    await connectUser(server, await rpConfig(server, app), app, user);
    await revokeConnection({ db: server.db, effects: server.running.services.effects }, company, { operator: 'cli' }, app.clientId);
    return eventually(async () => arrivals.find((a) => a.raw.includes(company.guid)), 10_000, 'the webhook');
  }

  test('both signatures side by side during the overlap, each verifying with its secret; then the new one alone', async () => {
    const app = await makeApp(server, { webhookUrl: url });
    const r = await rotateWebhookSecret(server.db, server.running.services.kek, CLI, app.clientId, 3600);
    expect(r.webhook_secret).toMatch(/^whsec_/);

    const during = await delivery(app);
    const signature = String(during.headers[SIGNATURE_HEADER]);
    const timestamp = String(during.headers[TIMESTAMP_HEADER]);
    expect(signature).toMatch(/^v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    const [first, second] = signature.split(',');
    expect(verifyWebhook(r.webhook_secret, { timestamp, signature: first }, during.raw)).toBe(true);
    expect(verifyWebhook(app.webhookSecret!, { timestamp, signature: second }, during.raw)).toBe(true);
    expect(verifyWebhook(app.webhookSecret!, { timestamp, signature }, during.raw)).toBe(true);
    expect(verifyWebhook(r.webhook_secret, { timestamp, signature }, during.raw)).toBe(true);
    expect(verifyWebhook('whsec_someone-else', { timestamp, signature }, during.raw)).toBe(false);

    const now = await rotateWebhookSecret(server.db, server.running.services.kek, CLI, app.clientId, 0);
    const after = await delivery(app);
    const single = String(after.headers[SIGNATURE_HEADER]);
    expect(single).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verifyWebhook(now.webhook_secret, { timestamp: String(after.headers[TIMESTAMP_HEADER]), signature: single }, after.raw)).toBe(true);
    expect(verifyWebhook(r.webhook_secret, { timestamp: String(after.headers[TIMESTAMP_HEADER]), signature: single }, after.raw)).toBe(false);
  });

  test('an app without a webhook URL has no webhook secret to rotate', async () => {
    const app = await makeApp(server);
    await expect(rotateWebhookSecret(server.db, server.running.services.kek, CLI, app.clientId)).rejects.toMatchObject({ status: 409 });
  });
});
