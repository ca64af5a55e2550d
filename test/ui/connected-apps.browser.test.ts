// Connected Apps in a real browser (Debian chromium driven by playwright-core): an admin signs
// in, sees the app (name, GUID, scopes in plain words, who connected it, when), copies its GUID
// and reads it back from the clipboard, revokes it through the dialog that says it cannot be
// undone, and sees the row go and a message confirm — then the same with JavaScript disabled
// (the link leads to a confirmation page, a form POST revokes). Introspection and the JSON API
// confirm each revocation; cancelling, an expired session and a stale row revoke nothing wrong.
// SCREENSHOTS=<dir> saves screenshots of each step there.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import type * as oidc from 'openid-client';
import { createUser } from '../../src/companies/users.js';
import type { Company } from '../../src/companies/users.js';
import { DEVELOPER_TOOLS as PAGE } from '../helpers/admin.js';
import { launchBrowser, newContext, signInPage } from '../helpers/browser.js';
import { authorize, connectUser, introspect, refresh, rpConfig, tokenRequest } from '../helpers/oauth.js';
import { makeApp, makeCompany, makeGateway, makeUser, startTestServer, type TestApp, type TestServer, type TestUser } from '../helpers/server.js';

interface Connected {
  app: TestApp;
  name: string;
  accessToken: string;
  refreshToken: string;
  ccToken: string;
}

let server: TestServer;
let company: Company;
let admin: TestUser;
let dana: TestUser;
let gateway: { clientId: string; clientSecret: string };
let browser: Browser;
let shiftboard: Connected;
let payroll: Connected;
let slack: Connected;
let zapier: Connected;

async function connectApp(name: string, scope: string): Promise<Connected> {
  const app = await makeApp(server, { name });
  const config: oidc.Configuration = await rpConfig(server, app);
  // The admin gives it company-wide access (client credentials); then Dana, a manager, connects.
  await authorize(server, config, app, admin, { scope: `openid ${scope} company_access` });
  const c = await connectUser(server, config, app, dana, { scope: `openid profile email offline_access ${scope}` });
  // No scope asked: the company grant's scopes.
  const cc = await tokenRequest(server, app, { grant_type: 'client_credentials', company: company.guid });
  expect(cc.status).toBe(200);
  return { app, name, accessToken: c.accessToken, refreshToken: c.refreshToken, ccToken: String(cc.body.access_token) };
}

async function expectAlive(c: Connected): Promise<void> {
  expect((await introspect(server, gateway, c.accessToken)).body).toMatchObject({ active: true, company_guid: company.guid });
  expect((await introspect(server, gateway, c.ccToken)).body).toMatchObject({ active: true, company_guid: company.guid });
}

async function expectRevoked(c: Connected): Promise<void> {
  expect((await introspect(server, gateway, c.accessToken)).body).toStrictEqual({ active: false });
  expect((await introspect(server, gateway, c.ccToken)).body).toStrictEqual({ active: false });
  expect((await refresh(server, c.app, c.refreshToken)).body.error).toBe('invalid_grant');
}

const rowOf = (page: Page, c: Connected): Locator => page.locator(`#connected-apps tr[data-client-id="${c.app.clientId}"]`);

