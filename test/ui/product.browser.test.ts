// Developer Tools and the consent pages as a product (issue 13), in Debian's chromium at 1280 and
// 390 px: every page fits the viewport and axe-core finds nothing serious; a create redirects
// (a reload creates nothing) and shows the secret once; one revoke dialog names the token and
// fits a phone; forms keep what was typed and put plain-word errors by the field; dates are
// relative with the local time (New York) in the tooltip; the header names the company with a
// copyable GUID; menus report aria-expanded and work by keyboard; error pages speak plainly with
// the code folded; the consent page groups scopes, marks writes, lets someone else sign in and
// cancels with access_denied; big sections get search and paging.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEVELOPER_TOOLS as PAGE } from '../helpers/admin.js';
import { launchBrowser, newContext, signInPage } from '../helpers/browser.js';
import { introspect } from '../helpers/oauth.js';
import { makeUser, startTestServer, type TestServer, type TestUser } from '../helpers/server.js';
import { expectPageOk, seedShowcase, WIDTHS, type Showcase } from '../helpers/ui.js';
import { createToken } from '../../src/tokens/tokens.js';

let server: TestServer;
let world: Showcase;
let browser: Browser;

beforeAll(async () => {
  server = await startTestServer();
  world = await seedShowcase(server);
  browser = await launchBrowser();
}, 90_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function adminPage(width: number, options: Parameters<typeof newContext>[2] = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await newContext(browser, server.url, { baseURL: server.url, viewport: { width, height: 860 }, ...options });
  const page = await context.newPage();
  await signInPage(page, server.url, world.admin);
  return { context, page };
}

async function tokenCount(): Promise<number> {
  const row = await server.db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM access_tokens WHERE company_id = ?', [world.company.id]);
  return Number(row?.n ?? 0);
}

function authorizationUrl(appIndex: number, scope: string, extra: Record<string, string> = {}): URL {
  const app = world.apps[appIndex]!;
  return oidc.buildAuthorizationUrl(app.config, {
    redirect_uri: app.app.redirectUri, scope, prompt: 'consent', state: 'state-123', ...extra,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
  });
}

describe.each(WIDTHS)('at %i px', (width) => {
  let context: BrowserContext;
  let page: Page;
  beforeAll(async () => ({ context, page } = await adminPage(width)));
  afterAll(() => context.close());

  test('every Developer Tools page fits the viewport and axe finds nothing serious or critical', async () => {
    const app = world.apps[0]!.app.clientId;
    for (const path of [PAGE, `${PAGE}/connected-apps/${app}`, `${PAGE}/connected-apps/${app}/revoke`,
      `${PAGE}/access-tokens/${world.tokens[0]!.id}/revoke`, `${PAGE}/api-keys/${world.apiKey.id}/revoke`, `${PAGE}/activity`, '/docs/access-tokens', '/no/such/page']) {
      await page.goto(path);
      await expectPageOk(page, `${path} at ${width}px`);
    }
    // The tables are stacked cards on a phone, a table on a desk.
    await page.goto(PAGE);
    const display = await page.evaluate<string>("getComputedStyle(document.querySelector('#access-tokens table.list thead')).display");
    expect(display).toBe(width <= 640 ? 'none' : 'table-header-group');
    // With a menu open and the create form open (its errors shown), still nothing sticks out.
    await page.locator(`#connected-apps tr[data-client-id="${app}"] summary`).click();
    await expectPageOk(page, `open menu at ${width}px`);
    await page.keyboard.press('Escape');
    await page.locator('#access-tokens summary', { hasText: 'Create access token' }).click();
    await page.locator('#create-access-token button[type=submit]').click();
    await page.locator('#create-access-token [role=alert]').waitFor();
    await expectPageOk(page, `form errors at ${width}px`);
  });

  test('the sign-in, consent and end-user error pages fit and pass axe', async () => {
    const visitor = await context.browser()!.newContext({ viewport: { width, height: 860 } });
    const p = await visitor.newPage();
    await p.goto(`${server.url}/login`);
    await expectPageOk(p, `/login at ${width}px`);
    await p.goto(authorizationUrl(1, 'openid profile email offline_access schedules:read schedules:write users:read company_access').href);
    await expectPageOk(p, `login of the flow at ${width}px`);
    await p.fill('#email', world.manager.email);
    await p.fill('#password', world.manager.password);
    await Promise.all([p.waitForSelector('form#consent'), p.click('form#login button[type=submit]')]);
    await expectPageOk(p, `consent at ${width}px`);
    const bad = authorizationUrl(1, 'openid', { redirect_uri: 'https://evil.example/cb' });
    await p.goto(bad.href);
    await expectPageOk(p, `end-user error at ${width}px`);
    await visitor.close();
  });

  test('revoking an API key: the dialog names it and fits the screen; the row leaves; the notice names it and can be dismissed', async () => {
    const { record, token } = await createToken(server.db, world.admin.user, { kind: 'api_key', name: `Kiosk ${width}`, scopes: ['users:read'], expiresAt: null });
    await page.goto(PAGE);
    const row = page.locator(`#api-keys tr[data-key-id="${record.id}"]`);
    await row.locator('a.revoke-link').click();
    const dialog = page.locator('#revoke-dialog');
    await dialog.waitFor({ state: 'visible' });
    const box = (await dialog.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(width);
    expect(box.y + box.height).toBeLessThanOrEqual(860);
    const text = await dialog.innerText();
    expect(text).toContain(`Kiosk ${width}`);
    expect(text).toContain(`…${token.slice(-4)}`);
    expect(text).toContain('See employees and their profiles');
    expect(text).toMatch(/Last used\s+Never/);
    await expectPageOk(page, `revoke dialog at ${width}px`);
    // Keyboard: Cancel has the focus; Escape closes and gives the focus back to the link.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await page.evaluate('document.activeElement?.classList.contains("revoke-link")')).toBe(true);

    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'visible' });
    await dialog.getByRole('button', { name: 'Revoke API key' }).click();
    await row.waitFor({ state: 'detached' });
    const notice = page.locator('#api-keys .notice');
    expect(await notice.innerText()).toContain(`The API key “Kiosk ${width}” (…${token.slice(-4)}) was revoked.`);
    expect(await page.locator('#notice').getAttribute('role')).toBe('status');
    expect((await introspect(server, world.gateway, token)).body).toStrictEqual({ active: false });
    await notice.getByRole('button', { name: 'Dismiss' }).click();
    await notice.waitFor({ state: 'detached' });
  });
});

