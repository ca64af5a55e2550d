// Browser tests: playwright-core driving Debian's chromium (`apt-get install chromium`;
// `npx playwright install` cannot download browsers here). Each launch gets a fresh
// user-data-dir: playwright creates a new temporary profile for every `launch()` and deletes
// it on close (the flag itself is refused by launch(); only launchPersistentContext takes one).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { DEVELOPER_TOOLS } from './admin.js';
import type { TestUser } from './server.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no browser at ${CHROMIUM_PATH}: run \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: 30_000 });
}

/** A new isolated context (cookies, storage) on the server's origin, with clipboard access. */
export async function newContext(browser: Browser, origin: string, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'UTC', ...options });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  context.setDefaultTimeout(5000);
  return context;
}

/** Signs in through the /login form like a person would; ends on the Developer Tools page. */
export async function signInPage(page: Page, origin: string, user: TestUser): Promise<void> {
  await page.goto(`${origin}/login`);
  await page.fill('#email', user.email);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForURL(`${origin}${DEVELOPER_TOOLS}`), page.click('form#login button[type=submit]')]);
}
