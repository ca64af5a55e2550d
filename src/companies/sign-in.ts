// The one password sign-in step, shared by the Developer Tools sign-in (/login) and the OAuth
// login page (/interaction/:uid/login): validate → throttle → authenticate → record.
import type { Executor } from '../db/database.js';
import { tooManyRequests } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { LoginThrottle } from '../shared/rate-limit.js';
import { authenticate, normaliseEmail, type User } from './users.js';

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

/** Throws a 429 AppError (with Retry-After) while the e-mail or the client's IP is throttled. */
export async function passwordSignIn(
  deps: PasswordSignInDeps,
  input: { email?: unknown; password?: unknown; ip: string; flow: 'developer-tools' | 'authorization' },
): Promise<SignInOutcome> {
  const email = normaliseEmail(String(input.email ?? '')).slice(0, 320);
  const password = String(input.password ?? '');
  if (!email || !password || password.length > 1024) {
    return { ok: false, email, status: 400, message: 'Enter your e-mail address and password.' };
  }
  const wait = await deps.throttle.check(email, input.ip);
  if (wait > 0) throw tooManyRequests(wait);
  const users = await authenticate(deps.db, email, password);
  if (users.length === 0) {
    await deps.throttle.failed(email, input.ip);
    deps.logger.info('sign-in failed', { flow: input.flow });
    return { ok: false, email, status: 401, message: 'The e-mail address or password is not right.' };
  }
  await deps.throttle.succeeded(email);
  return { ok: true, email, users };
}
