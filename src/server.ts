// Starting and stopping one server process: database and migrations, keys, provider, app,
// background jobs (cleanup of expired rows, webhook delivery).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from './app.js';
import { AdminAuth } from './admin/auth.js';
import { cleanupExpired } from './cleanup.js';
import { createDispatcher, type BeforeProvider } from './dispatch.js';
import { prepareDataDir, type Settings } from './config.js';
import { companyOfAccountLookup, countCompanies, createCompany, createUser } from './companies/users.js';
import { openDatabase, type Database } from './db/database.js';
import { serverEffects } from './ledger/effects.js';
import { companyGrantOf } from './ledger/connections.js';
import { LastUsedRecorder } from './ledger/last-used.js';
import { GrantPurger } from './ledger/grant-purge.js';
import { introspectionPipeline, noIntrospectionCors } from './oidc/introspection.js';
import { ensureKeys, keysVersion, loadKeys, loadSecretKey, type KeyMaterial } from './oidc/keys.js';
import { expiredCodeMiddleware } from './oidc/expired-code.middleware.js';
import { clientAuthMiddleware } from './oidc/client-auth.middleware.js';
import { lastUseMiddleware } from './oidc/last-use.middleware.js';
import { createProvider } from './oidc/provider.js';
import { randomSecret } from './shared/crypto.js';
import { createLogger, type Logger } from './shared/logger.js';
import { Metrics } from './shared/metrics.js';
import { LoginThrottle, RateLimiter } from './shared/rate-limit.js';
import type { Services } from './services.js';
import { useTokenPrefix } from './tokens/format.js';
import { ownTokenIntrospector } from './tokens/tokens.js';
import { UpstreamSignIn } from './upstream/sign-in.js';
import { WebhookWorker } from './webhooks/worker.js';

export interface RunningServer {
  url: string;
  server: Server;
  services: Services;
  /** The background workers, for what waits on them (tests: an idle outbox, a finished purge). */
  workers: { webhooks: WebhookWorker; purger: GrantPurger };
  close(): Promise<void>;
}

export interface BootstrapResult {
  companyGuid: string;
  email: string;
  password: string;
}

/** Opens the database and applies migrations when configured to. */
export async function openConfiguredDatabase(settings: Settings, logger: Logger): Promise<Database> {
  prepareDataDir(settings);
  const db = await openDatabase({ url: settings.database.url, poolSize: settings.database.poolSize });
  if (settings.database.migrateOnStart) {
    const applied = await db.migrate();
    if (applied.length) logger.info('migrations applied', { migrations: applied });
  }
  return db;
}

/** First start with no company: one company and one admin, with a generated password. */
async function bootstrap(db: Database): Promise<BootstrapResult | undefined> {
  if ((await countCompanies(db)) > 0) return undefined;
  const company = await createCompany(db, 'My Company');
  const password = randomSecret(12);
  const user = await createUser(db, { companyGuid: company.guid, email: 'admin@example.com', password, role: 'admin', name: 'Admin' });
  // A generated password was written somewhere: the first sign-in replaces it.
  await db.run('UPDATE users SET must_change_password = 1 WHERE id = ?', [user.id]);
  return { companyGuid: company.guid, email: user.email, password };
}

export interface PrepareOptions {
  logger?: Logger;
  db?: Database;
  onBootstrap?: (b: BootstrapResult) => void;
  /** Hooks in front of the provider's directly dispatched endpoints (src/dispatch.ts). */
  beforeProvider?: BeforeProvider[];
}

/**
 * Everything a server needs before it listens, and what `WORKERS=N` does once before forking:
 * the database migrated, the secret key, signing and cookie keys (generated on first start),
 * the first company and admin when there is none.
 */
export async function prepare(settings: Settings, opts: PrepareOptions = {}) {
  const logger = opts.logger ?? createLogger(settings.logLevel);
  const db = opts.db ?? (await openConfiguredDatabase(settings, logger));
  const kek = loadSecretKey(settings.secrets.secretKey, settings.secrets.secretKeyFile);
  if ((await ensureKeys(db, kek)).created) logger.info('signing and cookie keys generated');
  const keys = await loadKeys(db, kek);
  if (settings.bootstrap) {
    const created = await bootstrap(db);
    if (created) opts.onBootstrap?.(created);
  }
  return { logger, db, kek, keys };
}

