// Settings: config/default.js → config/<NODE_ENV>.js → config/local.js → environment variables
// → programmatic overrides (tests), validated with zod. An invalid value stops the start with
// one line naming the setting.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { configDir } from './shared/paths.js';

const seconds = z.coerce.number().int().positive();

const schema = z.object({
  server: z.object({
    port: z.coerce.number().int().min(0).max(65535),
    host: z.string().min(1),
    issuer: z.url({ protocol: /^https?$/ }).optional(),
    trustProxy: z.boolean(),
    workers: z.coerce.number().int().min(1).max(64),
    maxBodyBytes: z.coerce.number().int().min(1024).max(10 * 1024 * 1024),
  }),
  database: z.object({
    url: z.string().regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'use sqlite:<path> or postgres://…'),
    poolSize: z.coerce.number().int().min(1).max(200),
    migrateOnStart: z.boolean(),
  }),
  secrets: z.object({
    secretKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes in base64url (43 characters)').optional(),
    secretKeyFile: z.string().min(1),
  }),
  tokens: z.object({
    accessTokenTtl: seconds,
    clientCredentialsTtl: seconds,
    refreshTokenTtl: seconds,
    authorizationCodeTtl: seconds.max(600),
    idTokenTtl: seconds,
    grantTtl: seconds,
    sessionTtl: seconds,
    interactionTtl: seconds,
    lastUsedInterval: z.coerce.number().int().min(0),
  }),
  admin: z.object({
    sessionTtl: seconds,
    loginRateLimit: z.coerce.number().int().min(1),
    loginRateWindow: seconds,
  }),
  webhooks: z.object({
    maxAttempts: z.coerce.number().int().min(1).max(30),
    timeout: seconds.max(120),
    backoffBase: z.coerce.number().positive(),
    pollInterval: z.coerce.number().positive(),
  }),
  scopes: z.object({
    // What each role may grant an app: scope names, or '*' for every OAuth scope.
    roles: z.object({
      admin: z.array(z.string()),
      manager: z.array(z.string()),
      employee: z.array(z.string()),
    }),
  }),
  cleanupInterval: seconds,
  keysReloadInterval: z.coerce.number().min(0),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
  bootstrap: z.boolean(),
}).superRefine((s, ctx) => {
  if (s.tokens.grantTtl < s.tokens.refreshTokenTtl) {
    ctx.addIssue({
      code: 'custom',
      path: ['tokens', 'grantTtl'],
      message: `must be at least tokens.refreshTokenTtl (${s.tokens.refreshTokenTtl}), or connected apps silently lose access`,
    });
  }
});

export type Settings = z.infer<typeof schema> & { server: { issuer: string } };
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type SettingsOverrides = DeepPartial<Settings>;

/** Environment variable → settings path. */
const ENV: Record<string, string> = {
  PORT: 'server.port',
  HOST: 'server.host',
  ISSUER: 'server.issuer',
  TRUST_PROXY: 'server.trustProxy',
  WORKERS: 'server.workers',
  MAX_BODY_BYTES: 'server.maxBodyBytes',
  DATABASE_URL: 'database.url',
  DATABASE_POOL_SIZE: 'database.poolSize',
  MIGRATE_ON_START: 'database.migrateOnStart',
  SECRET_KEY: 'secrets.secretKey',
  SECRET_KEY_FILE: 'secrets.secretKeyFile',
  ACCESS_TOKEN_TTL: 'tokens.accessTokenTtl',
  CLIENT_CREDENTIALS_TTL: 'tokens.clientCredentialsTtl',
  REFRESH_TOKEN_TTL: 'tokens.refreshTokenTtl',
  AUTHORIZATION_CODE_TTL: 'tokens.authorizationCodeTtl',
  ID_TOKEN_TTL: 'tokens.idTokenTtl',
  GRANT_TTL: 'tokens.grantTtl',
  SESSION_TTL: 'tokens.sessionTtl',
  INTERACTION_TTL: 'tokens.interactionTtl',
  LAST_USED_INTERVAL: 'tokens.lastUsedInterval',
  ADMIN_SESSION_TTL: 'admin.sessionTtl',
  LOGIN_RATE_LIMIT: 'admin.loginRateLimit',
  LOGIN_RATE_WINDOW: 'admin.loginRateWindow',
  WEBHOOK_MAX_ATTEMPTS: 'webhooks.maxAttempts',
  WEBHOOK_TIMEOUT: 'webhooks.timeout',
  WEBHOOK_BACKOFF_BASE: 'webhooks.backoffBase',
  WEBHOOK_POLL_INTERVAL: 'webhooks.pollInterval',
  CLEANUP_INTERVAL: 'cleanupInterval',
  KEYS_RELOAD_INTERVAL: 'keysReloadInterval',
  LOG_LEVEL: 'logLevel',
  BOOTSTRAP: 'bootstrap',
  SCOPES_ROLES: 'scopes.roles',
};

export class SettingsError extends Error {}

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge that copies every subtree, so later writes never reach the imported config modules. */
function merge(target: Tree, source: Tree): Tree {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    target[key] = isTree(value) ? merge(isTree(target[key]) ? { ...(target[key] as Tree) } : {}, value) : value;
  }
  return target;
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Tree;
  node[keys.at(-1)!] = value;
}

async function loadFile(name: string): Promise<Tree> {
  const file = join(configDir, `${name}.js`);
  if (!existsSync(file)) return {};
  const mod = (await import(pathToFileURL(file).href)) as { default?: Tree };
  return mod.default ?? {};
}

/** Booleans from the environment: only true/false/1/0 (z.coerce.boolean would take "false" as true). */
function envValue(path: string, raw: string): unknown {
  if (/^(server\.trustProxy|database\.migrateOnStart|bootstrap)$/.test(path)) {
    if (/^(true|1)$/i.test(raw)) return true;
    if (/^(false|0)$/i.test(raw)) return false;
    throw new SettingsError(`invalid setting ${envName(path)}=${raw}: use true or false`);
  }
  if (path === 'scopes.roles' && raw !== '') {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw new SettingsError(`invalid setting ${envName(path)}: not JSON (e.g. {"admin":["*"],"manager":[…],"employee":[…]})`);
    }
  }
  return raw === '' ? undefined : raw;
}

function envName(path: string): string {
  return Object.entries(ENV).find(([, p]) => p === path)?.[0] ?? path;
}

export async function loadSettings(
  overrides: SettingsOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Settings> {
  const tree = merge({}, await loadFile('default'));
  merge(tree, await loadFile(env.NODE_ENV ?? 'development'));
  merge(tree, await loadFile('local'));
  for (const [name, path] of Object.entries(ENV)) {
    const raw = env[name];
    const value = raw === undefined ? undefined : envValue(path, raw);
    // An empty variable means "unset": the files' value stays.
    if (value !== undefined) setPath(tree, path, value);
  }
  merge(tree, overrides as Tree);

  const parsed = schema.safeParse(tree);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join('.');
    throw new SettingsError(`invalid setting ${path} (${envName(path)}): ${issue.message}`);
  }
  const settings = parsed.data;
  const issuer = (settings.server.issuer ?? `http://localhost:${settings.server.port || 3000}`).replace(/\/+$/, '');
  return { ...settings, server: { ...settings.server, issuer } };
}
