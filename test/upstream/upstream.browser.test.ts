// One full path in a real browser (Debian chromium): an app sends the person to grantledger,
// they choose "Continue with Acme SaaS", sign in at the SaaS's provider (oidc-provider in its
// own process), come back to grantledger's consent page, allow, and the app gets a code that
// it redeems for tokens a gateway accepts. SCREENSHOTS=<dir> saves each step.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { createGateway } from '../../src/clients/clients.js';
import { launchBrowser, newContext } from '../helpers/browser.js';
import { introspect, rpConfig } from '../helpers/oauth.js';
import { makeApp, makeCompany, startTestServer, type TestServer } from '../helpers/server.js';
import { plannedUpstream, startUpstream, type Upstream } from '../helpers/upstream.js';

let server: TestServer;
let upstream: Upstream;
let browser: Browser;
let appServer: Server;
let appUrl: string;

beforeAll(async () => {
  const planned = await plannedUpstream();
  server = await startTestServer({
    login: { mode: 'both', upstream: { issuer: planned.issuer, clientId: planned.clientId, clientSecret: planned.clientSecret, name: 'Acme SaaS' } },
  });
  upstream = await startUpstream(planned.port, server.url, planned);
  // The app's redirect URI: a page that says it got a code.
  appServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><h1 id="app">The app got a code</h1>'));
  await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => appServer?.close(resolve));
  await upstream?.close();
  await server?.close();
});

test('app → grantledger → the SaaS’s sign-in → consent → app', async () => {
  const company = await makeCompany(server.db, 'Browser Company');
  await server.db.run('UPDATE companies SET external_id = ? WHERE id = ?', ['co-browser', company.id]);
  await upstream.setPeople({ 'ana-1': { email: 'ana@acme.example', email_verified: true, name: 'Ana', company: 'co-browser', role: 'admin' } });
  const app = await makeApp(server, { redirectUris: [`${appUrl}/callback`] });
  const config = await rpConfig(server, app);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: app.redirectUri, scope: 'openid email schedules:read', state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });

  const context = await newContext(browser, server.url);
  const page = await context.newPage();
  const shot = async (name: string) => {
    if (process.env.SCREENSHOTS) await page.screenshot({ path: join(process.env.SCREENSHOTS, `upstream-${name}.png`), fullPage: true });
  };
  try {
    await page.goto(url.href);
    await shot('1-login');
    await Promise.all([page.waitForURL(`${upstream.url}/**`), page.click('#upstream-sign-in')]);
    await page.fill('#sub', 'ana-1');
    await shot('2-upstream');
    await Promise.all([page.waitForURL(`${server.url}/interaction/**`), page.click('#upstream-login button[type=submit]')]);
    await page.waitForSelector('form#consent');
    expect(await page.textContent('body')).toContain('ana@acme.example');
    await shot('3-consent');
    await Promise.all([page.waitForURL(`${appUrl}/callback**`), page.click('form#consent button[type=submit]')]);
    await shot('4-app');
    const callback = new URL(page.url());
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const g = await createGateway(server.db, 'Gateway');
    const answer = await introspect(server, { clientId: g.client_id, clientSecret: g.client_secret }, tokens.access_token);
    expect(answer.body).toMatchObject({ active: true, company_guid: company.guid, scope: expect.stringContaining('schedules:read') });
  } finally {
    await context.close();
  }
});
