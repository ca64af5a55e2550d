// `npm run demo` end to end in a real browser (Debian chromium via playwright-core): the demo
// app's page → "Connect to grantledger" → grantledger's sign-in and consent → back on the app,
// which shows the scopes and calls the demo V2 API (200) → the admin revokes the app in
// Developer Tools → the app's next call shows the 401. The demo starts its own grantledger on a
// fresh database (nothing answers at its issuer), as `npm run demo` does on a fresh checkout.
// SCREENSHOTS=<dir> saves screenshots of each step there.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { startDemo, type RunningDemo } from '../../scripts/demo.js';
import { launchBrowser, newContext, signInPage } from '../helpers/browser.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { freePort } from '../helpers/http.js';
import { testSettings, type TestUser } from '../helpers/server.js';

let database: TestDatabase;
let demo: RunningDemo;
let browser: Browser;

async function shot(page: Page, name: string): Promise<void> {
  if (process.env.SCREENSHOTS) await page.screenshot({ path: join(process.env.SCREENSHOTS, `demo-${name}.png`), fullPage: true });
}

beforeAll(async () => {
  database = await createTestDatabase();
  demo = await startDemo({ settings: await testSettings(await freePort()), db: database.db, apiPort: 0, appPort: 0 });
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await demo?.close();
  await database?.drop();
});

test('connect, see the scopes, call the API (200); revoked in Developer Tools, the next call is a 401', async () => {
  expect(demo.reused).toBe(false);
  const context = await newContext(browser, demo.issuer);
  // Each step crosses three servers (app, grantledger, API): more than the helper's 5 s on a loaded machine.
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();

  await page.goto(demo.appUrl);
  await shot(page, '1-app');
  await Promise.all([page.waitForSelector('form#login'), page.click('#connect')]);
  await page.fill('#email', demo.admin.email);
  await page.fill('#password', demo.admin.password);
  await Promise.all([page.waitForSelector('form#consent'), page.click('form#login button[type=submit]')]);
  expect(await page.locator('body').innerText()).toContain('Demo App');
  await shot(page, '2-consent');
  await Promise.all([page.waitForURL(`${demo.appUrl}/`), page.click('form#consent button[type=submit]')]);
  const scopes = (await page.locator('#scopes').innerText()).split(' ');
  expect(scopes).toEqual(expect.arrayContaining(['openid', 'schedules:read', 'company:read']));

  await Promise.all([page.waitForURL(`${demo.appUrl}/`), page.click('#call')]);
  expect(await page.locator('#status').innerText()).toBe('200');
  expect(await page.locator('#result').innerText()).toContain('Front desk');
  await shot(page, '3-called');

  // The admin revokes the app in Developer Tools.
  const admin = await context.newPage();
  await signInPage(admin, demo.issuer, demo.admin as TestUser);
  const row = admin.locator(`#connected-apps tr[data-client-id="${demo.clientId}"]`);
  await row.locator('summary').click();
  await row.getByRole('link', { name: 'Revoke access' }).click();
  const dialog = admin.locator('#revoke-dialog');
  await dialog.waitFor({ state: 'visible' });
  await dialog.getByRole('button', { name: 'Revoke access' }).click();
  await row.waitFor({ state: 'detached' });
  await shot(admin, '4-revoked');

  await page.bringToFront();
  await Promise.all([page.waitForURL(`${demo.appUrl}/`), page.click('#call')]);
  expect(await page.locator('#status').innerText()).toBe('401');
  expect(await page.locator('#result').innerText()).toMatch(/WWW-Authenticate: Bearer realm="demo-v2", error="invalid_token"/);
  await shot(page, '5-refused');
  await context.close();
}, 120_000);
