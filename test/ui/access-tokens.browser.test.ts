// Developer Tools in a real browser (Debian chromium driven by playwright-core): an admin signs
// in, creates an access token, sees it once with the warning, copies it to the clipboard, finds
// it listed without the secret after a reload, and revokes it after confirming; a legacy API key
// needs the deprecation confirmation. A gateway's introspection checks each step.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Company } from '../../src/companies/users.js';
import { DEVELOPER_TOOLS as PAGE } from '../helpers/admin.js';
import { launchBrowser, newContext, signInPage } from '../helpers/browser.js';
import { introspect } from '../helpers/oauth.js';
import { makeCompany, makeGateway, makeUser, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';

let server: TestServer;
let company: Company;
let admin: TestUser;
let gateway: { clientId: string; clientSecret: string };
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  server = await startTestServer();
  company = await makeCompany(server.db);
  admin = await makeUser(server.db, company.guid, 'admin');
  gateway = await makeGateway(server);
  browser = await launchBrowser();
  // A fresh context on the server's origin, with clipboard read/write granted.
  context = await newContext(browser, server.url, { baseURL: server.url });
  page = await context.newPage();
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
});

const gatewaySees = async (token: string) => (await introspect(server, gateway, token)).body;

async function countKeys(kind: 'access_token' | 'api_key'): Promise<number> {
  const row = await server.db.get<{ n: number | string }>(
    'SELECT COUNT(*) AS n FROM access_tokens WHERE company_id = ? AND kind = ?', [company.id, kind],
  );
  return Number(row?.n ?? 0);
}

