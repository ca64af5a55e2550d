// `npm run demo`: the whole story in one command, for a person with a browser.
//   1. grantledger: reuses the server answering at ISSUER (same installation, same database), or
//      starts one (migrations, keys — as `npm start` does);
//   2. a demo company and admin (idempotent on their external ids; a new password each run,
//      printed), a gateway for the demo V2 API, and the demo app (registered with its callback);
//   3. the demo V2 API (scripts/demo-api.ts) on DEMO_API_PORT (4000) and the demo app
//      (scripts/demo-app.ts) on DEMO_APP_PORT (8080).
// Then: open the app, Connect to grantledger, sign in as the printed admin, allow; the app shows
// the scopes and calls the API (200). Revoke the app in Developer Tools; the next call is a 401.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Server } from 'node:http';
import { randomSecret } from '../src/shared/crypto.js';
import { loadSettings, type Settings } from '../src/config.js';
import { updateUser } from '../src/companies/membership.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { NO_EFFECTS } from '../src/ledger/effects.js';
import { loadSecretKey } from '../src/oidc/keys.js';
import { provisionApp, provisionCompany, provisionGateway, provisionUser } from '../src/operators/provisioning.js';
import { startServer, type RunningServer } from '../src/server.js';
import { createDemoApi } from './demo-api.js';
import { DemoApp } from './demo-app.js';

export interface DemoOptions {
  settings: Settings;
  /** Use this database handle (tests); else the settings' database. */
  db?: Database;
  apiPort?: number;
  appPort?: number;
}

export interface RunningDemo {
  issuer: string;
  appUrl: string;
  apiUrl: string;
  admin: { email: string; password: string };
  /** The demo app's client_id (its row in Connected Apps). */
  clientId: string;
  reused: boolean;
  close(): Promise<void>;
}

const DEMO = { operator: 'demo' };

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

export async function startDemo(opts: DemoOptions): Promise<RunningDemo> {
  const { settings } = opts;
  const issuer = settings.server.issuer;
  const reused = await answers(`${issuer}/healthz`);
  let running: RunningServer | undefined;
  let db: Database;
  let kek: Buffer;
  if (reused) {
    db = opts.db ?? await openDatabase({ url: settings.database.url, poolSize: 2, mustExist: true });
    kek = loadSecretKey(settings.secrets.secretKey, settings.secrets.secretKeyFile, { create: false });
  } else {
    running = await startServer(settings, opts.db ? { db: opts.db } : {});
    ({ db, kek } = running.services);
  }

  const { company } = await provisionCompany(db, DEMO, { name: 'Demo Company', externalId: 'grantledger-demo' });
  const password = `demo-${randomSecret(9)}`;
  const { user, created } = await provisionUser(db, DEMO, {
    companyGuid: company.guid, email: 'demo-admin@example.com', role: 'admin', password, name: 'Demo Admin', externalId: 'grantledger-demo-admin',
  });
  if (!created) await updateUser({ db, effects: NO_EFFECTS, roleBounds: settings.scopes.roles }, { guid: user.guid }, { password, role: 'admin', active: true }, DEMO);

  const gateway = await provisionGateway(db, DEMO, 'Demo V2 API');
  const api = createDemoApi({ issuer, clientId: gateway.client_id, clientSecret: gateway.client_secret, timeoutMs: 5000 });
  const apiServer: Server = api.app.listen(opts.apiPort ?? 4000, '127.0.0.1');
  await new Promise<void>((ok, fail) => apiServer.once('listening', ok).once('error', fail));
  const apiUrl = `http://localhost:${(apiServer.address() as { port: number }).port}`;

  const demoApp = new DemoApp();
  const appUrl = await demoApp.listen(opts.appPort ?? 8080);
  const app = await provisionApp({ db, kek }, DEMO, { name: 'Demo App', redirectUris: [`${appUrl}/callback`] });
  await demoApp.configure({ issuer, clientId: app.client_id, clientSecret: app.client_secret!, apiUrl });

  return {
    issuer, appUrl, apiUrl, admin: { email: user.email, password }, clientId: app.client_id, reused,
    async close() {
      await demoApp.close();
      api.gateway.close();
      apiServer.closeAllConnections();
      await new Promise<void>((ok) => apiServer.close(() => ok()));
      if (running) await running.close();
      else if (!opts.db) await db.close();
    },
  };
}

async function main(): Promise<void> {
  const settings = await loadSettings();
  const env = process.env;
  const demo = await startDemo({
    settings, apiPort: env.DEMO_API_PORT ? Number(env.DEMO_API_PORT) : undefined, appPort: env.DEMO_APP_PORT ? Number(env.DEMO_APP_PORT) : undefined,
  });
  process.stderr.write([
    '',
    `  grantledger demo${demo.reused ? ' (reusing the server at ' + demo.issuer + ')' : ''}`,
    '',
    `    1. Open the demo app        ${demo.appUrl}`,
    '       and click "Connect to grantledger". Sign in as:',
    `         e-mail                ${demo.admin.email}`,
    `         password              ${demo.admin.password}`,
    '       then allow. The app shows the scopes; "Call the V2 API" answers 200.',
    `    2. Revoke it                ${demo.issuer}/settings/developer-tools  → Connected Apps → Revoke access`,
    '    3. "Call the V2 API" again: 401.',
    '',
    `  (demo V2 API at ${demo.apiUrl}; Ctrl-C stops everything)`,
    '',
  ].join('\n') + '\n');
  const stop = () => void demo.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main().catch((err: unknown) => {
    process.stderr.write(`demo: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  });
}
