// `npm start`: loads settings, prepares the database (migrations, keys, first-run company and
// admin), then serves — in this process, or in WORKERS worker processes sharing the port.
import cluster from 'node:cluster';
import { loadSettings, SettingsError, type Settings } from './config.js';
import { DatabaseOpenError, describeDatabase } from './db/database.js';
import { SecretKeyError } from './oidc/keys.js';
import { createLogger, type Logger } from './shared/logger.js';
import { announceBootstrap } from './first-start.js';

/** Forks the workers, replaces one that dies (with backoff), and stops them all on a signal. */
function superviseWorkers(settings: Settings, logger: Logger): void {
  let shuttingDown = false;
  let listening = 0;
  const recentFailures: number[] = [];
  for (let i = 0; i < settings.server.workers; i++) cluster.fork();
  cluster.on('listening', () => {
    if (++listening === settings.server.workers) {
      logger.info('grantledger listening', { url: settings.server.issuer, database: describeDatabase(settings.database.url), workers: settings.server.workers });
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (shuttingDown) {
      logger.info('worker stopped', { worker: worker.id, code, signal });
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    listening = Math.max(0, listening - 1);
    const now = Date.now();
    recentFailures.push(now);
    while (recentFailures.length && now - recentFailures[0]! > 60_000) recentFailures.shift();
    if (recentFailures.length > 5 * settings.server.workers) {
      logger.error('workers keep failing; giving up', { failures_last_minute: recentFailures.length });
      process.exit(1);
    }
    const delay = Math.min(10_000, 250 * 2 ** (recentFailures.length - 1));
    logger.error('worker exited; replacing it', { worker: worker.id, code, signal, delay_ms: delay });
    setTimeout(() => cluster.fork(), delay);
  });
  const stop = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info('shutting down');
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    setTimeout(() => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(0);
    }, 10_000).unref();
  };
  // `on`, not `once`: a second signal (Ctrl-C reaches npm and node alike) must not kill the
  // process by default action, losing the buffered log lines and the orderly stop.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function main(): Promise<void> {
  const settings = await loadSettings();
  const role = process.env.GRANTLEDGER_ROLE;
  const logger = createLogger(settings.logLevel, cluster.isWorker ? { worker: cluster.worker?.id } : {});

  if (cluster.isPrimary && settings.server.workers > 1) {
    // The primary only supervises (it never loads the server): one worker prepares the
    // database (migrations, keys, first company), then the serving workers start.
    const code = await new Promise<number>((resolve) => {
      cluster.fork({ GRANTLEDGER_ROLE: 'prepare' }).once('exit', (c) => resolve(c ?? 1));
    });
    if (code !== 0) process.exit(code); // the preparing worker has said why, in one line
    superviseWorkers(settings, logger);
    return;
  }

  const { prepare, startServer } = await import('./server.js');
  if (role === 'prepare') {
    const { db } = await prepare(settings, { logger, onBootstrap: (b) => announceBootstrap(settings, b, logger) });
    await db.close();
    process.exit(0);
  }

  const workerSettings: Settings = cluster.isWorker
    ? { ...settings, bootstrap: false, database: { ...settings.database, migrateOnStart: false } }
    : settings;
  const running = await startServer(workerSettings, { logger, onBootstrap: (b) => announceBootstrap(settings, b, logger) });
  if (cluster.isPrimary) logger.info('grantledger listening', { url: settings.server.issuer, database: describeDatabase(settings.database.url) });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down');
    await running.close();
    process.exit(0);
  };
  process.on('SIGINT', stop); // `on`: see superviseWorkers
  process.on('SIGTERM', stop);
}

/** Why the start failed, in one line (never a stack: LOG_LEVEL=debug logs it, for a bug report). */
function startFailure(err: unknown): string {
  if (err instanceof SettingsError || err instanceof SecretKeyError || err instanceof DatabaseOpenError) return err.message;
  if ((err as NodeJS.ErrnoException)?.code === 'EADDRINUSE') return `port ${(err as { port?: number }).port ?? ''} is already in use; set PORT to another port`;
  const message = String((err as Error)?.message ?? err).replace(/\s*\n\s*/g, ' ');
  if (/ECONNREFUSED|password authentication|role .* does not exist|database .* does not exist/.test(message)) return `cannot reach the database (${message}); check DATABASE_URL`;
  return `failed to start: ${message}`;
}

main().catch((err: unknown) => {
  process.stderr.write(`grantledger: ${startFailure(err)}\n`);
  if (process.env.LOG_LEVEL === 'debug') process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  process.exit(1);
});