describe('Developer Tools › access tokens and API keys, in a browser', () => {
  test('sign in at /login', async () => {
    // Developer Tools first sends an anonymous visitor to /login.
    await page.goto(PAGE);
    await page.waitForURL(/\/login\?next=/);
    await signInPage(page, server.url, admin);
    expect(await page.locator('h1').textContent()).toBe('Developer Tools');
    expect(await page.locator('#access-tokens').count()).toBe(1);
    expect(await page.locator('#api-keys').count()).toBe(1);
  });

  test('create an access token: shown once with the warning, copied, introspected; listed without the secret; revoked after confirming', async () => {
    const section = page.locator('#access-tokens');
    await section.locator('summary', { hasText: 'Create access token' }).click();
    await page.fill('#at-name', 'Payroll export');
    await section.locator('input[name=scope_preset][value=custom]').check();
    await section.locator('input[name="scope:schedules:read"]').check();
    await section.locator('input[name="scope:users:read"]').check();
    await Promise.all([page.waitForURL(`**${PAGE}#new-token`), section.locator('button[type=submit]', { hasText: 'Create access token' }).click()]);

    // Shown once, with the warning.
    const created = page.locator('#new-token');
    expect(await created.textContent()).toContain('Payroll export');
    expect(await created.textContent()).toContain('It will not be shown again');
    const token = await page.inputValue('#new-token-value');
    expect(token).toMatch(/^grantledger_pat_[0-9A-Za-z]{49}$/);

    // Copy, then read the clipboard back.
    // (Browser-side code is passed as strings: the TypeScript project has no DOM types.)
    await page.evaluate("navigator.clipboard.writeText('something else')");
    const copy = created.locator('button[data-copy]');
    await copy.click();
    await page.waitForFunction("document.querySelector('#new-token button[data-copy]')?.textContent === 'Copied'");
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(token);

    // It works for a gateway.
    const seen = await gatewaySees(token);
    expect(seen).toMatchObject({ active: true, sub: admin.user.guid, company_guid: company.guid, auth_type: 'access_token' });
    expect(String(seen.scope).split(' ').sort()).toEqual(['schedules:read', 'users:read']);

    // Reload: listed with its last four characters, the secret nowhere in the page.
    await page.goto(PAGE);
    expect(await page.locator('#new-token').count()).toBe(0);
    const row = page.locator('#access-tokens tr[data-token-id]', { hasText: 'Payroll export' });
    expect(await row.count()).toBe(1);
    const rowText = (await row.textContent())!;
    expect(rowText).toContain(`…${token.slice(-4)}`);
    expect(rowText).toContain(admin.email);
    expect(rowText).toContain('See schedules and shifts');
    expect(await page.content()).not.toContain(token);
    expect(await page.content()).not.toContain(token.slice(0, 20));

    // Revoke — the dialog names it; Cancel changes nothing.
    await row.locator('a.revoke-link').click();
    const dialog = page.locator('#revoke-dialog');
    await dialog.waitFor({ state: 'visible' });
    const text = await dialog.innerText();
    expect(text).toContain('Payroll export');
    expect(text).toContain(`…${token.slice(-4)}`);
    expect(text).toContain('See schedules and shifts');
    expect(text).toContain('cannot be undone');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await row.count()).toBe(1);
    expect(await gatewaySees(token)).toMatchObject({ active: true });

    // Confirmed: the row leaves in place (no page load), the notice names it.
    await page.evaluate('window.__samePage = true');
    await row.locator('a.revoke-link').click();
    await dialog.getByRole('button', { name: 'Revoke access token' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await page.evaluate('window.__samePage')).toBe(true);
    expect(await page.locator('#notice').innerText()).toContain(`The access token “Payroll export” (…${token.slice(-4)}) was revoked.`);
    expect(await gatewaySees(token)).toStrictEqual({ active: false });
  });

  test('a legacy API key needs the deprecation confirmation', async () => {
    await page.goto(PAGE);
    const section = page.locator('#api-keys');
    expect(await section.textContent()).toMatch(/Deprecated\./);
    const before = await countKeys('api_key');

    // Unticked: the browser refuses to submit…
    await section.locator('summary', { hasText: 'Create legacy API key' }).click();
    await page.fill('#ak-name', 'Old payroll integration');
    const submit = section.locator('button[type=submit]', { hasText: 'Create API key' });
    await submit.click();
    await page.waitForTimeout(200);
    expect(page.url()).toMatch(new RegExp(`${PAGE}$`));
    expect(await section.locator('input[name=confirm_deprecated]').evaluate((el) => (el as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing)).toBe(true);
    expect(await countKeys('api_key')).toBe(before);

    // …and without the browser's check (an old browser, a script), the server refuses it with an error on the page.
    await section.locator('form#create-api-key').evaluate((form) => { (form as unknown as { noValidate: boolean }).noValidate = true; });
    await Promise.all([page.waitForURL(/api-keys$/), submit.click()]);
    const error = page.locator('#create-api-key .field-error').filter({ hasText: /tick the box/i });
    expect(await error.count()).toBe(1);
    expect(await error.isVisible()).toBe(true);
    expect(await page.inputValue('#ak-name')).toBe('Old payroll integration'); // kept
    expect(await page.locator('#new-token').count()).toBe(0);
    expect(await countKeys('api_key')).toBe(before);

    // Ticked: created and shown once.
    await page.goto(PAGE);
    await section.locator('summary', { hasText: 'Create legacy API key' }).click();
    await page.fill('#ak-name', 'Old payroll integration');
    await section.locator('input[name=confirm_deprecated]').check();
    await Promise.all([page.waitForURL(`**${PAGE}#new-token`), section.locator('button[type=submit]', { hasText: 'Create API key' }).click()]);
    expect(await page.locator('#new-token').textContent()).toContain('It will not be shown again');
    const key = await page.inputValue('#new-token-value');
    expect(key).toMatch(/^grantledger_key_[0-9A-Za-z]{49}$/);
    expect(await countKeys('api_key')).toBe(before + 1);
    expect(await gatewaySees(key)).toMatchObject({ active: true, auth_type: 'api_key', company_guid: company.guid });

    // Listed without the secret; its use by the gateway shows as "last used".
    const row = page.locator('#api-keys tr[data-key-id]', { hasText: 'Old payroll integration' });
    const lastUsed = row.locator('td[data-label="Last used"]');
    for (let i = 0; i < 20; i++) {
      await page.goto(PAGE);
      if (await lastUsed.locator('time').count()) break;
      await page.waitForTimeout(50);
    }
    expect(await row.textContent()).toContain(`…${key.slice(-4)}`);
    expect(await lastUsed.locator('time').innerText()).toMatch(/^(just now|\d+ minutes? ago)$/);
    expect(await page.content()).not.toContain(key);
  });
});