export async function startServer(settings: Settings, opts: PrepareOptions = {}): Promise<RunningServer> {
  const { logger, db, kek, keys } = await prepare(settings, opts);
  useTokenPrefix(settings.tokens.prefix);

  const metrics = new Metrics();
  const lastUsed = new LastUsedRecorder(db, settings.tokens.lastUsedInterval * 1000, logger);
  const companyOfAccount = companyOfAccountLookup(db);
  const introspection = introspectionPipeline({
    ownTokens: ownTokenIntrospector(db, settings.server.issuer),
    lastUsed, metrics,
    companyGrant: (companyGuid, clientId) => companyGrantOf(db, companyGuid, clientId),
  });
  const lastUse = lastUseMiddleware({ lastUsed, companyOfAccount });
  const expiredCode = expiredCodeMiddleware(db);

  const clientAuth = clientAuthMiddleware({ limiter: new RateLimiter(db, settings.server.clientAuthRateLimit, 60), metrics, logger });
  const buildProvider = (material: KeyMaterial) => {
    const provider = createProvider({ settings, db, keys: material, logger, companyOfAccount });
    provider.use(clientAuth);
    provider.use(noIntrospectionCors);
    provider.use(introspection);
    provider.use(lastUse);
    provider.use(expiredCode);
    return provider;
  };

  const secureCookies = settings.server.issuer.startsWith('https:');
  const webhooks = new WebhookWorker(db, kek, settings.webhooks, logger, metrics);
  const purger = new GrantPurger(db, logger);
  const limiter = new RateLimiter(db, settings.admin.loginRateLimit, settings.admin.loginRateWindow);
  const services: Services = {
    settings, db, logger, kek, provider: buildProvider(keys), metrics, lastUsed,
    throttle: new LoginThrottle(limiter),
    adminAuth: new AdminAuth(db, settings.admin.sessionTtl, secureCookies, lastUsed),
    effects: serverEffects({ metrics, logger, purger, webhooks }),
    roleBounds: settings.scopes.roles,
  };
  if (settings.login.mode !== 'local') services.upstream = new UpstreamSignIn(services);
  // The handlers are swapped, not the server, when the keys change (see reloadKeys); the
  // dispatcher decides which one answers a request (the provider's JSON endpoints directly).
  const dispatcher = createDispatcher({ metrics, logger, logLevel: settings.logLevel, beforeProvider: opts.beforeProvider });
  dispatcher.use(buildApp(services, keys.cookieKeys).callback(), services.provider);
  const server = createServer(dispatcher.handle);
  server.listen(settings.server.port, settings.server.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;

  const cleanup = setInterval(() => {
    cleanupExpired(db, limiter)
      .then((n) => n && logger.info('expired rows deleted', { count: n }))
      .catch((err: unknown) => logger.warn('cleanup failed', { err }));
  }, settings.cleanupInterval * 1000);
  cleanup.unref();

  // Keys rotated by `grantledger keys rotate` (against any instance's database) are picked up
  // by every process within keysReloadInterval: a new provider and app with the new keys take
  // the next requests; requests in flight finish on the old ones. Old keys stay for
  // verification, so cookies and tokens signed before keep working.
  let keysSeen = keys.version;
  let reloading = false;
  const reloadKeys = async () => {
    if (reloading) return;
    reloading = true;
    try {
      const version = await keysVersion(db);
      if (version === keysSeen) return;
      const material = await loadKeys(db, kek);
      services.provider = buildProvider(material);
      dispatcher.use(buildApp(services, material.cookieKeys).callback(), services.provider);
      keysSeen = material.version;
      logger.info('keys reloaded', { kids: material.jwks.keys.map((k) => k.kid) });
    } catch (err) {
      logger.warn('keys not reloaded', { err });
    } finally {
      reloading = false;
    }
  };
  const keysReload = settings.keysReloadInterval > 0
    ? setInterval(() => void reloadKeys(), settings.keysReloadInterval * 1000)
    : undefined;
  keysReload?.unref();
  webhooks.start();
  purger.kick(); // grants a previous process queued but did not purge

  const { port } = server.address() as AddressInfo;
  const host = settings.server.host === '0.0.0.0' || settings.server.host === '::' ? 'localhost' : settings.server.host;
  return {
    url: `http://${host}:${port}`,
    server,
    services,
    workers: { webhooks, purger },
    async close() {
      clearInterval(cleanup);
      clearInterval(keysReload);
      await webhooks.stop();
      await purger.idle();
      await lastUsed.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (!opts.db) await db.close();
    },
  };
}
