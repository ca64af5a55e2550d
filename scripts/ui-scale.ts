// `npx tsx scripts/ui-scale.ts [apps] [tokens]`: how fast the Developer Tools page answers for a
// company with many connected apps and access tokens (default 1,000 each, plus 1,000 API keys):
// the median and p95 time of GET /settings/developer-tools over real HTTP with a signed-in session,
// the HTML size, and the same for a search. SQLite unless DATABASE_URL says postgres://.
import { createApp } from '../src/clients/clients.js';
import { createToken } from '../src/tokens/tokens.js';
import { signIn, DEVELOPER_TOOLS } from '../test/helpers/admin.js';
import { makeCompany, makeUser, startTestServer } from '../test/helpers/server.js';

const apps = Number(process.argv[2] ?? 1000);
const tokens = Number(process.argv[3] ?? 1000);
const server = await startTestServer();
try {
  const company = await makeCompany(server.db, 'Scale Inc');
  const admin = await makeUser(server.db, company.guid, 'admin');
  const now = Date.now();
  for (let i = 0; i < apps; i++) {
    const app = await createApp(server.db, server.running.services.kek, { name: `App ${i}`, redirectUris: ['https://example.com/cb'], grantTypes: ['authorization_code'] });
    await server.db.run('INSERT INTO connections (company_id, client_id, scopes, connected_at, connected_by) VALUES (?, ?, ?, ?, ?)', [
      company.id, app.client_id, 'openid schedules:read users:read', now - i * 60_000, admin.user.id,
    ]);
  }
  for (let i = 0; i < tokens; i++) {
    await createToken(server.db, admin.user, { kind: 'access_token', name: `Token ${i}`, scopes: ['schedules:read'], expiresAt: null });
    await createToken(server.db, admin.user, { kind: 'api_key', name: `Key ${i}`, scopes: ['users:read'], expiresAt: null });
  }
  const session = await signIn(server, admin);
  async function measure(path: string, runs = 30): Promise<{ median: number; p95: number; bytes: number }> {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < runs + 3; i++) {
      const start = performance.now();
      const res = await session.agent.get(`${server.url}${path}`);
      const html = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      if (i >= 3) times.push(performance.now() - start); // 3 warm-up requests
      bytes = Buffer.byteLength(html);
    }
    times.sort((a, b) => a - b);
    return { median: times[Math.floor(times.length / 2)]!, p95: times[Math.floor(times.length * 0.95)]!, bytes };
  }
  const db = server.db.dialect;
  for (const [label, path] of [['page', DEVELOPER_TOOLS], ['search', `${DEVELOPER_TOOLS}?at_q=Token%2099&ca_sort=name`], ['page 50', `${DEVELOPER_TOOLS}?at_page=50&ak_page=50&ca_page=50`]] as const) {
    const m = await measure(path);
    console.log(`${db} ${apps} apps, ${tokens} tokens, ${tokens} keys — ${label}: median ${m.median.toFixed(1)} ms, p95 ${m.p95.toFixed(1)} ms, ${(m.bytes / 1024).toFixed(0)} KiB`);
  }
} finally {
  await server.close();
}