async function shot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS) await page.screenshot({ path: join(process.env.SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The connected apps the JSON API lists for this browser's session. */
async function listedByApi(page: Page): Promise<Array<{ client_id: string; last_used_at: string | null }>> {
  const res = await page.request.get(`${server.url}/api/v1/connected-apps`, { headers: { accept: 'application/json' } });
  expect(res.status()).toBe(200);
  return ((await res.json()) as { data: Array<{ client_id: string; last_used_at: string | null }> }).data;
}

beforeAll(async () => {
  server = await startTestServer();
  company = await makeCompany(server.db, 'Acme Logistics');
  admin = await makeUser(server.db, company.guid, 'admin');
  const password = 'pw-dana-0123456789';
  dana = { email: 'dana.rivera@acme.example', password, user: await createUser(server.db, { companyGuid: company.guid, email: 'dana.rivera@acme.example', password, role: 'manager', name: 'Dana Rivera' }) };
  gateway = await makeGateway(server);
  // Connected in this order, so the list (newest first) reads Zapier, Slack, PayrollPro, Shiftboard Sync.
  shiftboard = await connectApp('Shiftboard Sync', 'schedules:read schedules:write timepunches:read');
  payroll = await connectApp('PayrollPro', 'timepunches:read');
  slack = await connectApp('Slack', 'schedules:read');
  zapier = await connectApp('Zapier', 'users:read');
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('Developer Tools › Connected Apps, in a browser', () => {
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    context = await newContext(browser, server.url);
    page = await context.newPage();
  });
  afterAll(() => context.close());

  test('an admin signs in and sees each connected app: name, GUID, scopes in plain words, connected by and when', async () => {
    await page.goto(`${server.url}${PAGE}`);
    expect(new URL(page.url()).pathname).toBe('/login'); // not signed in yet
    await signInPage(page, server.url, admin);
    await shot(page, 'connected-apps');

    const rows = page.locator('#connected-apps tr[data-client-id]');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: { appName: string } }).dataset.appName)))
      .toEqual(['Zapier', 'Slack', 'PayrollPro', 'Shiftboard Sync']);
    expect((await page.locator('#connected-apps h2').textContent())!.replace(/\s+/g, ' ').trim()).toBe('Connected Apps 4');

    const row = rowOf(page, shiftboard);
    expect(await row.locator('.app-name').textContent()).toBe('Shiftboard Sync');
    expect(await row.locator('code.guid').textContent()).toBe(shiftboard.app.clientId);
    const access = await row.locator('.scopes-cell li').allTextContents();
    expect(access).toEqual([
      'See schedules and shifts', 'Create, change and publish schedules and shifts', 'See time punches and timesheets',
      'Confirm who you are', 'See your name', 'See your e-mail address', 'Keep access while you are away',
    ]);
    expect(access.join(' ')).not.toMatch(/schedules:read|openid/); // words, not scope names
    const by = await row.locator('td[data-label="Connected by"]').innerText();
    expect(by).toContain('Dana Rivera');
    expect(by).toContain(dana.email);
    const connectedAt = await row.locator('td[data-label="Connected"] time').getAttribute('datetime');
    expect(Math.abs(Date.parse(connectedAt!) - Date.now())).toBeLessThan(120_000);
    // Relative words, the exact local time in the tooltip (the browser's time zone: UTC here).
    expect(await row.locator('td[data-label="Connected"]').innerText()).toMatch(/^(just now|\d+ minutes? ago)$/);
    expect(await row.locator('td[data-label="Connected"] time').getAttribute('title')).toMatch(new RegExp(`${new Date().getUTCFullYear()}.*UTC`));
    // "Last used" says what the API says.
    const api = (await listedByApi(page)).find((c) => c.client_id === shiftboard.app.clientId)!;
    const lastUsed = await row.locator('td[data-label="Last used"]').innerText();
    if (api.last_used_at === null) expect(lastUsed).toBe('Never');
    else expect(await row.locator('td[data-label="Last used"] time').getAttribute('datetime')).toBe(api.last_used_at);
  });

  test('More options › Copy GUID puts the GUID on the clipboard', async () => {
    const row = rowOf(page, shiftboard);
    const copyButton = row.getByRole('button', { name: 'Copy GUID' });
    expect(await copyButton.isVisible()).toBe(false); // inside the closed menu
    await page.evaluate("navigator.clipboard.writeText('something else')");
    await row.locator('summary', { hasText: 'More options' }).click();
    await copyButton.waitFor({ state: 'visible' });
    await shot(page, 'menu');
    await copyButton.click();
    await page.locator('#notice', { hasText: 'GUID copied' }).waitFor();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(shiftboard.app.clientId);
    expect(await copyButton.isVisible()).toBe(false); // the menu closed
  });

  test('Revoke access asks in a dialog that says it cannot be undone; Cancel changes nothing', async () => {
    const row = rowOf(page, shiftboard);
    await row.locator('summary').click();
    await row.getByRole('link', { name: 'Revoke access' }).click();
    const dialog = page.locator('#revoke-dialog');
    await dialog.waitFor({ state: 'visible' });
    await shot(page, 'dialog');
    const text = await dialog.innerText();
    expect(text).toContain('Revoke access of Shiftboard Sync?');
    expect(text).toContain('This cannot be undone.');
    expect(text).toContain(shiftboard.app.clientId);
    expect(new URL(page.url()).pathname).toBe(PAGE); // a dialog, not a navigation

    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await row.count()).toBe(1);
    await expectAlive(shiftboard);
    expect((await listedByApi(page)).map((c) => c.client_id)).toContain(shiftboard.app.clientId);
  });

  test('confirming revokes: the row disappears, a message confirms, and every token of the app is dead', async () => {
    const row = rowOf(page, shiftboard);
    await row.locator('summary').click();
    await row.getByRole('link', { name: 'Revoke access' }).click();
    const dialog = page.locator('#revoke-dialog');
    await dialog.waitFor({ state: 'visible' });
    await dialog.getByRole('button', { name: 'Revoke access' }).click();
    await row.waitFor({ state: 'detached' });
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.locator('#notice').innerText()).toContain('Shiftboard Sync no longer has access to Acme Logistics.');
    await shot(page, 'revoked');
    // Only that row went.
    expect(await rowOf(page, slack).count()).toBe(1);
    expect(await rowOf(page, payroll).count()).toBe(1);
    expect(await page.locator('#connected-apps h2 .count').textContent()).toBe('3');

    await expectRevoked(shiftboard);
    await expectAlive(slack);
    expect((await listedByApi(page)).map((c) => c.client_id)).not.toContain(shiftboard.app.clientId);
    await page.reload();
    expect(await rowOf(page, shiftboard).count()).toBe(0);
  });

  test('a row revoked meanwhile (another tab, another admin) goes, with a warning', async () => {
    // Revoked through the API with this session, as another tab would, while the page shows it.
    const csrf = await page.locator('meta[name="csrf-token"]').getAttribute('content');
    const res = await page.request.delete(`${server.url}/api/v1/connected-apps/${zapier.app.clientId}`, { headers: { 'x-csrf-token': csrf! } });
    expect(res.status()).toBe(200);
    const row = rowOf(page, zapier);
    await row.locator('summary').click();
    await row.getByRole('link', { name: 'Revoke access' }).click();
    await page.locator('#revoke-dialog').getByRole('button', { name: 'Revoke access' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await page.locator('#notice').innerText()).toContain('Zapier was already revoked');
    expect(await page.locator('#connected-apps h2 .count').textContent()).toBe('2');
    await expectRevoked(zapier);
    await expectAlive(slack);
  });

  test('when the session has ended, the dialog says so and nothing is revoked', async () => {
    await server.db.run('DELETE FROM admin_sessions');
    const row = rowOf(page, slack);
    await row.locator('summary').click();
    await row.getByRole('link', { name: 'Revoke access' }).click();
    const dialog = page.locator('#revoke-dialog');
    await dialog.getByRole('button', { name: 'Revoke access' }).click();
    const error = dialog.locator('.dialog-error');
    await error.waitFor({ state: 'visible' });
    expect(await error.innerText()).toMatch(/sign in/i);
    expect(await dialog.isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await row.count()).toBe(1);
    await expectAlive(slack);
  });
});

