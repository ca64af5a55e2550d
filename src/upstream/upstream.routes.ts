// The pages of upstream sign-in (LOGIN_MODE=upstream|both):
//   GET  /login/upstream?next=…            Developer Tools: off to the upstream
//   GET  /interaction/:uid/upstream        an authorization's login step: off to the upstream
//   GET  /login/upstream/callback          back from the upstream (registered there)
//   GET  /interaction/:uid/upstream/done   the authorization resumes, signed in (the interaction
//                                          cookie is only sent under /interaction/:uid)
//   POST /login/upstream/backchannel-logout  the upstream's logout tokens (registered there)
// The browser holds the sign-in's `state` in a signed cookie: a callback another browser
// started, a replayed one or one with a tampered state finds nothing and gets a page saying so.
import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { findUserByGuid } from '../companies/users.js';
import type { AdminAuth } from '../admin/auth.js';
import { loadDetails } from '../oidc/interactions.routes.js';
import { constantEquals } from '../shared/crypto.js';
import { AppError } from '../shared/errors.js';
import { readForm } from '../shared/http.js';
import { upstreamRefused } from './relying-party.js';
import type { UpstreamSignIn } from './sign-in.js';
import { BACKCHANNEL_PATH, CALLBACK_PATH } from './sign-in.js';
import { saveSignedIn, takeSignedIn, type LoginTarget } from './store.js';
import type { Database } from '../db/database.js';

export const STATE_COOKIE = 'gl.upstream';
export const DEVELOPER_TOOLS_PAGE = '/settings/developer-tools';

export interface UpstreamRouteDeps {
  upstream: UpstreamSignIn;
  provider: () => Provider;
  adminAuth: AdminAuth;
  db: Database;
  issuer: string;
  secureCookies: boolean;
  maxBodyBytes: number;
  safeNext: (next: unknown) => string;
}

export function upstreamRoutes(deps: UpstreamRouteDeps): Router {
  const { upstream, db } = deps;
  const router = new Router();

  const go = async (ctx: Context, target: LoginTarget) => {
    const { url, state } = await upstream.start(target);
    ctx.cookies.set(STATE_COOKIE, state, {
      signed: true, httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, path: '/', maxAge: 10 * 60_000,
    });
    ctx.set('cache-control', 'no-store');
    ctx.status = 303;
    ctx.redirect(url);
  };

  const browserState = (ctx: Context, sent?: unknown): string => {
    const state = ctx.cookies.get(STATE_COOKIE, { signed: true });
    if (!state || (sent !== undefined && (typeof sent !== 'string' || !constantEquals(sent, state)))) {
      throw upstreamRefused('This sign-in was not started in this browser, or it has expired. Start again from the app or the sign-in page.');
    }
    return state;
  };

  router.get('/login/upstream', (ctx) => go(ctx, { kind: 'developer-tools', next: deps.safeNext(ctx.query.next) }));

  router.get('/interaction/:uid/upstream', async (ctx) => {
    const details = await loadDetails(ctx, deps.provider());
    if (details.prompt.name !== 'login') throw new AppError(400, 'invalid_request', 'This page does not expect a sign-in.');
    await go(ctx, { kind: 'interaction', uid: details.uid });
  });

  router.get(CALLBACK_PATH, async (ctx) => {
    const state = browserState(ctx, ctx.query.state);
    // The URL the upstream sent the browser to, from ISSUER (never the Host header).
    const callbackUrl = new URL(ctx.originalUrl, deps.issuer);
    const { user, target } = await upstream.complete(callbackUrl, state);
    ctx.set('cache-control', 'no-store');
    if (target.kind === 'developer-tools') {
      ctx.cookies.set(STATE_COOKIE, null, { path: '/' });
      if (user.role !== 'admin') {
        throw new AppError(403, 'forbidden', 'Developer Tools are for company admins. Ask an admin of your company for access.');
      }
      await deps.adminAuth.signIn(ctx, user);
      ctx.status = 303;
      ctx.redirect(target.next);
      return;
    }
    await saveSignedIn(db, state, user.guid, target);
    ctx.status = 303;
    ctx.redirect(`/interaction/${encodeURIComponent(target.uid)}/upstream/done`);
  });

  router.get('/interaction/:uid/upstream/done', async (ctx) => {
    const state = browserState(ctx);
    const signedIn = await takeSignedIn(db, state);
    ctx.cookies.set(STATE_COOKIE, null, { path: '/' });
    if (!signedIn || signedIn.target.kind !== 'interaction' || signedIn.target.uid !== ctx.params.uid) {
      throw upstreamRefused('This sign-in has already been used or has expired. Go back to the app and start again.');
    }
    const provider = deps.provider();
    const details = await loadDetails(ctx, provider);
    if (details.prompt.name !== 'login') throw new AppError(400, 'invalid_request', 'This page does not expect a sign-in.');
    const user = await findUserByGuid(db, signedIn.userGuid);
    if (!user?.active) throw upstreamRefused('Your account is not active here. Ask an admin of your company.');
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: user.guid } }, { mergeWithLastSubmission: false });
    ctx.set('cache-control', 'no-store');
    ctx.status = 303;
    ctx.redirect(returnTo);
  });

  router.post(BACKCHANNEL_PATH, async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const form = await readForm(ctx, deps.maxBodyBytes);
    if (!form.logout_token) {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'logout_token is missing' };
      return;
    }
    try {
      await upstream.backchannelLogout(form.logout_token);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: err.message };
      return;
    }
    ctx.status = 200;
    ctx.body = '';
  });

  return router;
}
