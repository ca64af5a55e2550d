// grantledger settings: documented defaults.
//
// Generated from src/settings/descriptors.ts by `npm run settings:docs`: change a setting there,
// not here (a test fails when the two disagree). Local changes go in config/local.js.
// Load order (later wins): this file → config/<NODE_ENV>.js (if present) → config/local.js
// (if present, git-ignored) → environment variables (named next to each key).
// Every value is validated at start; an invalid one stops the start with one line naming it.
// Durations are in seconds.
export default {
  // DATA_DIR — where the default SQLite database and the generated secret key live (a relative path
  // is taken from the current directory when the setting is read). Only the server and `grantledger
  // migrate` create anything there. When unset: the `data/` folder of the installation, whatever
  // the current directory.
  dataDir: undefined,

  server: {
    // PORT — TCP port to listen on.
    port: 3000,
    // HOST — interface to bind; `0.0.0.0` listens on every interface.
    host: '0.0.0.0',
    // ISSUER — public base URL of this server (what clients and gateways use). Use `https://` in
    // production: cookies are then marked `Secure`. When unset: `http://localhost:$PORT`.
    issuer: undefined,
    // TRUST_PROXY — proxy hops in front of the server whose `X-Forwarded-For` to trust: the client
    // IP (for throttling and logs) is the n-th address from the right, never a client-chosen
    // leftmost one. `true` = 1, `false` = 0 (the socket address). URLs never follow
    // `X-Forwarded-Host`: they come from `ISSUER`.
    trustProxy: 0,
    // WORKERS — worker processes `npm start` runs (node:cluster), sharing one port.
    workers: 1,
    // METRICS_TOKEN — when set, `/metrics` answers only requests with `Authorization: Bearer
    // <METRICS_TOKEN>` (401 otherwise). When unset: `/metrics` is open (keep it off the public
    // network).
    metricsToken: undefined,
    // CLIENT_AUTH_RATE_LIMIT — failed client authentications allowed per client_id × client IP and
    // minute at the token, introspection and revocation endpoints (then 429 with `Retry-After`),
    // shared by all instances.
    clientAuthRateLimit: 20,
    // MAX_BODY_BYTES — largest request body accepted by the admin API and forms (bytes).
    maxBodyBytes: 65536,
  },

  database: {
    // DATABASE_URL — `sqlite:<path>` (embedded) or `postgres://user:pass@host:5432/db`. When unset:
    // `sqlite:$DATA_DIR/grantledger.sqlite`.
    url: undefined,
    // DATABASE_POOL_SIZE — PostgreSQL connections per process.
    poolSize: 10,
    // MIGRATE_ON_START — apply pending migrations at start (`grantledger migrate` does it by hand).
    migrateOnStart: true,
  },

  secrets: {
    // SECRET_KEY — 32 random bytes, base64url: encrypts the signing keys, cookie keys and webhook
    // secrets stored in the database, so a copy of the database alone is not enough to forge
    // anything. **Every instance sharing a database needs the same value.** When unset: generated
    // on first start into `SECRET_KEY_FILE`.
    secretKey: undefined,
    // SECRET_KEY_FILE — where a generated secret key is kept (created with mode 0600). When unset:
    // `$DATA_DIR/secret.key`.
    secretKeyFile: undefined,
  },

  tokens: {
    // ACCESS_TOKEN_TTL — lifetime of OAuth access tokens (authorization code and refresh).
    accessTokenTtl: 3600,
    // CLIENT_CREDENTIALS_TTL — lifetime of client-credentials access tokens.
    clientCredentialsTtl: 3600,
    // REFRESH_TOKEN_TTL — absolute lifetime of a refresh-token chain; rotation keeps the end date.
    refreshTokenTtl: 30 * 24 * 3600,
    // AUTHORIZATION_CODE_TTL — lifetime of an authorization code (at most 600).
    authorizationCodeTtl: 60,
    // ID_TOKEN_TTL — lifetime of ID tokens.
    idTokenTtl: 3600,
    // GRANT_TTL — lifetime of a user's consent to an app; at least `REFRESH_TOKEN_TTL`. It slides:
    // an authorization that reuses the grant past half-life renews it.
    grantTtl: 365 * 24 * 3600,
    // SESSION_TTL — lifetime of the end-user session at the authorization server.
    sessionTtl: 14 * 24 * 3600,
    // INTERACTION_TTL — time a user has to finish a login/consent page.
    interactionTtl: 3600,
    // TOKEN_PREFIX — product prefix of new access tokens and API keys: `<prefix>_pat_…`,
    // `<prefix>_key_…` (register it with secret scanners). Tokens with the default prefix and the
    // earlier `glpat_`/`glak_` ones keep working.
    prefix: 'grantledger',
    // LAST_USED_INTERVAL — `last_used_at` of connections, access tokens and API keys is written at
    // most this often per object and process, so introspection does not write on every call.
    lastUsedInterval: 300,
    // TOKEN_MAX_LIFETIME_DAYS — longest lifetime of a new access token or API key, in days (page,
    // API and CLI); set, every new token must expire within it and "No expiry" is not offered. When
    // unset: no limit below 5 years; tokens may have no expiry.
    maxLifetimeDays: undefined,
  },

  admin: {
    // ADMIN_SESSION_TTL — lifetime of a Developer Tools sign-in (sliding).
    sessionTtl: 8 * 3600,
    // LOGIN_RATE_LIMIT — failed sign-ins allowed per e-mail in a `LOGIN_RATE_WINDOW` (per IP: 5×),
    // shared by all instances.
    loginRateLimit: 10,
    // LOGIN_RATE_WINDOW — the window of `LOGIN_RATE_LIMIT`.
    loginRateWindow: 15 * 60,
  },

  login: {
    // LOGIN_MODE — how people sign in (the OAuth login page and Developer Tools alike): `local` —
    // e-mail and password kept by grantledger; `upstream` — only through the SaaS’s identity
    // provider (`UPSTREAM_*`), straight there; `both` — the password form and a "Continue with
    // `UPSTREAM_NAME`" button.
    mode: 'local',
    upstream: {
      // UPSTREAM_ISSUER — issuer URL of the SaaS’s OpenID Connect provider (its discovery document
      // is read from `<issuer>/.well-known/openid-configuration`); `http://` only on loopback. When
      // unset: no upstream: `LOGIN_MODE` must be `local`.
      issuer: undefined,
      // UPSTREAM_CLIENT_ID — grantledger’s client id at the upstream provider. When unset: required
      // with an upstream.
      clientId: undefined,
      // UPSTREAM_CLIENT_SECRET — grantledger’s client secret at the upstream
      // (`client_secret_basic`); unset for a public client (PKCE only). When unset: a public
      // client.
      clientSecret: undefined,
      // UPSTREAM_NAME — the upstream as people know it, on the button: "Continue with …".
      name: 'your company account',
      // UPSTREAM_COMPANY_CLAIM — the ID-token (or userinfo) claim naming the person’s company: the
      // company’s `external_id` at grantledger.
      companyClaim: 'company',
      // UPSTREAM_ROLE_CLAIM — the claim holding the person’s role (a string or a list), read at
      // every sign-in.
      roleClaim: 'role',
      // UPSTREAM_ROLES — claim value → grantledger role, as JSON; a person whose claim maps to
      // nothing is an `employee`; with a list, the highest role wins.
      roles: {
        "admin": "admin",
        "manager": "manager",
        "employee": "employee"
      },
      // UPSTREAM_CREATE_COMPANIES — a company claim no company carries as `external_id` creates
      // that company (otherwise the sign-in is refused with a page saying so).
      createCompanies: false,
    },
  },

  webhooks: {
    // WEBHOOK_MAX_ATTEMPTS — deliveries are retried with exponential backoff up to this many times.
    maxAttempts: 8,
    // WEBHOOK_TIMEOUT — time to wait for the receiving endpoint (at most 120).
    timeout: 10,
    // WEBHOOK_BACKOFF_BASE — first retry delay; each further retry doubles it (capped at 1 h).
    backoffBase: 30,
    // WEBHOOK_POLL_INTERVAL — how often the outbox is checked for due deliveries.
    pollInterval: 5,
  },

  scopes: {
    // SCOPES_ROLES — what a person of each role may grant an app, as JSON `{"admin": [...],
    // "manager": [...], "employee": [...]}` of scope names (`*` = every OAuth scope); scopes beyond
    // it are withheld ("Not included" on the consent page). `company_access` stays an admin’s alone
    // whatever this says.
    roles: {
      "admin": [
        "*"
      ],
      "manager": [
        "openid",
        "profile",
        "email",
        "offline_access",
        "company:read",
        "locations:read",
        "users:read",
        "schedules:read",
        "timepunches:read",
        "schedules:write",
        "timepunches:write"
      ],
      "employee": [
        "openid",
        "profile",
        "email",
        "offline_access",
        "schedules:read",
        "timepunches:read",
        "timepunches:write",
        "locations:read"
      ]
    },
  },

  // CLEANUP_INTERVAL — how often expired tokens, codes and sessions are deleted.
  cleanupInterval: 600,

  // KEYS_RELOAD_INTERVAL — how often each process looks in the database for keys rotated by
  // `grantledger keys rotate` (on any instance) and starts signing with them; `0` = only at start.
  keysReloadInterval: 60,

  // LOG_LEVEL — `debug`, `info`, `warn`, `error` or `silent`; logs are JSON lines on stdout.
  logLevel: 'info',

  // BOOTSTRAP — on a first start with no company, create one company and one admin and print how to
  // sign in; `false` starts empty.
  bootstrap: true,
};
