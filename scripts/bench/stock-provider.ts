// The references: stock oidc-provider 9 with its default in-memory adapter, nothing else — or,
// with STOCK_ADAPTER=redis, the same provider on a production-style Redis adapter
// (redis-adapter.ts) at REDIS_URL (default redis://127.0.0.1:6379), every key under a prefix of
// this run (REDIS_PREFIX, default gl-bench:<pid>:), deleted when the process stops.
// A static confidential app (whose access token is introspected), a static gateway allowed to
// introspect (the default allowedPolicy lets any confidential client), a client-credentials
// client; introspection and clientCredentials on. Access tokens (POOL, default 1) are minted programmatically
// with a Grant. Prints `BENCH_READY {json}` once listening. Run as a child process by run.ts.
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import Provider from 'oidc-provider';
import { dropPrefix, redisAdapterFactory } from './redis-adapter.js';

const SECRET = 'stock-bench-secret-0123456789abcdefghijklmnop';
const SCOPE = 'openid profile email offline_access schedules:read timepunches:read';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 0);
  const useRedis = process.env.STOCK_ADAPTER === 'redis';
  const prefix = process.env.REDIS_PREFIX ?? `gl-bench:${process.pid}:`;
  const redis = useRedis
    ? new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { keyPrefix: prefix, lazyConnect: true, maxRetriesPerRequest: 1 })
    : undefined;
  if (redis) await redis.connect();
  const provider = new Provider(`http://127.0.0.1${port ? `:${port}` : ''}`, {
    ...(redis ? { adapter: redisAdapterFactory(redis) } : {}),
    clients: [
      {
        client_id: 'bench-app', client_secret: SECRET, redirect_uris: ['http://127.0.0.1:9/callback'],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: 'bench-gateway', client_secret: SECRET, redirect_uris: [], grant_types: [], response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    scopes: ['openid', 'profile', 'email', 'offline_access', 'schedules:read', 'timepunches:read'],
    features: {
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
    },
  });

  const client = await provider.Client.find('bench-app');
  if (!client) throw new Error('static client missing');
  const grant = new provider.Grant({ accountId: 'bench-user', clientId: client.clientId });
  grant.addOIDCScope(SCOPE);
  const grantId = await grant.save();
  // POOL distinct access tokens of that grant (a gateway sees many different tokens).
  const accessTokens: string[] = [];
  for (let i = 0; i < Number(process.env.POOL ?? 1); i++) {
    const token = new provider.AccessToken({ accountId: 'bench-user', client, grantId, gty: 'authorization_code', scope: SCOPE });
    accessTokens.push(await token.save());
  }

  const server = provider.listen(port, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.keepAliveTimeout = 65_000;
  const address = server.address() as AddressInfo;
  process.stdout.write(`BENCH_READY ${JSON.stringify({
    url: `http://127.0.0.1:${address.port}`,
    app: { clientId: 'bench-app', clientSecret: SECRET },
    gateway: { clientId: 'bench-gateway', clientSecret: SECRET },
    accessTokens,
    ccScope: 'schedules:read',
    adapter: redis ? `redis (${prefix})` : 'memory',
  })}\n`);
  const stop = () => {
    server.close(() => {
      if (!redis) process.exit(0);
      else {
        void dropPrefix(redis, prefix)
          .catch((err: unknown) => process.stderr.write(`redis cleanup failed: ${String(err)}\n`))
          .finally(() => redis.disconnect())
          .then(() => process.exit(0));
      }
    });
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`stock provider failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
