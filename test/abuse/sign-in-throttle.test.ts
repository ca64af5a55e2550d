// Sign-in throttling as an attacker tries it: parallel bursts, many e-mails from one address,
// a spoofed X-Forwarded-For, someone locking a person out from elsewhere. Both sign-in forms.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { listAudit } from '../../src/audit/audit.js';
import { LoginThrottle } from '../../src/shared/rate-limit.js';
import { formField, UserAgent } from '../helpers/oauth.js';
import { makeCompany, makeUser, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { eventually } from '../helpers/wait.js';
import * as oidc from 'openid-client';
import { makeApp } from '../helpers/server.js';
import { rpConfig } from '../helpers/oauth.js';

const LIMIT = 10;
let server: TestServer;
let admin: TestUser;
let companyId: number;
let ipSeq = 0;
/** A fresh client address (what the proxy in front appends to X-Forwarded-For). */
const newIp = () => `203.0.113.${++ipSeq}`;

beforeAll(async () => {
  server = await startTestServer({ admin: { loginRateLimit: LIMIT }, server: { trustProxy: 1 } });
  const company = await makeCompany(server.db);
  companyId = company.id;
  admin = await makeUser(server.db, company.guid, 'admin');
});
afterAll(() => server.close());

const throttle = () => server.running.services.throttle;

async function devToolsForm(): Promise<{ agent: UserAgent; csrf: string }> {
  const agent = new UserAgent();
  const csrf = formField(await (await agent.get(`${server.url}/login`)).text(), '_csrf');
  return { agent, csrf };
}

/** One Developer Tools sign-in from `ip` (the leftmost X-Forwarded-For entry is the client's own lie). */
async function signInFrom(form: { agent: UserAgent; csrf: string }, ip: string, email: string, password: string) {
  const res = await form.agent.postForm(`${server.url}/login`, { _csrf: form.csrf, email, password }, { 'x-forwarded-for': `198.51.100.${ipSeq % 250}, ${ip}` });
  await res.arrayBuffer();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), session: res.headers.getSetCookie().some((c) => c.startsWith('gl.admin=')) };
}

