// Who is calling the admin surface: a Developer Tools browser session (server-side, in the
// database; the cookie holds a random id stored as SHA-256) or a bearer access token of an
// active admin. CSRF tokens are derived from the session id, so they are never stored.
import type { Context, Next } from 'koa';
import type { Database } from '../db/database.js';
import { findUserById, type User } from '../companies/users.js';
import { AppError, csrfFailed, forbidden, unauthenticated } from '../shared/errors.js';
import { constantEquals, hmacSha256Hex, randomSecret, sha256 } from '../shared/crypto.js';
import { parseToken } from '../tokens/format.js';
import { lookupToken, ownerMayUse } from '../tokens/tokens.js';
import { bearerMay } from '../authz/policy.js';
import type { LastUsedRecorder } from '../ledger/last-used.js';

export const SESSION_COOKIE = 'gl.admin';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AdminState {
  admin: User;
  /** Set for browser sessions (bearer callers need no CSRF token). */
  csrf?: string;
  via: 'session' | 'token';
  /** The bearer token's scopes and expiry (what a token it creates must stay within). */
  token?: { scopes: string[]; expiresAt: number | null };
}

/** Deletes expired Developer Tools sessions; returns how many. */
export async function deleteExpiredAdminSessions(db: Database, now = Date.now()): Promise<number> {
  return (await db.run('DELETE FROM admin_sessions WHERE expires_at < ?', [now])).changes;
}

export class AdminAuth {
  constructor(
    private readonly db: Database,
    private readonly ttlSeconds: number,
    private readonly secureCookies: boolean,
    private readonly lastUsed: LastUsedRecorder,
  ) {}

  async signIn(ctx: Context, user: User): Promise<void> {
    const value = randomSecret(32);
    const now = Date.now();
    await this.db.run('INSERT INTO admin_sessions (id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)', [
      sha256(value), user.id, now, now + this.ttlSeconds * 1000,
    ]);
    this.#setCookie(ctx, value);
  }

  async signOut(ctx: Context): Promise<void> {
    const value = this.#cookie(ctx);
    if (value) await this.db.run('DELETE FROM admin_sessions WHERE id = ?', [sha256(value)]);
    ctx.cookies.set(SESSION_COOKIE, null, { path: '/' });
  }

  static csrfFor(sessionValue: string): string {
    return hmacSha256Hex(sessionValue, 'grantledger-csrf');
  }

  #cookie(ctx: Context): string | undefined {
    const value = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    return value && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
  }

  #setCookie(ctx: Context, value: string): void {
    ctx.cookies.set(SESSION_COOKIE, value, {
      signed: true, httpOnly: true, sameSite: 'lax', secure: this.secureCookies, path: '/', maxAge: this.ttlSeconds * 1000,
    });
  }

  /** The signed-in user of a browser session (any role), or undefined. Slides the expiry. */
  async sessionUser(ctx: Context): Promise<{ user: User; csrf: string } | undefined> {
    const value = this.#cookie(ctx);
    if (!value) return undefined;
    const row = await this.db.get<{ user_id: number; expires_at: number }>(
      'SELECT user_id, expires_at FROM admin_sessions WHERE id = ?',
      [sha256(value)],
    );
    const now = Date.now();
    if (!row || row.expires_at <= now) return undefined;
    const user = await findUserById(this.db, row.user_id);
    if (!user || !user.active) return undefined;
    // Slide the expiry, writing at most once a minute.
    const renewed = now + this.ttlSeconds * 1000;
    if (renewed - row.expires_at > 60_000) {
      await this.db.run('UPDATE admin_sessions SET expires_at = ? WHERE id = ?', [renewed, sha256(value)]);
      this.#setCookie(ctx, value);
    }
    return { user, csrf: AdminAuth.csrfFor(value) };
  }

  /**
   * The admin behind a bearer access token, by the same lookup introspection uses (lookupToken):
   * 401 if the token is not a live access token (API keys never reach the admin API), 403 if its
   * owner is no longer an admin.
   */
  async tokenUser(authorization: string, ip?: string): Promise<{ user: User; scopes: string[]; expiresAt: number | null }> {
    const m = /^Bearer ([^\s]+)$/i.exec(authorization);
    const challenge = { 'www-authenticate': 'Bearer realm="grantledger", error="invalid_token"' };
    if (!m || parseToken(m[1]!) !== 'access_token') {
      throw new AppError(401, 'invalid_token', 'The bearer token is not a valid grantledger access token.', challenge);
    }
    const token = await lookupToken(this.db, m[1]!);
    if (!token || !token.owner.active) {
      throw new AppError(401, 'invalid_token', 'The access token is unknown, revoked or expired.', challenge);
    }
    if (!ownerMayUse(token)) throw forbidden('The owner of this access token is no longer an admin.');
    this.lastUsed.accessToken(token.id, token.owner.company.guid, ip);
    return { user: token.owner, scopes: token.scopes, expiresAt: token.expiresAt };
  }

  /**
   * Middleware for the JSON API: a bearer access token, or a session with `x-csrf-token` on
   * unsafe methods. Sets ctx.state (AdminState).
   */
  api() {
    return async (ctx: Context, next: Next): Promise<void> => {
      const authorization = ctx.get('authorization');
      if (authorization) {
        const { user, scopes, expiresAt } = await this.tokenUser(authorization, ctx.ip);
        const may = bearerMay(ctx.method, scopes);
        if (!may.ok) {
          throw new AppError(403, 'insufficient_scope', `This access token lacks the ${may.needed} scope this request needs.`, {
            'www-authenticate': `Bearer realm="grantledger", error="insufficient_scope", scope="${may.needed}"`,
          });
        }
        Object.assign(ctx.state, { admin: user, via: 'token', token: { scopes, expiresAt } } satisfies AdminState);
        return next();
      }
      const session = await this.sessionUser(ctx);
      if (!session) throw unauthenticated();
      if (session.user.role !== 'admin') throw forbidden();
      if (session.user.mustChangePassword) throw forbidden('Choose a new password first (Developer Tools asks for it).');
      if (!SAFE_METHODS.has(ctx.method)) {
        const sent = ctx.get('x-csrf-token');
        if (!sent || !constantEquals(sent, session.csrf)) throw csrfFailed();
      }
      Object.assign(ctx.state, { admin: session.user, csrf: session.csrf, via: 'session' } satisfies AdminState);
      return next();
    };
  }
}
