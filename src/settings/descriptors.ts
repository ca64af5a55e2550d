// Every grantledger setting, written once: where it sits (its path, e.g. server.port), its
// environment variable, its documentation, its type with constraints, its default. The schema,
// the environment layer, the defaults, config/default.js and the README settings table are all
// built from this tree (resolve.ts, docs.ts); a test fails when the generated files are stale.
//
// To add a setting:
//   1. Add `name: setting({ env, doc, schema, default })` to its section below (a new section is
//      a nested object). Its path is where it sits: `tokens.maxLifetimeDays`.
//   2. Run `npm run settings:docs` (rewrites config/default.js and the README table).
//   3. Read it as `settings.tokens.maxLifetimeDays`: the type follows from the schema.
// The variable is read by the schema's type: z.boolean() takes true/false/1/0, z.number() a
// number, z.string()/z.enum() the text, z.object()/z.record()/z.array() JSON — e.g.
// SCOPE_ROLES='{"admin":["company:read"]}'. For anything else (a union such as "true, false or a
// hop count") give `parseEnv`. No static default? `computed('…', (get) => …)` when it follows
// from other settings, `noDefault('what unset means')` otherwise. Durations are seconds
// (`unit: 'seconds'`). A rule across settings goes in `refine` at the end.
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../shared/paths.js';
import { computed, noDefault, setting, SettingsError, type Infer } from './define.js';
import type { Refinement } from './resolve.js';
import { DEFAULT_ROLE_BOUNDS } from '../authz/policy.js';

const seconds = z.number().int().positive();
const count = z.number().int();

