// Revoke while other requests introspect and refresh the same tokens in parallel. Requests
// that started before the revoke returned may succeed; none that started after it may — and
// at the end no token of the company is active, not even one issued by a refresh that was
// already in flight when the revoke ran.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { signIn, type AdminSession } from '../helpers/admin.js';
import { clientCredentials, connectUser, introspect, refresh } from '../helpers/oauth.js';
import { makeCompany, makeUser, type TestApp, type TestServer } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';
import { startOAuthWorld } from '../helpers/world.js';
import type { Company } from '../../src/companies/users.js';

interface Chain {
  company: Company;
  access: string;
  refresh: string;
  /** Every access and refresh token this chain ever held. */
  issued: string[];
}

interface Call {
  kind: 'introspect' | 'refresh';
  company: 'A' | 'B';
  start: number;
  end: number;
  ok: boolean;
}

let server: TestServer;
let app: TestApp;
let gateway: { clientId: string; clientSecret: string };
let A: Company;
let B: Company;
let adminA: AdminSession;
const chains: Chain[] = [];
const ccTokensA: string[] = [];

beforeAll(async () => {
  const world = await startOAuthWorld({}, { role: 'admin' });
  ({ server, app, gateway, company: A } = world);
  const { config, user: admin } = world;
  B = await makeCompany(server.db);
  for (const [company, n] of [[A, 4], [B, 1]] as const) {
    for (let i = 0; i < n; i++) {
      const user = i === 0 && company === A ? admin : await makeUser(server.db, company.guid, 'employee');
      const c = await connectUser(server, config, app, user);
      chains.push({ company, access: c.accessToken, refresh: c.refreshToken, issued: [c.accessToken, c.refreshToken] });
    }
  }
  for (let i = 0; i < 2; i++) ccTokensA.push(String((await clientCredentials(server, app, A.guid)).body.access_token));
  adminA = await signIn(server, admin);
});
afterAll(() => server.close());

describe('revocation racing introspection and refresh', () => {
  test('nothing that starts after the revoke returned succeeds; nothing is active afterwards', async () => {
    const calls: Call[] = [];
    let stop = false;
    const label = (c: Company) => (c === A ? 'A' : 'B');

    const introspectLoop = async (tokens: () => string[], company: 'A' | 'B') => {
      while (!stop) {
        for (const token of tokens()) {
          const start = performance.now();
          const r = await introspect(server, gateway, token);
          calls.push({ kind: 'introspect', company, start, end: performance.now(), ok: r.body.active === true });
        }
      }
    };
    const refreshLoop = async (chain: Chain) => {
      while (!stop) {
        const start = performance.now();
        const r = await refresh(server, app, chain.refresh);
        const ok = r.status === 200;
        calls.push({ kind: 'refresh', company: label(chain.company), start, end: performance.now(), ok });
        if (ok) {
          chain.access = String(r.body.access_token);
          chain.refresh = String(r.body.refresh_token);
          chain.issued.push(chain.access, chain.refresh);
        } else {
          expect(r.body.error).toBe('invalid_grant');
          await new Promise((res) => setTimeout(res, 5));
        }
      }
    };

    const loops = [
      ...chains.map(refreshLoop),
      ...chains.map((c) => introspectLoop(() => [c.access], label(c.company))),
      // Stale tokens too: the first access token of each chain, and the cc tokens.
      ...chains.filter((c) => c.company === A).map((c) => introspectLoop(() => [c.issued[0]!], 'A')),
      introspectLoop(() => ccTokensA, 'A'),
    ];

    // Counted, not timed, so a loaded machine only makes the test slower: revoke once both kinds
    // have succeeded a few times, stop once both kinds have run a few times after the revoke.
    const count = (pred: (c: Call) => boolean) => calls.filter(pred).length;
    const until = (what: string, done: () => boolean) => eventually(async () => (done() ? true : undefined), 20_000, what);
    await until('traffic before the revoke', () =>
      count((c) => c.company === 'A' && c.kind === 'introspect' && c.ok) > 5 && count((c) => c.company === 'A' && c.kind === 'refresh' && c.ok) > 5);
    const revokeStart = performance.now();
    const revoked = await adminA.revoke(app.clientId);
    const revokeReturned = performance.now();
    expect(revoked.status).toBe(200);
    const startedAfter = (c: Call) => c.start > revokeReturned;
    await until('traffic after the revoke', () =>
      count((c) => startedAfter(c) && c.company === 'A' && c.kind === 'introspect') > 10
      && count((c) => startedAfter(c) && c.company === 'A' && c.kind === 'refresh') > 10
      && count((c) => startedAfter(c) && c.company === 'B') > 5);
    stop = true;
    await Promise.all(loops);

    const ofA = calls.filter((c) => c.company === 'A');
    const before = ofA.filter((c) => c.end < revokeStart);
    const after = ofA.filter((c) => c.start > revokeReturned);
    // The race was real: both kinds succeeded before, and both kinds ran after.
    expect(before.filter((c) => c.kind === 'introspect' && c.ok).length).toBeGreaterThan(5);
    expect(before.filter((c) => c.kind === 'refresh' && c.ok).length).toBeGreaterThan(5);
    expect(after.filter((c) => c.kind === 'introspect').length).toBeGreaterThan(10);
    expect(after.filter((c) => c.kind === 'refresh').length).toBeGreaterThan(10);
    // The rule.
    expect(after.filter((c) => c.ok)).toEqual([]);
    // B kept working throughout.
    const bAfter = calls.filter((c) => c.company === 'B' && c.start > revokeReturned);
    expect(bAfter.length).toBeGreaterThan(5);
    expect(bAfter.filter((c) => !c.ok)).toEqual([]);

    // Every token A's chains ever held — including any issued by a refresh in flight during
    // the revoke — is inactive now, asked as a gateway and as the app itself.
    for (const chain of chains.filter((c) => c.company === A)) {
      for (const token of chain.issued) {
        expect((await introspect(server, app, token)).body).toEqual({ active: false });
      }
      expect((await introspect(server, gateway, chain.access)).body).toEqual({ active: false });
      expect((await refresh(server, app, chain.refresh)).body.error).toBe('invalid_grant');
    }
    for (const token of ccTokensA) expect((await introspect(server, gateway, token)).body).toEqual({ active: false });
    const bChain = chains.find((c) => c.company === B)!;
    expect((await introspect(server, gateway, bChain.access)).body).toMatchObject({ active: true });
  });
});