describe('sign-in throttling', () => {
  test('a parallel burst of 40 counts exactly LOGIN_RATE_LIMIT failures; the right password at #35 is refused while limited', async () => {
    const ip = newIp();
    const form = await devToolsForm();
    const first = Array.from({ length: 34 }, (_, i) => signInFrom(form, ip, admin.email, `wrong-${i}`));
    // All 34 are in flight; the window fills while they run, then #35–#40 arrive.
    await eventually(async () => ((await throttle().limiter.used(LoginThrottle.emailKey(admin.email, ip))) >= LIMIT ? true : undefined));
    const rest = Array.from({ length: 6 }, (_, i) => signInFrom(form, ip, admin.email, i === 0 ? admin.password : `wrong-late-${i}`));
    const answers = await Promise.all([...first, ...rest]);
    expect(answers.filter((a) => a.status === 401)).toHaveLength(LIMIT);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(40 - LIMIT);
    for (const a of answers.filter((x) => x.status === 429)) expect(Number(a.retryAfter)).toBeGreaterThan(0);
    expect(answers[34]).toMatchObject({ status: 429, session: false });
    expect(answers.some((a) => a.session)).toBe(false);
    expect(await throttle().limiter.used(LoginThrottle.emailKey(admin.email, ip))).toBe(LIMIT);

    // The lock is tied to that address: the person signs in from their own.
    const elsewhere = await signInFrom(await devToolsForm(), newIp(), admin.email, admin.password);
    expect(elsewhere).toMatchObject({ status: 303, session: true });

    // …and the company sees the lockout in its audit trail, once.
    const audit = await listAudit(server.db, companyId, { limit: 50 });
    const locked = audit.data.filter((e) => e.action === 'sign_in.locked');
    expect(locked).toHaveLength(1);
    expect(locked[0]).toMatchObject({ actor: 'system', target_type: 'user', target_id: admin.user.guid, details: { ip, failures: LIMIT } });
  });

  test('per IP across e-mails: 5 × the limit, whatever the client writes leftmost in X-Forwarded-For', async () => {
    // A second instance on the same database, with a small limit (2 per e-mail × IP, 10 per IP).
    const small = await startTestServer({ admin: { loginRateLimit: 2 }, server: { trustProxy: 1 }, secrets: { secretKey: server.settings.secrets.secretKey } }, server.database);
    try {
      const ip = newIp();
      const agent = new UserAgent();
      const csrf = formField(await (await agent.get(`${small.url}/login`)).text(), '_csrf');
      const post = async (email: string, from: string) => {
        const res = await agent.postForm(`${small.url}/login`, { _csrf: csrf, email, password: 'x' }, { 'x-forwarded-for': `10.9.${++ipSeq % 250}.1, ${from}` });
        await res.arrayBuffer();
        return res.status;
      };
      const answers = [];
      for (let i = 0; i < 12; i++) answers.push(await post(`nobody-${i}@example.com`, ip));
      expect(answers).toEqual([...Array(10).fill(401), 429, 429]);
      // Another address is not affected.
      expect(await post('nobody-0@example.com', newIp())).toBe(401);
    } finally {
      await small.running.close();
    }
  });

  test('TRUST_PROXY=<n>: the client IP is the n-th address from the right', async () => {
    const two = await startTestServer({ server: { trustProxy: 2 }, secrets: { secretKey: server.settings.secrets.secretKey } }, server.database);
    try {
      const agent = new UserAgent();
      const csrf = formField(await (await agent.get(`${two.url}/login`)).text(), '_csrf');
      const res = await agent.postForm(`${two.url}/login`, { _csrf: csrf, email: 'hops@example.com', password: 'x' }, { 'x-forwarded-for': '1.1.1.1, 192.0.2.7, 10.0.0.2' });
      expect(res.status).toBe(401);
      const limiter = two.running.services.throttle.limiter;
      expect(await limiter.used(LoginThrottle.emailKey('hops@example.com', '192.0.2.7'))).toBe(1);
      expect(await limiter.used(LoginThrottle.emailKey('hops@example.com', '1.1.1.1'))).toBe(0);
      expect(await limiter.used(LoginThrottle.emailKey('hops@example.com', '10.0.0.2'))).toBe(0);
    } finally {
      await two.running.close();
    }
  });

  test('the OAuth login page shares the throttle: a parallel burst gets LOGIN_RATE_LIMIT failures through', async () => {
    const app = await makeApp(server);
    const config = await rpConfig(server, app);
    const agent = new UserAgent();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: app.redirectUri, scope: 'openid', code_challenge_method: 'S256',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    });
    const { res } = await agent.follow(await agent.get(url.href), url.href, server.url);
    const html = await res.text();
    const uid = /\/interaction\/([^/"]+)\//.exec(html)![1]!;
    const csrf = formField(html, '_csrf');
    const ip = newIp();
    const answers = await Promise.all(Array.from({ length: LIMIT + 6 }, (_, i) =>
      agent.postForm(`${server.url}/interaction/${uid}/login`, { _csrf: csrf, email: admin.email, password: `nope-${i}` }, { 'x-forwarded-for': ip })
        .then(async (r) => { await r.arrayBuffer(); return r.status; })));
    expect(answers.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(answers.filter((s) => s === 429)).toHaveLength(6);
  });

  test('control characters in the e-mail or password: 400 on both forms, nothing counted', async () => {
    const ip = newIp();
    const form = await devToolsForm();
    for (const [email, password] of [['a\u0000@example.com', 'x'], [admin.email, 'pass\u0000word'], ['a\u001b[2J@example.com', 'x']]) {
      const a = await signInFrom(form, ip, email!, password!);
      expect(a.status).toBe(400);
    }
    expect(await throttle().limiter.used(LoginThrottle.ipKey(ip))).toBe(0);
  });
});
