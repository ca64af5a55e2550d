// First start: the generated admin password never goes to the log stream — a file of mode 0600
// in the data directory, printed only on an interactive terminal — and the first sign-in asks
// for a new password before anything else.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { announceBootstrap, INITIAL_PASSWORD_FILE } from '../../src/first-start.js';
import type { BootstrapResult } from '../../src/server.js';
import { createLogger } from '../../src/shared/logger.js';
import { AdminSession, DEVELOPER_TOOLS } from '../helpers/admin.js';
import { formField, UserAgent } from '../helpers/oauth.js';
import { makeApp, startTestServer, type TestServer } from '../helpers/server.js';
import * as oidc from 'openid-client';
import { rpConfig } from '../helpers/oauth.js';

let server: TestServer;
let first: BootstrapResult;
const dir = mkdtempSync(join(tmpdir(), 'grantledger-first-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  server = await startTestServer({ bootstrap: true }, undefined, { onBootstrap: (b) => { first = b; } });
});
afterAll(() => server.close());

describe('the generated password', () => {
  test('goes to a 0600 file, to the terminal only when stdout is one, and never to the logs', () => {
    const lines: string[] = [];
    const logger = createLogger('info', {}, { write: (l: string) => void lines.push(l) });
    const piped: string[] = [];
    const file = announceBootstrap(server.settings, first, logger, { dir, out: { isTTY: false, write: (t) => void piped.push(t) } });
    expect(file).toBe(join(dir, INITIAL_PASSWORD_FILE));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain(`password=${first.password}`);
    expect(piped).toEqual([]);
    expect(lines.join('')).not.toContain(first.password);
    expect(lines.join('')).toContain(INITIAL_PASSWORD_FILE);

    const terminal: string[] = [];
    announceBootstrap(server.settings, first, logger, { dir, out: { isTTY: true, write: (t) => void terminal.push(t) } });
    expect(terminal.join('')).toContain(first.password);
    expect(lines.join('')).not.toContain(first.password);
  });
});

describe('the first sign-in', () => {
  test('asks for a new password before Developer Tools or the API; afterwards only the new one works', async () => {
    const agent = new UserAgent();
    const signInWith = async (password: string) => {
      const csrf = formField(await (await agent.get(`${server.url}/login`)).text(), '_csrf');
      return agent.postForm(`${server.url}/login`, { _csrf: csrf, email: first.email, password });
    };
    // The OAuth login page refuses the generated password until it is changed.
    const app = await makeApp(server);
    const auth = oidc.buildAuthorizationUrl(await rpConfig(server, app), {
      redirect_uri: app.redirectUri, scope: 'openid', state: oidc.randomState(),
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    });
    const oauthAgent = new UserAgent();
    const login = await oauthAgent.follow(await oauthAgent.get(auth.href), auth.href, server.url);
    const loginHtml = await login.res.text();
    const uid = /\/interaction\/([^/"]+)\//.exec(loginHtml)![1]!;
    const oauthLogin = await oauthAgent.postForm(`${server.url}/interaction/${uid}/login`, { _csrf: formField(loginHtml, '_csrf'), email: first.email, password: first.password });
    expect(oauthLogin.status).toBe(403);
    expect(await oauthLogin.text()).toContain('Choose a new password first');

    const res = await signInWith(first.password);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/settings/password');
    const tools = await agent.get(`${server.url}${DEVELOPER_TOOLS}`);
    expect(tools.status).toBe(302);
    expect(tools.headers.get('location')).toBe('/settings/password');
    expect((await new AdminSession(server.url, agent).api('GET', '/connected-apps')).status).toBe(403);

    const page = await (await agent.get(`${server.url}/settings/password`)).text();
    const csrf = formField(page, '_csrf');
    const mismatch = await agent.postForm(`${server.url}/settings/password`, { _csrf: csrf, password: 'a-new-password-1', confirm: 'another-one-2' });
    expect(mismatch.status).toBe(400);
    const short = await agent.postForm(`${server.url}/settings/password`, { _csrf: csrf, password: 'short', confirm: 'short' });
    expect(short.status).toBe(400);
    const saved = await agent.postForm(`${server.url}/settings/password`, { _csrf: csrf, password: 'a-new-password-1', confirm: 'a-new-password-1' });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe(DEVELOPER_TOOLS);
    expect((await agent.get(`${server.url}${DEVELOPER_TOOLS}`)).status).toBe(200);

    expect((await signInWith(first.password)).status).toBe(401);
    const again = await signInWith('a-new-password-1');
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe(DEVELOPER_TOOLS);
  });
});