describe('Developer Tools › Connected Apps, with JavaScript disabled', () => {
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    context = await newContext(browser, server.url, { javaScriptEnabled: false });
    page = await context.newPage();
    await signInPage(page, server.url, admin);
  });
  afterAll(() => context.close());

  test('the link leads to a confirmation page; Cancel goes back and changes nothing', async () => {
    const row = rowOf(page, payroll);
    await row.locator('summary').click(); // <details> opens without script
    expect(await row.getByRole('button', { name: 'Copy GUID' }).isVisible()).toBe(false); // needs script: not offered
    await Promise.all([
      page.waitForURL(`${server.url}${PAGE}/connected-apps/${payroll.app.clientId}/revoke`),
      row.getByRole('link', { name: 'Revoke access' }).click(),
    ]);
    await shot(page, 'confirm-page');
    const text = await page.locator('main').innerText();
    expect(text).toContain('Revoke access of PayrollPro?');
    expect(text).toContain('This cannot be undone.');
    await Promise.all([page.waitForURL(`${server.url}${PAGE}#connected-apps`), page.getByRole('link', { name: 'Cancel' }).click()]);
    expect(await rowOf(page, payroll).count()).toBe(1);
    await expectAlive(payroll);
  });

  test('submitting the confirmation revokes; the page shows the flash message once', async () => {
    await page.goto(`${server.url}${PAGE}/connected-apps/${payroll.app.clientId}/revoke`);
    await Promise.all([
      page.waitForURL(`${server.url}${PAGE}#connected-apps`),
      page.locator('form button[type=submit]', { hasText: 'Revoke access' }).click(),
    ]);
    expect(await page.locator('#notice').innerText()).toContain('PayrollPro no longer has access to Acme Logistics.');
    await shot(page, 'revoked-no-js');
    expect(await rowOf(page, payroll).count()).toBe(0);
    expect(await rowOf(page, slack).count()).toBe(1);
    await expectRevoked(payroll);
    await expectAlive(slack);
    await page.reload();
    expect((await page.locator('#notice').innerText()).trim()).toBe('');
    // Going back to the confirmation of a revoked app: 404, nothing to revoke.
    const again = await page.goto(`${server.url}${PAGE}/connected-apps/${payroll.app.clientId}/revoke`);
    expect(again!.status()).toBe(404);
  });
});
