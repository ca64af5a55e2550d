// `npm run screenshots [dir]`: a PNG of every page and state at 1280 and 390 px, for a reviewer
// (default dir: ./screenshots, gitignored). Starts a server on a fresh SQLite database seeded with
// the showcase company (test/helpers/ui.ts), drives Debian's chromium, and prints each file with
// its horizontal overflow and axe-core findings (serious/critical), which should all be none.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { launchBrowser, newContext, signInPage } from '../test/helpers/browser.js';
import { startTestServer } from '../test/helpers/server.js';
import { axeViolations, horizontalOverflow, seedShowcase, WIDTHS } from '../test/helpers/ui.js';

const dir = resolve(process.argv[2] ?? 'screenshots');
mkdirSync(dir, { recursive: true });
process.env.DATABASE_URL = '';

const server = await startTestServer();
const browser = await launchBrowser();
let problems = 0;
try {
  const world = await seedShowcase(server);
  const PAGE = '/settings/developer-tools';
  const app = world.apps[1]!;

  async function shoot(page: Page, name: string, width: number): Promise<void> {
    await page.waitForLoadState('load');
    const file = join(dir, `${name}-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    // Long pages also in parts a screen or two high, readable without zooming.
    const height = await page.evaluate<number>('document.documentElement.scrollHeight');
    const part = width > 640 ? 1600 : 1100;
    if (height > part * 1.5) {
      for (let y = 0, n = 1; y < height; y += part, n++) {
        await page.screenshot({ path: join(dir, `${name}-${width}-part${n}.png`), fullPage: true, clip: { x: 0, y, width, height: Math.min(part, height - y) } });
      }
    }
    const overflow = await horizontalOverflow(page);
    const axe = await axeViolations(page);
    if (overflow > 0 || axe.length) problems++;
    console.log(`${file}  overflow=${overflow}px  axe=${axe.map((v) => `${v.impact}:${v.id}`).join(',') || 'none'}`);
  }

  for (const width of WIDTHS) {
    const context = await newContext(browser, server.url, { baseURL: server.url, viewport: { width, height: width > 640 ? 900 : 844 }, timezoneId: 'America/New_York', locale: 'en-US' });
    const page = await context.newPage();
    await page.goto('/login');
    await shoot(page, 'login', width);
    await page.fill('#email', world.admin.email);
    await page.fill('#password', 'wrong password');
    await page.click('form#login button[type=submit]');
    await shoot(page, 'login-error', width);
    await signInPage(page, server.url, world.admin);
    await shoot(page, 'developer-tools', width);
    await page.locator('.account-menu summary').click();
    await shoot(page, 'account-menu', width);
    await page.keyboard.press('Escape');

    // Create: the form, its errors, the one-time secret.
    await page.locator('#access-tokens summary', { hasText: 'Create access token' }).click();
    await page.locator('#create-access-token button[type=submit]').click();
    await page.locator('#create-access-token [role=alert]').waitFor();
    await page.locator('#create-access-token').scrollIntoViewIfNeeded();
    await shoot(page, 'create-token-errors', width);
    await page.fill('#at-name', 'Screenshot token');
    await page.check('#create-access-token input[value=custom]');
    await page.check('#create-access-token input[name="scope:users:read"]');
    await Promise.all([page.waitForURL(/#new-token$/), page.locator('#create-access-token button[type=submit]').click()]);
    await shoot(page, 'token-created', width);

    // The revoke dialog, for a token and for an app.
    await page.goto(PAGE);
    await page.locator('#access-tokens tr[data-token-id] a.revoke-link').first().click();
    await page.locator('#revoke-dialog').waitFor({ state: 'visible' });
    await page.screenshot({ path: join(dir, `revoke-token-dialog-${width}.png`) });
    console.log(join(dir, `revoke-token-dialog-${width}.png`));
    await page.keyboard.press('Escape');
    await page.locator(`#connected-apps tr[data-client-id="${app.app.clientId}"] summary`).click();
    await shoot(page, 'app-menu', width);
    await page.locator(`#connected-apps tr[data-client-id="${app.app.clientId}"] a.revoke-link`).click();
    await page.locator('#revoke-dialog').waitFor({ state: 'visible' });
    await page.screenshot({ path: join(dir, `revoke-app-dialog-${width}.png`) });
    console.log(join(dir, `revoke-app-dialog-${width}.png`));
    await page.keyboard.press('Escape');

    await page.goto(`${PAGE}/connected-apps/${app.app.clientId}`);
    await shoot(page, 'connected-app', width);
    await page.goto(`${PAGE}/connected-apps/${app.app.clientId}/revoke`);
    await shoot(page, 'confirm-revoke-app', width);
    await page.goto(`${PAGE}/access-tokens/${world.tokens[1]!.id}/revoke`);
    await shoot(page, 'confirm-revoke-token', width);
    await page.goto(`${PAGE}/activity`);
    await shoot(page, 'activity', width);
    await page.goto('/docs/access-tokens');
    await shoot(page, 'docs', width);
    await page.goto('/no/such/page');
    await shoot(page, 'error-404', width);

    // An end user: consent (groups, write scopes, not included), then an app that is set up wrong.
    const user = await context.newPage();
    const url = oidc.buildAuthorizationUrl(app.config, {
      redirect_uri: app.app.redirectUri, scope: 'openid profile email offline_access schedules:read schedules:write users:read company_access developer_tools:read',
      prompt: 'consent', state: oidc.randomState(),
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    });
    await user.goto(url.href);
    await shoot(user, 'end-user-login', width);
    await user.fill('#email', world.manager.email);
    await user.fill('#password', world.manager.password);
    await Promise.all([user.waitForURL(/\/interaction\//), user.click('form#login button[type=submit]')]);
    await user.locator('form#consent').waitFor();
    await shoot(user, 'consent', width);
    const bad = new URL(url.href);
    bad.searchParams.set('redirect_uri', 'https://evil.example/callback');
    await user.goto(bad.href);
    await shoot(user, 'end-user-error', width);
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(problems ? `${problems} page(s) with problems` : 'every page fits and axe found nothing serious');
process.exitCode = problems ? 1 : 0;
