// Native apps (RFC 8252) end to end, in Debian chromium: a loopback app registered without a
// port gets the code by response_mode=form_post on the port it listens on (§7.3), under the
// content security policy (the provider's inline auto-submit runs by its sha256, no
// 'unsafe-inline'); a custom-scheme redirect works; RP-initiated logout returns to the app's
// registered post-logout redirect URI, and /session/end without a session is not a blank page.
// What the CLI refuses (what the provider would refuse) is checked in its own words.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { describeFailure } from '../../src/cli/errors.js';
import { createApp } from '../../src/clients/clients.js';
import { launchBrowser, newContext } from '../helpers/browser.js';
import { authorize, rpConfig } from '../helpers/oauth.js';
import { makeCompany, makeUser, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

let server: TestServer;
let user: TestUser;
let browser: Browser;
let loopback: Server;
let loopbackUrl = '';
let clientId = '';
/** What the loopback app received. */
const received: Array<{ method: string; path: string; body: string }> = [];

beforeAll(async () => {
  server = await startTestServer();
  user = await makeUser(server.db, (await makeCompany(server.db)).guid, 'admin');
  loopback = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>App</title><h1>Back in the app</h1>');
    });
  });
  await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
  loopbackUrl = `http://127.0.0.1:${(loopback.address() as AddressInfo).port}`;
  // Registered without a port, as RFC 8252 §7.3 says a native app does.
  ({ client_id: clientId } = await createApp(server.db, server.running.services.kek, {
    name: 'Kiosk', public: true,
    redirectUris: ['http://127.0.0.1/callback', 'com.example.kiosk:/callback'],
    postLogoutRedirectUris: [`${loopbackUrl}/logged-out`],
  }));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => loopback.close(() => resolve()));
  await server.close();
});

async function redeem(code: string, redirectUri: string, verifier: string) {
  const res = await fetch(`${server.url}/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('native apps', () => {
  test('form_post delivers the code to a loopback app on any port, under the CSP; RP logout returns to the app', async () => {
    const context = await newContext(browser, server.url);
    const page = await context.newPage();
    const policies: string[] = [];
    page.on('response', (r) => {
      const csp = r.headers()['content-security-policy'];
      if (csp && r.url().startsWith(server.url)) policies.push(csp);
    });
    const blocked: string[] = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); });

    const verifier = oidc.randomPKCECodeVerifier();
    const redirectUri = `${loopbackUrl}/callback`;
    const q = new URLSearchParams({
      client_id: clientId, redirect_uri: redirectUri, response_type: 'code', response_mode: 'form_post', scope: 'openid',
      state: 'st-1', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    await page.goto(`${server.url}/auth?${q}`);
    await page.fill('#email', user.email);
    await page.fill('#password', user.password);
    await page.click('form#login button[type=submit]');
    await page.click('form#consent button[type=submit]');
    await page.waitForURL(`${redirectUri}`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Back in the app');

    const post = received.find((r) => r.method === 'POST' && r.path === '/callback');
    expect(post).toBeDefined();
    const fields = new URLSearchParams(post!.body);
    expect(fields.get('state')).toBe('st-1');
    const token = await redeem(fields.get('code')!, redirectUri, verifier);
    expect(token.status).toBe(200);
    expect(token.body.access_token).toEqual(expect.any(String));
    expect(blocked).toEqual([]);
    expect(policies.length).toBeGreaterThan(0);
    for (const p of policies) expect(p).not.toContain('unsafe-inline');
    expect(policies.some((p) => /script-src 'self' 'sha256-/.test(p))).toBe(true);

    // RP-initiated logout back to the app's registered post-logout redirect URI.
    await page.goto(`${server.url}/session/end?${new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: `${loopbackUrl}/logged-out`, state: 'bye' })}`);
    await page.click('button[value=yes]');
    await page.waitForURL(`${loopbackUrl}/logged-out?state=bye`);
    await context.close();
  });

  test('/session/end without a session signs out and says so (the auto-submit runs under the CSP)', async () => {
    const context = await newContext(browser, server.url);
    const page = await context.newPage();
    await page.goto(`${server.url}/session/end`);
    await page.getByText('You are signed out.').waitFor();
    expect(await page.title()).not.toBe('Submitting Callback');
    await context.close();
  });

  test('a custom-scheme redirect URI works end to end', async () => {
    const config = await rpConfig(server, { clientId, clientSecret: '' });
    const a = await authorize(server, config, { redirectUri: 'com.example.kiosk:/callback' }, user, { scope: 'openid' });
    expect(a.callbackUrl.protocol).toBe('com.example.kiosk:');
    const token = await redeem(a.callbackUrl.searchParams.get('code')!, 'com.example.kiosk:/callback', a.codeVerifier);
    expect(token.status).toBe(200);
  });

  test('what the provider would refuse, the CLI refuses with one clear line', async () => {
    const refusal = async (redirectUris: string[], postLogoutRedirectUris: string[] = []) => {
      try {
        await createApp(server.db, server.running.services.kek, { name: 'X', public: true, redirectUris, postLogoutRedirectUris });
      } catch (err) {
        return describeFailure(err).message;
      }
      return 'accepted';
    };
    expect(await refusal(['javascript:alert(1)'])).toBe('--redirect-uri: must be https://, http:// on loopback, or a reverse-DNS custom scheme (got "javascript:alert(1)")');
    expect(await refusal(['com.example.kiosk:/cb', 'https://localhost/cb'])).toMatch(/^--redirect-uri: must not be https:\/\/ on loopback in a native app .* \(got "https:\/\/localhost\/cb"\)$/);
    expect(await refusal(['https://app.example/cb'], ['http://evil.example/bye'])).toMatch(/^--post-logout-redirect-uri: must be https:\/\/, http:\/\/ on loopback/);
    expect(await refusal(['com.example.kiosk:/cb', 'http://[::1]/cb'])).toBe('accepted');
  });
});
