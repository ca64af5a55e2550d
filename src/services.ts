// The services of one server process, built once by src/server.ts (the composition root) and
// handed to the routers. Routers depend on this interface, never on server.ts or app.ts.
import type Provider from 'oidc-provider';
import type { AdminAuth } from './admin/auth.js';
import type { RoleBounds } from './authz/policy.js';
import type { Settings } from './config.js';
import type { Database } from './db/database.js';
import type { LedgerEffects } from './ledger/effects.js';
import type { LastUsedRecorder } from './ledger/last-used.js';
import type { Logger } from './shared/logger.js';
import type { Metrics } from './shared/metrics.js';
import type { LoginThrottle } from './shared/rate-limit.js';
import type { UpstreamSignIn } from './upstream/sign-in.js';

export interface Services {
  settings: Settings;
  db: Database;
  logger: Logger;
  /** The key-encryption key (SECRET_KEY). */
  kek: Buffer;
  /** Replaced when rotated keys are loaded (server.ts reloadKeys). */
  provider: Provider;
  metrics: Metrics;
  throttle: LoginThrottle;
  lastUsed: LastUsedRecorder;
  adminAuth: AdminAuth;
  /** What runs after a ledger command commits (metrics, log, purge, webhooks). */
  effects: LedgerEffects;
  /** What each role may grant apps (setting scopes.roles). */
  roleBounds: RoleBounds;
  /** Sign-in through the SaaS's identity provider (LOGIN_MODE=upstream|both). */
  upstream?: UpstreamSignIn;
}
