// The usual cast of an OAuth test, made in one call: a real server on a fresh database, a
// company with one user, an app, a gateway, and the app's openid-client configuration.
import type * as oidc from 'openid-client';
import type { NewApp } from '../../src/clients/clients.js';
import type { SettingsOverrides } from '../../src/config.js';
import type { Company, Role } from '../../src/companies/users.js';
import type { TestDatabase } from './db.js';
import type { ClientCredentials } from './http.js';
import { rpConfig } from './oauth.js';
import { makeApp, makeCompany, makeGateway, makeUser, startTestServer, type TestApp, type TestServer, type TestUser } from './server.js';

export interface OAuthWorld {
  server: TestServer;
  company: Company;
  companyGuid: string;
  user: TestUser;
  app: TestApp;
  gateway: ClientCredentials;
  config: oidc.Configuration;
}

export interface OAuthWorldOptions {
  /** The user's role (default `employee`). */
  role?: Role;
  companyName?: string;
  /** Overrides for the app (default: a confidential app with every grant type). */
  app?: Partial<NewApp>;
  /** A database of the test's own (kept open when the server closes), e.g. always SQLite. */
  database?: TestDatabase;
}

export async function startOAuthWorld(overrides: SettingsOverrides = {}, options: OAuthWorldOptions = {}): Promise<OAuthWorld> {
  const server = await startTestServer(overrides, options.database);
  try {
    const company = await makeCompany(server.db, options.companyName);
    const user = await makeUser(server.db, company.guid, options.role ?? 'employee');
    const app = await makeApp(server, options.app);
    const gateway = await makeGateway(server);
    return { server, company, companyGuid: company.guid, user, app, gateway, config: await rpConfig(server, app) };
  } catch (err) {
    await server.close();
    throw err;
  }
}
