// GET /api/v1/audit-events pages: newest first, `limit` per page, `next_cursor` to the next
// page and null on the last; walking the pages yields every event of the company exactly once
// and none of another company's. SQLite, or PostgreSQL with DATABASE_URL=postgres://….
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Company } from '../../src/companies/users.js';
import { recordAudit } from '../../src/audit/audit.js';
import { signIn, type SignedIn } from '../helpers/admin.js';
import { makeCompany, makeUser, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let company: Company;
let session: SignedIn;
const EVENTS = 7;

beforeAll(async () => {
  server = await startTestServer();
  company = await makeCompany(server.db);
  const other = await makeCompany(server.db);
  const admin = await makeUser(server.db, company.guid, 'admin');
  for (let i = 0; i < EVENTS; i++) {
    await recordAudit(server.db, { companyId: company.id, actor: admin.user, action: 'access_token.created', targetType: 'access_token', targetId: `t${i}` });
    await recordAudit(server.db, { companyId: other.id, actor: null, action: 'access_token.created', targetType: 'access_token', targetId: `other${i}` });
  }
  session = await signIn(server, admin);
});
afterAll(() => server.close());

test('pages of `limit`, newest first, each event exactly once, the last page without a cursor', async () => {
  const seen: string[] = [];
  const ids: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await session.api('GET', `/audit-events?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    const data = res.body.data as Array<{ id: number; target_id: string }>;
    expect(data.length).toBeLessThanOrEqual(3);
    seen.push(...data.map((e) => e.target_id));
    ids.push(...data.map((e) => e.id));
    cursor = res.body.next_cursor as string | null;
    if (cursor !== null) expect(data).toHaveLength(3);
    pages++;
  } while (cursor !== null && pages < 10);
  expect(pages).toBe(Math.ceil(EVENTS / 3));
  expect(seen).toEqual(Array.from({ length: EVENTS }, (_, i) => `t${EVENTS - 1 - i}`));
  expect(ids).toEqual([...ids].sort((a, b) => b - a));
});

test('a page exactly as long as what is left ends with a null cursor', async () => {
  const res = await session.api('GET', `/audit-events?limit=${EVENTS}`);
  expect(res.status).toBe(200);
  expect(res.body.data).toHaveLength(EVENTS);
  expect(res.body.next_cursor).toBeNull();
  const short = await session.api('GET', `/audit-events?limit=${EVENTS - 1}`);
  expect(short.body.next_cursor).toEqual(expect.any(String));
  const rest = await session.api('GET', `/audit-events?limit=${EVENTS}&cursor=${short.body.next_cursor}`);
  expect((rest.body.data as Array<{ target_id: string }>).map((e) => e.target_id)).toEqual(['t0']);
  expect(rest.body.next_cursor).toBeNull();
});