describe('Developer Tools › creating', () => {
  let context: BrowserContext;
  let page: Page;
  beforeAll(async () => ({ context, page } = await adminPage(390)));
  afterAll(() => context.close());

  test('post/redirect/get: the secret is shown once after the redirect; a reload creates nothing and shows it no more', async () => {
    await page.goto(PAGE);
    await page.locator('#access-tokens summary', { hasText: 'Create access token' }).click();
    await page.fill('#at-name', 'Reload test');
    await page.check('#create-access-token input[value=read]');
    await page.check('#at-expiry input[value="30"]');
    const before = await tokenCount();
    await Promise.all([page.waitForURL(`**${PAGE}#new-token`), page.locator('#create-access-token button[type=submit]').click()]);
    const secret = await page.inputValue('#new-token-value');
    expect(secret).toMatch(/^grantledger_pat_/);
    expect(await tokenCount()).toBe(before + 1);
    const seen = (await introspect(server, world.gateway, secret)).body;
    expect(String(seen.scope).split(' ').sort()).toEqual(['company:read', 'locations:read', 'schedules:read', 'timepunches:read', 'users:read']);
    expect(Number(seen.exp) * 1000 - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
    expect(Number(seen.exp) * 1000 - Date.now()).toBeLessThan(31 * 24 * 3600 * 1000);

    await page.reload();
    expect(await tokenCount()).toBe(before + 1);
    expect(await page.locator('#new-token').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    await page.goBack().catch(() => undefined);
    await page.goto(PAGE);
    expect(await tokenCount()).toBe(before + 1);
    expect(await page.content()).not.toContain(secret);
  });

  test('errors sit by their field in plain words; what was typed stays; nothing is implied or created', async () => {
    await page.goto(PAGE);
    const before = await tokenCount();
    const form = page.locator('#create-access-token');
    await page.locator('#access-tokens summary', { hasText: 'Create access token' }).click();
    // Nothing chosen: no "full access" default.
    expect(await form.locator('input[name=scope_preset]:checked').count()).toBe(0);
    await page.fill('#at-name', 'Half-filled');
    await page.check('#create-access-token input[value=custom]');
    await page.check('#at-expiry input[value=custom]');
    await page.fill('#at-expiry-date', '2001-01-01');
    await form.locator('button[type=submit]').click();
    await form.locator('[role=alert]').waitFor();
    expect(await page.locator('#at-scopes .field-error').innerText()).toBe('Tick at least one scope, or choose “Read only” or “Everything”.');
    expect(await page.locator('#at-expiry .field-error').innerText()).toBe('Choose a date after today.');
    expect(await page.locator('#at-expiry').getAttribute('aria-invalid')).toBe('true');
    expect(await page.inputValue('#at-name')).toBe('Half-filled');
    expect(await page.inputValue('#at-expiry-date')).toBe('2001-01-01');
    expect(await form.locator('input[value=custom][name=scope_preset]').isChecked()).toBe(true);
    expect(await page.content()).not.toMatch(/expires_at:|scopes:/); // no field paths
    expect(await tokenCount()).toBe(before);

    // An empty name, in words.
    await page.fill('#at-name', '');
    await page.check('#create-access-token input[value=all]');
    await page.check('#at-expiry input[value=never]');
    await form.locator('button[type=submit]').click();
    await page.locator('#create-access-token .field-error').first().waitFor();
    expect(await page.locator('#at-name-error').innerText()).toBe('Give it a name, so you recognise it later.');
    expect(await tokenCount()).toBe(before);
  });
});

describe('Developer Tools › reading', () => {
  test('dates: relative words, the local time (New York) in the tooltip, "Never" for never', async () => {
    const { context, page } = await adminPage(1280, { timezoneId: 'America/New_York', locale: 'en-US' });
    const row = page.locator(`#access-tokens tr[data-token-id="${world.tokens[1]!.id}"]`); // never expires, never used
    const created = row.locator('td[data-label="Created"] time');
    expect(await created.innerText()).toMatch(/^(just now|\d+ minutes? ago)$/);
    expect(Math.abs(Date.parse((await created.getAttribute('datetime'))!) - Date.now())).toBeLessThan(10 * 60_000);
    expect(await created.getAttribute('title')).toMatch(/E[SD]T$/);
    expect(await row.locator('td[data-label="Expires"]').innerText()).toMatch(/Never$/);
    expect(await row.locator('td[data-label="Last used"]').innerText()).toMatch(/Never$/);
    expect(await page.locator('main').innerText()).not.toMatch(/—|\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
    await context.close();
  });

  test('the header names the company and copies its GUID; the account menu reports aria-expanded and works by keyboard', async () => {
    const { context, page } = await adminPage(390);
    expect(await page.locator('.companybar .company-name').innerText()).toBe('Acme Logistics');
    expect(await page.locator('#company-guid').innerText()).toBe(world.company.guid);
    await page.evaluate("navigator.clipboard.writeText('something else')");
    await page.getByRole('button', { name: 'Copy company GUID' }).click();
    await page.locator('#notice', { hasText: 'Company GUID copied' }).waitFor();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(world.company.guid);

    const summary = page.locator('.account-menu summary');
    expect(await summary.getAttribute('aria-expanded')).toBe('false');
    await summary.focus();
    const expanded = (value: string) => page.waitForFunction(`document.querySelector('.account-menu summary').getAttribute('aria-expanded') === '${value}'`);
    await page.keyboard.press('Enter');
    await expanded('true'); // the toggle event comes as a task of its own
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
    await page.keyboard.press('Escape');
    await expanded('false');
    expect(await page.evaluate('document.activeElement?.classList.contains("account-button")')).toBe(true);
    // The top bar is one line.
    expect((await page.locator('.topbar').boundingBox())!.height).toBeLessThan(60);
    await context.close();
  });

  test('usage at a glance: requests over the last 7 days (sparkline and total) and the last IP, per token and app', async () => {
    const token = world.tokens[2]!;
    for (let i = 0; i < 3; i++) await introspect(server, world.gateway, token.token);
    await server.running.services.lastUsed.idle(); // the batch written
    const { context, page } = await adminPage(1280);
    const cell = page.locator(`#access-tokens tr[data-token-id="${token.id}"] td[data-label="Last 7 days"]`);
    expect((await cell.innerText()).replace(/\s+/g, ' ')).toBe('3 requests');
    expect(await cell.locator('svg.sparkline').getAttribute('aria-label')).toBe('Requests per day, last 7 days: 0, 0, 0, 0, 0, 0, 3');
    expect(await page.locator(`#access-tokens tr[data-token-id="${token.id}"] td[data-label="Last used"]`).innerText()).toMatch(/from 127\.0\.0\.1$/);
    const app = page.locator(`#connected-apps tr[data-client-id="${world.apps[0]!.app.clientId}"] td[data-label="Last 7 days"]`);
    expect(await app.innerText()).toMatch(/^\d+ requests?$/);
    expect(await page.locator(`#access-tokens tr[data-token-id="${world.tokens[1]!.id}"] td[data-label="Last 7 days"]`).innerText()).toBe('No requests');
    await context.close();
  });

  test('recently revoked lists what the audit trail says, per section', async () => {
    const { context, page } = await adminPage(1280);
    await page.locator('#access-tokens details.history summary').click();
    expect(await page.locator('#access-tokens .history-list').innerText()).toMatch(new RegExp(`Temporary import[\\s\\S]*revoked[\\s\\S]*by ${world.admin.email}`));
    await page.locator('#connected-apps details.history summary').click();
    expect(await page.locator('#connected-apps .history-list').innerText()).toMatch(/Old Timeclock[\s\S]*\d+ tokens? ended/);
    await context.close();
  });

  test('Activity: the audit trail in words, filtered by kind and by who; the API filters the same way', async () => {
    const { context, page } = await adminPage(390);
    await Promise.all([page.waitForURL(/\/activity$/), page.getByRole('link', { name: 'Activity' }).click()]);
    expect(await page.locator('.topnav a[aria-current="page"]').innerText()).toBe('Activity');
    expect(await page.locator('#activity tbody').innerText()).toContain('revoked the app Old Timeclock');
    await page.selectOption('#activity-kind', 'client'); // submits by itself
    await page.waitForURL(/target_type=client/);
    const actions = await page.locator('#activity tr[data-action]').evaluateAll((trs) => trs.map((tr) => (tr as unknown as { dataset: { action: string } }).dataset.action));
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.every((a) => /^(connection|authorization|company_access)\./.test(a))).toBe(true);
    expect(actions).toContain('connection.revoked');
    await page.selectOption('#activity-kind', 'access_token');
    await page.waitForURL(/target_type=access_token/);
    expect(await page.locator('#activity tbody').innerText()).toMatch(/revoked the access token Temporary import \(…\w{4}\)/);
    await page.fill('#activity-actor', 'nobody@example.com');
    await Promise.all([page.waitForURL(/actor=nobody/), page.getByRole('button', { name: 'Filter' }).click()]);
    expect(await page.locator('#activity tbody').innerText()).toContain('Nothing matches these filters');
    await expectPageOk(page, 'activity at 390px');

    const api = await page.request.get(`${server.url}/api/v1/audit-events?target_type=api_key`, { headers: { accept: 'application/json' } });
    const body = (await api.json()) as { data: Array<{ action: string; target_type: string }> };
    expect(body.data.length).toBeGreaterThan(0);
    expect(body.data.every((e) => e.target_type === 'api_key')).toBe(true);
    const bad = await page.request.get(`${server.url}/api/v1/audit-events?target_type=nonsense`, { headers: { accept: 'application/json' } });
    expect(bad.status()).toBe(400);
    const odd = await page.goto(`${PAGE}/activity?target_type=nonsense`);
    expect(odd!.status()).toBe(200); // the page starts over, unfiltered
    expect(new URL(page.url()).search).toBe('');
    await context.close();
  });

  test('a section of more than 20 rows gets search, sort and paging, without script too', async () => {
    const own = await makeUser(server.db, world.company.guid, 'admin');
    for (let i = 1; i <= 24; i++) {
      await createToken(server.db, own.user, { kind: 'api_key', name: `Bulk key ${String(i).padStart(2, '0')}`, scopes: ['users:read'], expiresAt: null });
    }
    const context = await newContext(browser, server.url, { baseURL: server.url, javaScriptEnabled: false, viewport: { width: 390, height: 860 } });
    const page = await context.newPage();
    await signInPage(page, server.url, own as TestUser);
    const section = page.locator('#api-keys');
    expect(await section.locator('tr[data-key-id]').count()).toBe(20);
    expect(await section.locator('.pager').innerText()).toContain('Page 1 of 2');
    await Promise.all([page.waitForURL(/ak_page=2/), section.getByRole('link', { name: 'Next →' }).click()]);
    expect(await section.locator('tr[data-key-id]').count()).toBeGreaterThanOrEqual(5);
    await page.fill('#ak_q', 'bulk key 07');
    await Promise.all([page.waitForURL(/ak_q=bulk/), section.getByRole('button', { name: 'Search' }).click()]);
    expect(await section.locator('tr[data-key-id] .person').allInnerTexts()).toEqual(['Bulk key 07']);
    expect(await section.locator('.list-summary').innerText()).toMatch(/^1 of \d+ match/);
    await page.selectOption('#ak_sort', 'name');
    await page.fill('#ak_q', 'bulk');
    await Promise.all([page.waitForURL(/ak_sort=name/), section.getByRole('button', { name: 'Search' }).click()]);
    const names = await section.locator('tr[data-key-id] .person').allInnerTexts();
    expect(names.slice(0, 3)).toEqual(['Bulk key 01', 'Bulk key 02', 'Bulk key 03']);
    await context.close();
    // With script (axe needs it), the paged page fits a phone.
    const js = await newContext(browser, server.url, { baseURL: server.url, viewport: { width: 390, height: 860 } });
    const withScript = await js.newPage();
    await signInPage(withScript, server.url, own as TestUser);
    await withScript.goto(`${PAGE}?ak_q=bulk&ak_page=2#api-keys`);
    await expectPageOk(withScript, 'paged section at 390px');
    await js.close();
  });
});

describe('error pages', () => {
  test('404 is a styled page with a way back; an app set up wrong gets plain words, the code folded underneath', async () => {
    const context = await newContext(browser, server.url, { baseURL: server.url });
    const page = await context.newPage();
    const res = await page.goto('/settings/nowhere');
    expect(res!.status()).toBe(404);
    expect(await page.locator('h1').innerText()).toBe('This page does not exist');
    expect(await page.getByRole('link', { name: 'Back to Developer Tools' }).count()).toBe(1);

    const bad = await page.goto(authorizationUrl(1, 'openid', { redirect_uri: 'https://evil.example/cb' }).href);
    expect(bad!.status()).toBe(400);
    const main = page.locator('main');
    expect(await main.innerText()).toContain('This app is not set up correctly; contact its developer.');
    expect(await page.getByRole('link', { name: 'Back to PayrollPro' }).getAttribute('href')).toBe('https://example.com/');
    const technical = page.locator('details.technical');
    expect(await technical.getAttribute('open')).toBeNull();
    expect(await technical.locator('code').isVisible()).toBe(false); // folded
    await technical.locator('summary').click();
    expect(await technical.locator('code').innerText()).toBe('invalid_redirect_uri');
    await context.close();
  });
});

describe('consent page', () => {
  const scope = 'openid profile email offline_access schedules:read schedules:write users:read company_access';

  async function toConsent(page: Page, user: TestUser): Promise<void> {
    await page.goto(authorizationUrl(1, scope).href);
    await page.fill('#email', user.email);
    await page.fill('#password', user.password);
    await Promise.all([page.waitForSelector('form#consent'), page.click('form#login button[type=submit]')]);
  }

  test('groups, write scopes marked, what is not included; "Not you?" signs in someone else; Cancel answers access_denied', async () => {
    const context = await newContext(browser, server.url, { baseURL: server.url, viewport: { width: 390, height: 860 } });
    const page = await context.newPage();
    await toConsent(page, world.manager);
    const card = page.locator('.consent');
    expect(await card.locator('h2.scope-group').allInnerTexts()).toEqual(['Your profile', 'Company data — read', 'Company data — change']);
    const writes = card.locator('ul.scopes li.write');
    expect(await writes.count()).toBe(1);
    expect(await writes.innerText()).toContain('change');
    expect(await writes.locator('code').innerText()).toBe('schedules:write');
    expect(await page.locator('#not-included').innerText()).toContain('company_access');
    // Chips keep their own height (not the row's).
    const chip = (await card.locator('ul.scopes li code').first().boundingBox())!;
    expect(chip.height).toBeLessThan(26);
    expect(await card.innerText()).toContain(world.manager.email);

    // Not you? → the sign-in page of the same request; another person signs in and is named.
    await Promise.all([page.waitForSelector('form#login'), page.getByRole('button', { name: 'Sign in as someone else' }).click()]);
    const other = await makeUser(server.db, world.company.guid, 'employee');
    await page.fill('#email', other.email);
    await page.fill('#password', other.password);
    await Promise.all([page.waitForSelector('form#consent'), page.click('form#login button[type=submit]')]);
    expect(await page.locator('.consent').innerText()).toContain(other.email);
    expect(await page.locator('.consent').innerText()).not.toContain(world.manager.email);

    // Cancel: back to the app with access_denied and its state.
    const redirectUri = world.apps[1]!.app.redirectUri;
    let landed = '';
    await page.route(`${redirectUri}**`, async (route) => {
      landed = route.request().url();
      await route.fulfill({ status: 200, body: 'app' });
    });
    await page.getByRole('button', { name: 'Cancel' }).click();
    for (let i = 0; i < 100 && !landed; i++) await page.waitForTimeout(20);
    const url = new URL(landed);
    expect(url.searchParams.get('error')).toBe('access_denied');
    expect(url.searchParams.get('state')).toBe('state-123');
    await context.close();
  });
});
