// Starting and stopping one server process: database and migrations, keys, provider, app,
// background jobs (cleanup of expired rows, webhook delivery).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp, type Services } from './app.js';
import { AdminAuth } from './admin/auth.js';
import type { Settings } from './config.js';
import { countCompanies, createCompany, createUser } from './companies/users.js';
import { openDatabase, type Database } from './db/database.js';
import { isConnected, liveConnectionId } from './ledger/connections.js';
import { LastUsedRecorder } from './ledger/last-used.js';
import { GrantPurger, purgeRevokedGrants } from './ledger/grant-purge.js';
import { deleteExpiredPayloads } from './oidc/adapter.js';
import { ensureKeys, keysVersion, loadKeys, loadSecretKey, type KeyMaterial } from './oidc/keys.js';
import { createProvider } from './oidc/provider.js';
import { usageMiddleware } from './oidc/usage.middleware.js';
import { randomSecret } from './shared/crypto.js';
import { errors } from 'oidc-provider';
import { createLogger, type Logger } from './shared/logger.js';
import { Metrics } from './shared/metrics.js';
import { LoginThrottle, RateLimiter } from './shared/rate-limit.js';
import { hasOwnPrefix } from './tokens/format.js';
import { ownTokenIntrospector } from './tokens/tokens.js';
import { WebhookWorker } from './webhooks/worker.js';

export interface RunningServer {
  url: string;
  server: Server;
  services: Services;
  close(): Promise<void>;
}

export interface BootstrapResult {
  companyGuid: string;
  email: string;
  password: string;
}

/** Opens the database and applies migrations when configured to. */
export async function openConfiguredDatabase(settings: Settings, logger: Logger): Promise<Database> {
  const db = await openDatabase({ url: settings.database.url, poolSize: settings.database.poolSize });
  if (settings.database.migrateOnStart) {
    const applied = await db.migrate();
    if (applied.length) logger.info('migrations applied', { migrations: applied });
  }
  return db;
}

/** Deletes what has expired: tokens and codes, admin sessions, rate-limit windows, old deliveries. */
export async function cleanupExpired(db: Database, settings: Settings, now = Date.now()): Promise<number> {
  let n = await purgeRevokedGrants(db);
  n += await deleteExpiredPayloads(db, now);
  n += (await db.run('DELETE FROM admin_sessions WHERE expires_at < ?', [now])).changes;
  n += (await db.run('DELETE FROM rate_limits WHERE window_start < ?', [now - settings.admin.loginRateWindow * 1000])).changes;
  // Finished webhook deliveries are kept 30 days for troubleshooting.
  n += (await db.run("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?", [now - 30 * 86_400_000])).changes;
  return n;
}

/** First start with no company: one company and one admin, with a generated password. */
async function bootstrap(db: Database): Promise<BootstrapResult | undefined> {
  if ((await countCompanies(db)) > 0) return undefined;
  const company = await createCompany(db, 'My Company');
  const password = randomSecret(12);
  const user = await createUser(db, { companyGuid: company.guid, email: 'admin@example.com', password, role: 'admin', name: 'Admin' });
  return { companyGuid: company.guid, email: user.email, password };
}

export interface PrepareOptions {
  logger?: Logger;
  db?: Database;
  onBootstrap?: (b: BootstrapResult) => void;
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

  const metrics = new Metrics();
  const lastUsed = new LastUsedRecorder(db, settings.tokens.lastUsedInterval * 1000, logger);
  // Users never change company: the account → company map is safe to keep.
  const companyCache = new Map<string, string>();
  const companyOfAccount = async (accountId: string) => {
    const hit = companyCache.get(accountId);
    if (hit) return hit;
    const row = await db.get<{ guid: string }>(
      'SELECT c.guid FROM users u JOIN companies c ON c.id = u.company_id WHERE u.guid = ?',
      [accountId],
    );
    if (row) {
      if (companyCache.size > 100_000) companyCache.clear();
      companyCache.set(accountId, row.guid);
    }
    return row?.guid;
  };

  const buildProvider = (material: KeyMaterial) => {
    const provider = createProvider({
      settings, db, keys: material, logger,
      hooks: {
        companyOfAccount,
        assertConnected: async (companyGuid, clientId) => {
          if (!(await isConnected(db, companyGuid, clientId))) {
            throw new errors.UnauthorizedClient('the app is not connected to this company: an admin of the company must authorize it first');
          }
        },
        findGrantId: async (accountId, clientId) => {
          const row = await db.get<{ grant_id: string }>(
            `SELECT grant_id FROM oidc_payloads WHERE account_id = ? AND client_id = ? AND model = 'Grant'
             AND (expires_at IS NULL OR expires_at > ?) ORDER BY expires_at DESC LIMIT 1`,
            [accountId, clientId, Date.now()],
          );
          return row?.grant_id;
        },
        isForeignToken: hasOwnPrefix,
      },
    });
    provider.use(usageMiddleware({
      ownTokens: ownTokenIntrospector(db, lastUsed, settings.server.issuer),
      lastUsed, metrics, companyOfAccount,
      liveConnectionId: (companyGuid, clientId) => liveConnectionId(db, companyGuid, clientId),
    }));
    return provider;
  };

  const secureCookies = settings.server.issuer.startsWith('https:');
  const webhooks = new WebhookWorker(db, kek, settings.webhooks, logger, metrics);
  const purger = new GrantPurger(db, logger);
  const services: Services = {
    settings, db, logger, kek, provider: buildProvider(keys), metrics, lastUsed,
    throttle: new LoginThrottle(new RateLimiter(db, settings.admin.loginRateLimit, settings.admin.loginRateWindow)),
    adminAuth: new AdminAuth(db, settings.admin.sessionTtl, secureCookies, lastUsed),
    afterRevocation: () => {
      purger.kick();
      webhooks.kick();
    },
  };
  // The request handler is swapped, not the server, when the keys change (see reloadKeys).
  let handler = buildApp(services, keys.cookieKeys).callback();
  const server = createServer((req, res) => void handler(req, res));
  server.listen(settings.server.port, settings.server.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;

  const cleanup = setInterval(() => {
    cleanupExpired(db, settings)
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
      handler = buildApp(services, material.cookieKeys).callback();
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
    async close() {
      clearInterval(cleanup);
      clearInterval(keysReload);
      await webhooks.stop();
      await purger.idle();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (!opts.db) await db.close();
    },
  };
}
