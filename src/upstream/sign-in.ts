// Upstream sign-in as one service (LOGIN_MODE=upstream|both): start a sign-in for a target,
// complete it at the callback (the person matched, their role applied, their upstream session
// remembered), and end a person's grantledger sessions when a back-channel logout token from the
// upstream says they signed out there (connected apps keep their access, as with any sign-out).
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Settings } from '../config.js';
import type { Database } from '../db/database.js';
import type { LedgerEffects } from '../ledger/effects.js';
import type { RoleBounds } from '../authz/policy.js';
import type { User } from '../companies/users.js';
import { endSessionsOf } from '../companies/membership.js';
import { findUserById } from '../companies/users.js';
import type { Logger } from '../shared/logger.js';
import { personFor } from './people.js';
import { UpstreamRelyingParty, upstreamRefused } from './relying-party.js';
import { recordUpstreamSession, savePendingLogin, takePendingLogin, usersOfLogout, type LoginTarget } from './store.js';

export const CALLBACK_PATH = '/login/upstream/callback';
export const BACKCHANNEL_PATH = '/login/upstream/backchannel-logout';
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface UpstreamDeps {
  settings: Settings;
  db: Database;
  effects: LedgerEffects;
  roleBounds: RoleBounds;
  logger: Logger;
}

export class UpstreamSignIn {
  readonly rp: UpstreamRelyingParty;
  #jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  constructor(private readonly deps: UpstreamDeps) {
    this.rp = new UpstreamRelyingParty(deps.settings.login.upstream, `${deps.settings.server.issuer}${CALLBACK_PATH}`);
  }

  get name(): string {
    return this.rp.name;
  }

  /** Where to send the browser; `state` goes into the browser's cookie. */
  async start(target: LoginTarget): Promise<{ url: string; state: string }> {
    const request = await this.rp.authorizationRequest();
    await savePendingLogin(this.deps.db, request.state, { nonce: request.nonce, codeVerifier: request.codeVerifier, target });
    return { url: request.url, state: request.state };
  }

  /** The callback: `state` is the browser's cookie, which the query's `state` must equal (openid-client checks). */
  async complete(callbackUrl: URL, state: string): Promise<{ user: User; target: LoginTarget }> {
    const pending = await takePendingLogin(this.deps.db, state);
    if (!pending) throw upstreamRefused('This sign-in has already been used or has expired. Start again from the app or the sign-in page.');
    const claims = await this.rp.redeem(callbackUrl, { state, nonce: pending.nonce, codeVerifier: pending.codeVerifier });
    const user = await personFor({ ...this.deps, upstream: this.deps.settings.login.upstream, issuer: this.rp.issuer }, claims);
    if (typeof claims.sid === 'string' && claims.sid) {
      await recordUpstreamSession(this.deps.db, this.rp.issuer, claims.sid, user.id, Date.now() + this.deps.settings.tokens.sessionTtl * 1000);
    }
    this.deps.logger.info('upstream sign-in', { company_guid: user.company.guid, user_guid: user.guid, role: user.role });
    return { user, target: pending.target };
  }

  /**
   * A back-channel logout token (OIDC Back-Channel Logout 1.0 §2.6): signed by the upstream,
   * for us, recent, the logout event, no nonce, naming `sub` or `sid`. Returns how many people's
   * sessions ended; throws a 400 AppError for a token that fails a check.
   */
  async backchannelLogout(token: string): Promise<number> {
    const config = await this.rp.config();
    const jwksUri = config.serverMetadata().jwks_uri;
    if (!jwksUri) throw upstreamRefused('The upstream publishes no keys.');
    this.#jwks ??= createRemoteJWKSet(new URL(jwksUri));
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#jwks, {
        issuer: this.rp.issuer, audience: this.deps.settings.login.upstream.clientId!, maxTokenAge: '5m',
      }));
    } catch {
      throw upstreamRefused('The logout token is not valid.');
    }
    const events = payload.events as Record<string, unknown> | undefined;
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
    if (!events || typeof events[LOGOUT_EVENT] !== 'object' || 'nonce' in payload || (!sub && !sid)) {
      throw upstreamRefused('The logout token is not a back-channel logout token.');
    }
    const ids = await usersOfLogout(this.deps.db, this.rp.issuer, { sub, sid });
    for (const id of ids) {
      const user = await findUserById(this.deps.db, id);
      if (user) await endSessionsOf(this.deps.db, user);
    }
    this.deps.logger.info('upstream back-channel logout', { users: ids.length });
    return ids.length;
  }
}