export const descriptors = {
  dataDir: setting({
    env: 'DATA_DIR',
    doc: 'where the default SQLite database and the generated secret key live (a relative path is taken from the current directory when the setting is read). Only the server and `grantledger migrate` create anything there.',
    schema: z.string().min(1).transform((dir) => resolve(dir)).optional(),
    default: computed('the `data/` folder of the installation, whatever the current directory', () => join(packageRoot, 'data')),
  }),

  server: {
    port: setting({
      env: 'PORT', doc: 'TCP port to listen on.',
      schema: count.min(0).max(65535), default: 3000,
    }),
    host: setting({
      env: 'HOST', doc: 'interface to bind; `0.0.0.0` listens on every interface.',
      schema: z.string().min(1), default: '0.0.0.0',
    }),
    issuer: setting({
      env: 'ISSUER',
      doc: 'public base URL of this server (what clients and gateways use). Use `https://` in production: cookies are then marked `Secure`.',
      schema: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, '')).optional(),
      default: computed('`http://localhost:$PORT`', (get) => `http://localhost:${Number(get('server.port')) || 3000}`),
    }),
    trustProxy: setting({
      env: 'TRUST_PROXY',
      doc: 'proxy hops in front of the server whose `X-Forwarded-For` to trust: the client IP (for throttling and logs) is the n-th address from the right, never a client-chosen leftmost one. `true` = 1, `false` = 0 (the socket address). URLs never follow `X-Forwarded-Host`: they come from `ISSUER`.',
      schema: z.union([z.boolean(), count.min(0).max(20)]).transform((v) => (typeof v === 'number' ? v : v ? 1 : 0)),
      default: 0,
      parseEnv: (raw) => {
        if (/^true$/i.test(raw)) return true;
        if (/^false$/i.test(raw)) return false;
        if (/^\d{1,2}$/.test(raw)) return Number(raw);
        throw new SettingsError(`invalid setting TRUST_PROXY=${raw}: use true, false or a number of proxy hops`);
      },
    }),
    workers: setting({
      env: 'WORKERS', doc: 'worker processes `npm start` runs (node:cluster), sharing one port.',
      schema: count.min(1).max(64), default: 1,
    }),
    metricsToken: setting({
      env: 'METRICS_TOKEN',
      doc: 'when set, `/metrics` answers only requests with `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise).',
      schema: z.string().min(16, 'must be at least 16 characters').regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
      default: noDefault('`/metrics` is open (keep it off the public network)'),
    }),
    clientAuthRateLimit: setting({
      env: 'CLIENT_AUTH_RATE_LIMIT',
      doc: 'failed client authentications allowed per client_id × client IP and minute at the token, introspection and revocation endpoints (then 429 with `Retry-After`), shared by all instances.',
      schema: count.min(1), default: 20,
    }),
    maxBodyBytes: setting({
      env: 'MAX_BODY_BYTES', doc: 'largest request body accepted by the admin API and forms (bytes).',
      schema: count.min(1024).max(10 * 1024 * 1024), default: 65536,
    }),
  },

  database: {
    url: setting({
      env: 'DATABASE_URL', doc: '`sqlite:<path>` (embedded) or `postgres://user:pass@host:5432/db`.',
      schema: z.string().regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'use sqlite:<path> or postgres://…').optional(),
      default: computed('`sqlite:$DATA_DIR/grantledger.sqlite`', (get) => `sqlite:${join(String(get('dataDir')), 'grantledger.sqlite')}`),
    }),
    poolSize: setting({
      env: 'DATABASE_POOL_SIZE', doc: 'PostgreSQL connections per process.',
      schema: count.min(1).max(200), default: 10,
    }),
    migrateOnStart: setting({
      env: 'MIGRATE_ON_START', doc: 'apply pending migrations at start (`grantledger migrate` does it by hand).',
      schema: z.boolean(), default: true,
    }),
  },

  secrets: {
    secretKey: setting({
      env: 'SECRET_KEY',
      doc: '32 random bytes, base64url: encrypts the signing keys, cookie keys and webhook secrets stored in the database, so a copy of the database alone is not enough to forge anything. **Every instance sharing a database needs the same value.**',
      schema: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes in base64url (43 characters)').optional(),
      default: noDefault('generated on first start into `SECRET_KEY_FILE`'),
    }),
    secretKeyFile: setting({
      env: 'SECRET_KEY_FILE', doc: 'where a generated secret key is kept (created with mode 0600).',
      schema: z.string().min(1).optional(),
      default: computed('`$DATA_DIR/secret.key`', (get) => join(String(get('dataDir')), 'secret.key')),
    }),
  },

  tokens: {
    accessTokenTtl: setting({
      env: 'ACCESS_TOKEN_TTL', doc: 'lifetime of OAuth access tokens (authorization code and refresh).',
      schema: seconds, default: 3600, unit: 'seconds',
    }),
    clientCredentialsTtl: setting({
      env: 'CLIENT_CREDENTIALS_TTL', doc: 'lifetime of client-credentials access tokens.',
      schema: seconds, default: 3600, unit: 'seconds',
    }),
    refreshTokenTtl: setting({
      env: 'REFRESH_TOKEN_TTL', doc: 'absolute lifetime of a refresh-token chain; rotation keeps the end date.',
      schema: seconds, default: 30 * 24 * 3600, unit: 'seconds',
    }),
    authorizationCodeTtl: setting({
      env: 'AUTHORIZATION_CODE_TTL', doc: 'lifetime of an authorization code (at most 600).',
      schema: seconds.max(600), default: 60, unit: 'seconds',
    }),
    idTokenTtl: setting({
      env: 'ID_TOKEN_TTL', doc: 'lifetime of ID tokens.',
      schema: seconds, default: 3600, unit: 'seconds',
    }),
    grantTtl: setting({
      env: 'GRANT_TTL',
      doc: "lifetime of a user's consent to an app; at least `REFRESH_TOKEN_TTL`. It slides: an authorization that reuses the grant past half-life renews it.",
      schema: seconds, default: 365 * 24 * 3600, unit: 'seconds',
    }),
    sessionTtl: setting({
      env: 'SESSION_TTL', doc: 'lifetime of the end-user session at the authorization server.',
      schema: seconds, default: 14 * 24 * 3600, unit: 'seconds',
    }),
    interactionTtl: setting({
      env: 'INTERACTION_TTL', doc: 'time a user has to finish a login/consent page.',
      schema: seconds, default: 3600, unit: 'seconds',
    }),
    prefix: setting({
      env: 'TOKEN_PREFIX',
      doc: 'product prefix of new access tokens and API keys: `<prefix>_pat_…`, `<prefix>_key_…` (register it with secret scanners). Tokens with the default prefix and the earlier `glpat_`/`glak_` ones keep working.',
      schema: z.string().regex(/^[a-z][a-z0-9]{1,31}$/, 'use 2 to 32 lowercase letters and digits, starting with a letter'),
      default: 'grantledger',
    }),
    lastUsedInterval: setting({
      env: 'LAST_USED_INTERVAL',
      doc: '`last_used_at` of connections, access tokens and API keys is written at most this often per object and process, so introspection does not write on every call.',
      schema: count.min(0), default: 300, unit: 'seconds',
    }),
    maxLifetimeDays: setting({
      env: 'TOKEN_MAX_LIFETIME_DAYS',
      doc: 'longest lifetime of a new access token or API key, in days (page, API and CLI); set, every new token must expire within it and "No expiry" is not offered.',
      schema: count.min(1).max(1825).optional(), default: noDefault('no limit below 5 years; tokens may have no expiry'),
    }),
  },

  admin: {
    sessionTtl: setting({
      env: 'ADMIN_SESSION_TTL', doc: 'lifetime of a Developer Tools sign-in (sliding).',
      schema: seconds, default: 8 * 3600, unit: 'seconds',
    }),
    loginRateLimit: setting({
      env: 'LOGIN_RATE_LIMIT',
      doc: 'failed sign-ins allowed per e-mail in a `LOGIN_RATE_WINDOW` (per IP: 5×), shared by all instances.',
      schema: count.min(1), default: 10,
    }),
    loginRateWindow: setting({
      env: 'LOGIN_RATE_WINDOW', doc: 'the window of `LOGIN_RATE_LIMIT`.',
      schema: seconds, default: 15 * 60, unit: 'seconds',
    }),
  },

  login: {
    mode: setting({
      env: 'LOGIN_MODE',
      doc: 'how people sign in (the OAuth login page and Developer Tools alike): `local` — e-mail and password kept by grantledger; `upstream` — only through the SaaS’s identity provider (`UPSTREAM_*`), straight there; `both` — the password form and a "Continue with `UPSTREAM_NAME`" button.',
      schema: z.enum(['local', 'upstream', 'both']), default: 'local',
    }),
    upstream: {
      issuer: setting({
        env: 'UPSTREAM_ISSUER', doc: 'issuer URL of the SaaS’s OpenID Connect provider (its discovery document is read from `<issuer>/.well-known/openid-configuration`); `http://` only on loopback.',
        schema: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, '')).optional(),
        default: noDefault('no upstream: `LOGIN_MODE` must be `local`'),
      }),
      clientId: setting({
        env: 'UPSTREAM_CLIENT_ID', doc: 'grantledger’s client id at the upstream provider.',
        schema: z.string().min(1).optional(), default: noDefault('required with an upstream'),
      }),
      clientSecret: setting({
        env: 'UPSTREAM_CLIENT_SECRET', doc: 'grantledger’s client secret at the upstream (`client_secret_basic`); unset for a public client (PKCE only).',
        schema: z.string().min(1).optional(), default: noDefault('a public client'),
      }),
      name: setting({
        env: 'UPSTREAM_NAME', doc: 'the upstream as people know it, on the button: "Continue with …".',
        schema: z.string().min(1).max(60), default: 'your company account',
      }),
      companyClaim: setting({
        env: 'UPSTREAM_COMPANY_CLAIM', doc: 'the ID-token (or userinfo) claim naming the person’s company: the company’s `external_id` at grantledger.',
        schema: z.string().min(1), default: 'company',
      }),
      roleClaim: setting({
        env: 'UPSTREAM_ROLE_CLAIM', doc: 'the claim holding the person’s role (a string or a list), read at every sign-in.',
        schema: z.string().min(1), default: 'role',
      }),
      roles: setting({
        env: 'UPSTREAM_ROLES',
        doc: 'claim value → grantledger role, as JSON; a person whose claim maps to nothing is an `employee`; with a list, the highest role wins.',
        schema: z.record(z.string().min(1), z.enum(['admin', 'manager', 'employee'])),
        default: { admin: 'admin', manager: 'manager', employee: 'employee' },
      }),
      createCompanies: setting({
        env: 'UPSTREAM_CREATE_COMPANIES', doc: 'a company claim no company carries as `external_id` creates that company (otherwise the sign-in is refused with a page saying so).',
        schema: z.boolean(), default: false,
      }),
    },
  },

  webhooks: {
    maxAttempts: setting({
      env: 'WEBHOOK_MAX_ATTEMPTS', doc: 'deliveries are retried with exponential backoff up to this many times.',
      schema: count.min(1).max(30), default: 8,
    }),
    timeout: setting({
      env: 'WEBHOOK_TIMEOUT', doc: 'time to wait for the receiving endpoint (at most 120).',
      schema: seconds.max(120), default: 10, unit: 'seconds',
    }),
    backoffBase: setting({
      env: 'WEBHOOK_BACKOFF_BASE', doc: 'first retry delay; each further retry doubles it (capped at 1 h).',
      schema: z.number().positive(), default: 30, unit: 'seconds',
    }),
    pollInterval: setting({
      env: 'WEBHOOK_POLL_INTERVAL', doc: 'how often the outbox is checked for due deliveries.',
      schema: z.number().positive(), default: 5, unit: 'seconds',
    }),
  },

  scopes: {
    roles: setting({
      env: 'SCOPES_ROLES',
      doc: 'what a person of each role may grant an app, as JSON `{"admin": [...], "manager": [...], "employee": [...]}` of scope names (`*` = every OAuth scope); scopes beyond it are withheld ("Not included" on the consent page). `company_access` stays an admin’s alone whatever this says.',
      schema: z.object({
        admin: z.array(z.string().min(1)),
        manager: z.array(z.string().min(1)),
        employee: z.array(z.string().min(1)),
      }).strict(),
      default: {
        admin: [...DEFAULT_ROLE_BOUNDS.admin],
        manager: [...DEFAULT_ROLE_BOUNDS.manager],
        employee: [...DEFAULT_ROLE_BOUNDS.employee],
      },
    }),
  },

  cleanupInterval: setting({
    env: 'CLEANUP_INTERVAL', doc: 'how often expired tokens, codes and sessions are deleted.',
    schema: seconds, default: 600, unit: 'seconds',
  }),
  keysReloadInterval: setting({
    env: 'KEYS_RELOAD_INTERVAL',
    doc: 'how often each process looks in the database for keys rotated by `grantledger keys rotate` (on any instance) and starts signing with them; `0` = only at start.',
    schema: z.number().min(0), default: 60, unit: 'seconds',
  }),
  logLevel: setting({
    env: 'LOG_LEVEL', doc: '`debug`, `info`, `warn`, `error` or `silent`; logs are JSON lines on stdout.',
    schema: z.enum(['debug', 'info', 'warn', 'error', 'silent']), default: 'info',
  }),
  bootstrap: setting({
    env: 'BOOTSTRAP',
    doc: 'on a first start with no company, create one company and one admin and print how to sign in; `false` starts empty.',
    schema: z.boolean(), default: true,
  }),
};

export type Settings = Infer<typeof descriptors>;

/** Rules across settings, checked after each one is valid on its own. */
export const refine: Refinement<Settings> = (s, ctx) => {
  if (s.tokens.grantTtl < s.tokens.refreshTokenTtl) {
    ctx.addIssue({
      code: 'custom',
      path: ['tokens', 'grantTtl'],
      message: `must be at least tokens.refreshTokenTtl (${s.tokens.refreshTokenTtl}), or connected apps silently lose access`,
    });
  }
  if (s.login.mode !== 'local' && (!s.login.upstream.issuer || !s.login.upstream.clientId)) {
    ctx.addIssue({
      code: 'custom',
      path: ['login', 'mode'],
      message: `${s.login.mode} needs the upstream provider: set UPSTREAM_ISSUER and UPSTREAM_CLIENT_ID (or LOGIN_MODE=local)`,
    });
  }
};
