// What every page test in a browser checks, and the company the page tests and `npm run
// screenshots` show: a page must not be wider than the viewport (at 1280 and 390 px) and axe-core
// (injected through the DevTools protocol, so the page's CSP stays strict) must find no serious
// or critical violation. `seedShowcase` builds Acme Logistics: an admin, a manager, connected apps
// (one with company-wide access), access tokens, an API key, and a revoked one of each.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import type * as oidc from 'openid-client';
import { createToken } from '../../src/tokens/tokens.js';
import { revokeToken } from '../../src/tokens/tokens.js';
import { revokeConnection } from '../../src/ledger/revoke-connection.js';
import type { Company } from '../../src/companies/users.js';
import { authorize, connectUser, introspect, rpConfig } from './oauth.js';
import { makeApp, makeCompany, makeGateway, makeUser, type TestApp, type TestServer, type TestUser } from './server.js';

export const WIDTHS = [1280, 390] as const;

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Width beyond the viewport, in px (0: none) — of the page, or of any card's content beyond the
 * card (a table sticking out of its box is as broken as a page wider than the screen).
 */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate<number>(`Math.max(
    Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - document.documentElement.clientWidth,
    ...[...document.querySelectorAll('.card')].map((c) => c.scrollWidth - c.clientWidth))`);
}

export interface AxeFinding { id: string; impact: string; help: string; nodes: string[] }

/** axe-core's serious and critical violations on the page as it is now. */
export async function axeViolations(page: Page): Promise<AxeFinding[]> {
  if (!(await page.evaluate<boolean>('typeof window.axe === "object"'))) await page.evaluate(axeSource);
  return page.evaluate<AxeFinding[]>(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })))`);
}

/** Both checks; a readable failure names the page. */
export async function expectPageOk(page: Page, what: string): Promise<void> {
  const overflow = await horizontalOverflow(page);
  const violations = await axeViolations(page);
  const problems = [
    ...(overflow > 0 ? [`${what}: ${overflow}px wider than the viewport`] : []),
    ...violations.map((v) => `${what}: axe ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`),
  ];
  if (problems.length) throw new Error(problems.join('\n'));
}

export interface Showcase {
  company: Company;
  admin: TestUser;
  manager: TestUser;
  gateway: { clientId: string; clientSecret: string };
  apps: Array<{ app: TestApp; name: string; config: oidc.Configuration; accessToken: string }>;
  tokens: Array<{ id: string; name: string; token: string }>;
  apiKey: { id: string; name: string; token: string };
}

/** Acme Logistics, as a reviewer sees it. */
export async function seedShowcase(server: TestServer, opts: { companyName?: string } = {}): Promise<Showcase> {
  const company = await makeCompany(server.db, opts.companyName ?? 'Acme Logistics');
  const admin = await makeUser(server.db, company.guid, 'admin');
  const manager = await makeUser(server.db, company.guid, 'manager');
  const gateway = await makeGateway(server);
  const apps: Showcase['apps'] = [];
  const scopes: Record<string, string> = {
    'Shiftboard Sync': 'schedules:read schedules:write users:read',
    'PayrollPro': 'timepunches:read users:read company:read',
    'Slack': 'schedules:read',
  };
  for (const [name, scope] of Object.entries(scopes)) {
    const app = await makeApp(server, { name, homepage: 'https://example.com/' });
    const config = await rpConfig(server, app);
    if (name === 'PayrollPro') await authorize(server, config, app, admin, { scope: `openid ${scope} company_access` });
    const c = await connectUser(server, config, app, manager, { scope: `openid profile email offline_access ${scope}` });
    apps.push({ app, name, config, accessToken: c.accessToken });
  }
  const tokens: Showcase['tokens'] = [];
  const day = 24 * 3600 * 1000;
  for (const [name, scopeList, expiresAt] of [
    ['Payroll export', ['schedules:read', 'users:read'], Date.now() + 90 * day],
    ['Nightly backup', ['company:read', 'locations:read', 'users:read', 'schedules:read', 'timepunches:read'], null],
    ['Admin automation', ['developer_tools:read', 'developer_tools:write'], Date.now() + 30 * day],
  ] as const) {
    const { record, token } = await createToken(server.db, admin.user, { kind: 'access_token', name, scopes: [...scopeList], expiresAt });
    tokens.push({ id: record.id, name, token });
  }
  const key = await createToken(server.db, admin.user, {
    kind: 'api_key', name: 'Old payroll integration', scopes: ['schedules:read', 'users:read'], expiresAt: null,
  });
  const apiKey = { id: key.record.id, name: 'Old payroll integration', token: key.token };
  // Used: last used, usage counts.
  await introspect(server, gateway, tokens[0]!.token);
  await introspect(server, gateway, apiKey.token);
  await introspect(server, gateway, apps[0]!.accessToken);
  // History: one revoked of each.
  const old = await createToken(server.db, admin.user, { kind: 'access_token', name: 'Temporary import', scopes: ['users:read'], expiresAt: null });
  await revokeToken(server.db, admin.user, 'access_token', old.record.id);
  const oldKey = await createToken(server.db, admin.user, { kind: 'api_key', name: 'Legacy kiosk', scopes: ['users:read'], expiresAt: null });
  await revokeToken(server.db, admin.user, 'api_key', oldKey.record.id);
  const gone = await makeApp(server, { name: 'Old Timeclock' });
  await connectUser(server, await rpConfig(server, gone), gone, manager, { scope: 'openid schedules:read' });
  await revokeConnection(server.running.services, admin.user.company, admin.user, gone.clientId);
  return { company, admin, manager, gateway, apps, tokens, apiKey };
}
