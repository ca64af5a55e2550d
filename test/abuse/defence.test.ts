// Defence in depth: /metrics behind METRICS_TOKEN when it is set; a new connection is in the
// company's audit trail.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { listAudit } from '../../src/audit/audit.js';
import { connect } from '../helpers/oauth.js';
import { startOAuthWorld, type OAuthWorld } from '../helpers/world.js';

const TOKEN = 'metrics-token-0123456789abcdef';
let world: OAuthWorld;
beforeAll(async () => {
  world = await startOAuthWorld({ server: { metricsToken: TOKEN } }, { role: 'admin' });
});
afterAll(() => world.server.close());

const metrics = (authorization?: string) =>
  fetch(`${world.server.url}/metrics`, { headers: authorization ? { authorization } : {} }).then(async (r) => ({ status: r.status, body: await r.text(), challenge: r.headers.get('www-authenticate') }));

describe('METRICS_TOKEN', () => {
  test('without the token, or with another: 401 and no metrics; with it: the metrics', async () => {
    for (const auth of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, TOKEN, `Basic ${TOKEN}`]) {
      const a = await metrics(auth);
      expect(a.status).toBe(401);
      expect(a.challenge).toBe('Bearer realm="metrics"');
      expect(a.body).not.toContain('grantledger_http_requests_total');
    }
    const ok = await metrics(`Bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('grantledger_http_requests_total');
  });
});

describe('audit', () => {
  test('a new connection writes connection.created in the company\'s audit trail', async () => {
    await connect(world.server, world.config, world.app, world.user);
    const events = (await listAudit(world.server.db, world.company.id, { limit: 50 })).data;
    expect(events.filter((e) => e.action === 'connection.created' && e.target_id === world.app.clientId)).toHaveLength(1);
  });
});
