// The one password sign-in step, shared by the Developer Tools sign-in (/login) and the OAuth
// login page (/interaction/:uid/login): validate → take a throttle slot → authenticate → record.
// The slot is taken before the password is checked, in one statement (rate-limit.ts), so a
// parallel burst gets at most LOGIN_RATE_LIMIT attempts per e-mail × IP through; a right
// password sent while the window is full is refused like any other attempt.
import { recordAudit } from '../audit/audit.js';
import type { Executor } from '../db/database.js';
import { tooManyRequests } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { LoginThrottle } from '../shared/rate-limit.js';
import { authenticate, findUsersByEmail, normaliseEmail, type User } from './users.js';

export interface PasswordSignInDeps {
  db: Executor;
  throttle: LoginThrottle;
  logger: Logger;
}

export type SignInOutcome =
  /** The active users this e-mail and password open (the same pair may exist in several companies). */
  | { ok: true; email: string; users: User[] }
  /** A page to show again with this message (400: incomplete form, 401: wrong e-mail or password). */
  | { ok: false; email: string; status: 400 | 401; message: string };

/** Throws a 429 AppError (with Retry-After) while the e-mail × IP or the client's IP is throttled. */
export async function passwordSignIn(
  deps: PasswordSignInDeps,
  input: { email?: unknown; password?: unknown; ip: string; flow: 'developer-tools' | 'authorization' },
): Promise<SignInOutcome> {
  // Fields come from readForm, which refused control characters (../shared/http.ts).
  const email = normaliseEmail(typeof input.email === 'string' ? input.email : '').slice(0, 320);
  const password = typeof input.password === 'string' ? input.password : '';
  if (!email || !password || password.length > 1024) {
    return { ok: false, email, status: 400, message: 'Enter your e-mail address and password.' };
  }
  const attempt = await deps.throttle.attempt(email, input.ip);
  if (!attempt.allowed) throw tooManyRequests(attempt.retryAfter);
  const users = await authenticate(deps.db, email, password);
  if (users.length === 0) {
    deps.logger.info('sign-in failed', { flow: input.flow });
    if (attempt.count === deps.throttle.limiter.limit) await recordLockout(deps, email, input.ip);
    return { ok: false, email, status: 401, message: 'The e-mail address or password is not right.' };
  }
  await deps.throttle.succeeded(email, input.ip);
  return { ok: true, email, users };
}

/** The failure that filled the window: a `sign_in.locked` audit event in each company of this e-mail. */
async function recordLockout(deps: PasswordSignInDeps, email: string, ip: string): Promise<void> {
  const { limiter } = deps.throttle;
  deps.logger.warn('sign-in locked', { ip, failures: limiter.limit, window_seconds: limiter.windowSeconds });
  for (const user of await findUsersByEmail(deps.db, email)) {
    await recordAudit(deps.db, {
      companyId: user.company.id, actor: null, action: 'sign_in.locked', targetType: 'user', targetId: user.guid,
      details: { ip, failures: limiter.limit, window_seconds: limiter.windowSeconds },
    });
  }
}
