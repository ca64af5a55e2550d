// grantledger settings: documented defaults.
//
// Load order (later wins): this file → config/<NODE_ENV>.js (if present) → config/local.js
// (if present, git-ignored) → environment variables (named next to each key).
// Every value is validated at start; an invalid one stops the start with one line naming it.
// Durations are in seconds.
export default {
  server: {
    // PORT — TCP port to listen on.
    port: 3000,
    // HOST — interface to bind; 0.0.0.0 listens on every interface.
    host: '0.0.0.0',
    // ISSUER — public base URL of this server (what clients and gateways use). Defaults to
    // http://localhost:<port>. Use https:// in production; cookies are then marked Secure.
    issuer: undefined,
    // TRUST_PROXY — true when behind a TLS-terminating proxy that sets X-Forwarded-*.
    trustProxy: false,
    // WORKERS — number of worker processes `npm start` runs (node:cluster), sharing the port.
    workers: 1,
    // MAX_BODY_BYTES — largest request body accepted by the admin API and forms.
    maxBodyBytes: 65536,
  },

  database: {
    // DATABASE_URL — `sqlite:<path>` (embedded, the default) or `postgres://user:pass@host/db`.
    url: 'sqlite:./data/grantledger.sqlite',
    // DATABASE_POOL_SIZE — PostgreSQL connections per process.
    poolSize: 10,
    // Run pending migrations when the server starts (`grantledger migrate` does it by hand).
    migrateOnStart: true,
  },

  secrets: {
    // SECRET_KEY — 32 random bytes, base64url. Encrypts the signing and cookie keys stored in
    // the database, so a copy of the database alone is not enough to forge anything.
    // When unset it is generated on first start into `secretKeyFile`. Every instance sharing a
    // database must use the same value.
    secretKey: undefined,
    // SECRET_KEY_FILE — where the generated secret key is kept (created with mode 0600).
    secretKeyFile: './data/secret.key',
  },

  tokens: {
    // ACCESS_TOKEN_TTL — lifetime of OAuth access tokens (authorization code and refresh).
    accessTokenTtl: 3600,
    // CLIENT_CREDENTIALS_TTL — lifetime of client-credentials access tokens.
    clientCredentialsTtl: 3600,
    // REFRESH_TOKEN_TTL — absolute lifetime of a refresh-token chain (rotation keeps the end date).
    refreshTokenTtl: 30 * 24 * 3600,
    // AUTHORIZATION_CODE_TTL — lifetime of an authorization code.
    authorizationCodeTtl: 60,
    // ID_TOKEN_TTL — lifetime of ID tokens.
    idTokenTtl: 3600,
    // GRANT_TTL — lifetime of a user's consent to an app; must be at least REFRESH_TOKEN_TTL.
    // It slides: each authorization that reuses the grant renews it when it is past half-life.
    grantTtl: 365 * 24 * 3600,
    // SESSION_TTL — lifetime of the end-user session at the authorization server.
    sessionTtl: 14 * 24 * 3600,
    // INTERACTION_TTL — time a user has to finish a login/consent page.
    interactionTtl: 3600,
    // LAST_USED_INTERVAL — `last_used_at` of connections, access tokens and API keys is written
    // at most this often per object, so the introspection hot path does not write on every call.
    lastUsedInterval: 300,
  },

  admin: {
    // ADMIN_SESSION_TTL — lifetime of a Developer Tools sign-in (sliding).
    sessionTtl: 8 * 3600,
    // LOGIN_RATE_LIMIT — failed or attempted sign-ins allowed per e-mail and per IP in a window.
    loginRateLimit: 10,
    // LOGIN_RATE_WINDOW — the window of LOGIN_RATE_LIMIT.
    loginRateWindow: 15 * 60,
  },

  webhooks: {
    // WEBHOOK_MAX_ATTEMPTS — deliveries are retried with exponential backoff up to this many times.
    maxAttempts: 8,
    // WEBHOOK_TIMEOUT — seconds to wait for the receiving endpoint.
    timeout: 10,
    // WEBHOOK_BACKOFF_BASE — first retry delay; each further retry doubles it (capped at 1 h).
    backoffBase: 30,
    // WEBHOOK_POLL_INTERVAL — how often the outbox is checked for due deliveries.
    pollInterval: 5,
  },

  scopes: {
    // SCOPES_ROLES (JSON) — what a person of each role may grant an app; scopes beyond it are
    // withheld (the consent page lists them as "Not included"). '*' = every OAuth scope;
    // company_access is an admin's alone whatever this says.
    roles: {
      admin: ['*'],
      manager: ['openid', 'profile', 'email', 'offline_access', 'company:read', 'locations:read', 'users:read',
        'schedules:read', 'timepunches:read', 'schedules:write', 'timepunches:write'],
      employee: ['openid', 'profile', 'email', 'offline_access', 'schedules:read', 'timepunches:read', 'timepunches:write', 'locations:read'],
    },
  },

  // CLEANUP_INTERVAL — how often expired tokens, codes and sessions are deleted.
  cleanupInterval: 600,

  // KEYS_RELOAD_INTERVAL — how often (s) each process checks the database for keys rotated by
  // `grantledger keys rotate` (on any instance) and starts signing with them; 0 = only at start.
  keysReloadInterval: 60,

  // LOG_LEVEL — debug | info | warn | error | silent.
  logLevel: 'info',

  // BOOTSTRAP — on a first start with no company, create one company and one admin and print
  // how to sign in. Set BOOTSTRAP=false to start empty.
  bootstrap: true,
};
