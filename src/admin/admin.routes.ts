// Developer Tools pages: sign-in at /login, the page at /settings/developer-tools with its
// sections #access-tokens, #api-keys and #connected-apps. Every form works without JavaScript
// and carries a CSRF token; the page script only adds menus, copy buttons and dialogs.
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { Services } from '../services.js';
import type { User } from '../companies/users.js';
import { passwordSignIn } from '../companies/sign-in.js';
import { setPassword } from '../companies/membership.js';
import { MIN_PASSWORD_LENGTH } from '../companies/users.js';
import { findConnection, listConnections } from '../ledger/connections.js';
import { revokeConnection } from '../ledger/revoke-connection.js';
import { API_SCOPES, TOKEN_SCOPES, describeScope } from '../oidc/scopes.js';
import { AppError, csrfFailed, forbidden, notFound } from '../shared/errors.js';
import { constantEquals } from '../shared/crypto.js';
import { guard } from '../shared/guard.js';
import { guidParam, idParams } from '../shared/guid.schema.js';
import { z } from 'zod';
import { checkFormCsrf, issueFormCsrf, readForm } from '../shared/http.js';
import { renderPage } from '../shared/views.js';
import { passwordsOff } from '../oidc/interactions.routes.js';
import type { TokenKind } from '../tokens/format.js';
import { newApiKeyFormSchema, newTokenFormSchema } from '../tokens/token.schema.js';
import { boundNewToken, createToken, listTokens, revokeToken } from '../tokens/tokens.js';
import { listAuthorizations, revokeUserAuthorization } from '../ledger/authorizations.js';
import { setCompanyAccess } from '../ledger/company-access.js';

const PAGE = '/settings/developer-tools';
/** Where the generated first-start admin chooses a password before anything else. */
const PASSWORD_PAGE = '/settings/password';
const FLASH = 'gl.flash';

interface PageState {
  admin: User;
  csrf: string;
}

/** A same-site path to go to after signing in (anything else: the Developer Tools page). */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/[a-z0-9/_#?=&-]*$/i.test(value) && !value.startsWith('//') ? value : PAGE;
}

export function adminRoutes(services: Services): Router {
  const { db, adminAuth, settings } = services;
  const router = new Router();
  const limit = settings.server.maxBodyBytes;
  const secure = settings.server.issuer.startsWith('https:');
  const mode = settings.login.mode;

  const setFlash = (ctx: Context, text: string) =>
    ctx.cookies.set(FLASH, encodeURIComponent(text.slice(0, 300)), { signed: true, httpOnly: true, sameSite: 'lax', secure, path: PAGE, maxAge: 60_000 });
  const takeFlash = (ctx: Context) => {
    const v = ctx.cookies.get(FLASH, { signed: true });
    if (v) ctx.cookies.set(FLASH, null, { path: PAGE });
    return v ? decodeURIComponent(v) : undefined;
  };

  /** Pages behind a session of an active admin; forms must carry the session's CSRF token. */
  const requireAdmin = async (ctx: Context, next: Next) => {
    const session = await adminAuth.sessionUser(ctx);
    if (!session) {
      if (ctx.method === 'GET') return ctx.redirect(`/login?next=${encodeURIComponent(ctx.path)}`);
      throw new AppError(401, 'unauthenticated', 'Your session has ended. Sign in again.');
    }
    if (session.user.role !== 'admin') throw forbidden('Developer Tools are for company admins. Ask an admin of your company for access.');
    if (session.user.mustChangePassword && ctx.path !== PASSWORD_PAGE) {
      if (ctx.method === 'GET') return ctx.redirect(PASSWORD_PAGE);
      throw forbidden('Choose a new password first.');
    }
    ctx.state.admin = session.user;
    ctx.state.csrf = session.csrf;
    if (ctx.method === 'POST') {
      ctx.state.form = await readForm(ctx, limit);
      const sent = (ctx.state.form as Record<string, string>)._csrf;
      if (!sent || !constantEquals(sent, session.csrf)) throw csrfFailed();
    }
    return next();
  };

  const renderLogin = async (ctx: Context, locals: { email?: string; error?: string; next?: string } = {}) => {
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await renderPage('admin-login', {
      title: 'Sign in to Developer Tools', csrf: issueFormCsrf(ctx, secure), email: locals.email ?? '', error: locals.error, next: safeNext(locals.next),
      upstream: mode === 'both' ? { name: settings.login.upstream.name, href: `/login/upstream?next=${encodeURIComponent(safeNext(locals.next))}` } : undefined,
    });
  };

  router.get('/', (ctx) => ctx.redirect(PAGE));
  router.get('/login', async (ctx) => {
    const next = typeof ctx.query.next === 'string' ? ctx.query.next : undefined;
    // LOGIN_MODE=upstream: straight to the SaaS's sign-in.
    if (mode === 'upstream') return ctx.redirect(`/login/upstream?next=${encodeURIComponent(safeNext(next))}`);
    return renderLogin(ctx, { next });
  });

  router.post('/login', async (ctx) => {
    if (mode === 'upstream') throw passwordsOff(settings.login.upstream.name);
    const form = await readForm(ctx, limit);
    checkFormCsrf(ctx, form._csrf);
    const outcome = await passwordSignIn(services, { email: form.email, password: form.password, ip: ctx.ip, flow: 'developer-tools' });
    if (!outcome.ok) {
      ctx.status = outcome.status;
      return renderLogin(ctx, { email: outcome.email, next: form.next, error: outcome.message });
    }
    // Only active admins get a session at all.
    const user = outcome.users.find((u) => u.role === 'admin');
    if (!user) {
      ctx.status = 403;
      return renderLogin(ctx, {
        email: outcome.email, next: form.next,
        error: 'Developer Tools are for company admins. Ask an admin of your company for access.',
      });
    }
    await adminAuth.signIn(ctx, user);
    ctx.status = 303;
    ctx.redirect(user.mustChangePassword ? PASSWORD_PAGE : safeNext(form.next));
  });

  const renderPassword = async (ctx: Context, error?: string) => {
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await renderPage('change-password', { title: 'Choose a new password', csrf: (ctx.state as PageState).csrf, error });
  };
  router.get(PASSWORD_PAGE, requireAdmin, async (ctx) => renderPassword(ctx));
  router.post(PASSWORD_PAGE, requireAdmin, async (ctx) => {
    const { admin } = ctx.state as PageState;
    const form = ctx.state.form as Record<string, string>;
    const password = form.password ?? '';
    if (password !== (form.confirm ?? '')) {
      ctx.status = 400;
      return renderPassword(ctx, 'The two passwords are not the same.');
    }
    if (password.length < MIN_PASSWORD_LENGTH || password.length > 1000) {
      ctx.status = 400;
      return renderPassword(ctx, `Choose a password of ${MIN_PASSWORD_LENGTH} to 1000 characters.`);
    }
    // Ends every session of this admin (the password changed), then starts this one afresh.
    await setPassword({ db }, admin, password);
    await adminAuth.signIn(ctx, { ...admin, mustChangePassword: false });
    ctx.status = 303;
    ctx.redirect(PAGE);
  });

  router.post('/logout', async (ctx) => {
    const form = await readForm(ctx, limit);
    const session = await adminAuth.sessionUser(ctx);
    if (session && (!form._csrf || !constantEquals(form._csrf, session.csrf))) throw csrfFailed();
    await adminAuth.signOut(ctx);
    ctx.status = 303;
    ctx.redirect('/login');
  });

  const renderTools = async (ctx: Context, extra: { created?: { kind: TokenKind; name: string; token: string }; error?: string } = {}) => {
    const { admin, csrf } = ctx.state as PageState;
    const [connections, accessTokens, apiKeys] = await Promise.all([
      listConnections(db, admin.company.id),
      listTokens(db, admin.company.id, 'access_token'),
      listTokens(db, admin.company.id, 'api_key'),
    ]);
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await renderPage('developer-tools', {
      title: 'Developer Tools', bodyClass: 'wide', scripts: ['/assets/developer-tools.js'],
      admin, csrf, connections, accessTokens, apiKeys, describeScope, apiScopes: TOKEN_SCOPES, v2Scopes: API_SCOPES,
      flash: takeFlash(ctx), created: extra.created, error: extra.error,
    });
  };

  router.get(PAGE, requireAdmin, async (ctx) => renderTools(ctx));

  const appParams = { params: idParams(), notFound: 'The connected app' };

  // Without JavaScript, "Revoke access" leads here: the confirmation, then the POST below.
  router.get(`${PAGE}/connected-apps/:id/revoke`, requireAdmin, guard(appParams, async (ctx) => {
    const { admin, csrf } = ctx.state as PageState;
    const connection = await findConnection(db, admin.company.id, ctx.guard.params.id);
    if (!connection) throw notFound('The connected app');
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await renderPage('confirm-revoke', { title: `Revoke ${connection.clientName}?`, admin, csrf, connection, describeScope });
  }));

  // One app: who authorized it, its company-wide access.
  router.get(`${PAGE}/connected-apps/:id`, requireAdmin, guard(appParams, async (ctx) => {
    const { admin, csrf } = ctx.state as PageState;
    const connection = await findConnection(db, admin.company.id, ctx.guard.params.id);
    if (!connection) throw notFound('The connected app');
    const authorizations = await listAuthorizations(db, admin.company.id, connection.clientId);
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await renderPage('connected-app', {
      title: connection.clientName, bodyClass: 'wide', admin, csrf, connection, authorizations, describeScope,
      flash: takeFlash(ctx),
    });
  }));

  const userParams = {
    params: z.object({ id: guidParam, user: guidParam }), notFound: 'This person’s authorization of the app',
  };
  router.post(`${PAGE}/connected-apps/:id/users/:user/revoke`, requireAdmin, guard(userParams, async (ctx) => {
    const { admin } = ctx.state as PageState;
    const clientId = ctx.guard.params.id;
    const out = await revokeUserAuthorization(services, admin.company, admin, clientId, ctx.guard.params.user);
    setFlash(ctx, out.connection_ended
      ? 'The authorization was revoked. Nobody else held the app’s access: it is no longer connected.'
      : 'The authorization was revoked: that person’s tokens for the app stopped working.');
    ctx.status = 303;
    ctx.redirect(out.connection_ended ? `${PAGE}#connected-apps` : `${PAGE}/connected-apps/${clientId}`);
  }));

  router.post(`${PAGE}/connected-apps/:id/company-access`, requireAdmin, guard(appParams, async (ctx) => {
    const { admin } = ctx.state as PageState;
    const clientId = ctx.guard.params.id;
    const form = ctx.state.form as Record<string, string>;
    const remove = form.action === 'remove';
    const scopes = Object.keys(form).filter((k) => k.startsWith('scope:')).map((k) => k.slice(6));
    const out = await setCompanyAccess(services, admin.company, admin, clientId, remove ? null : scopes);
    setFlash(ctx, out.company_access
      ? `Company-wide access narrowed to: ${out.company_access.scopes.map(describeScope).join(', ')}.`
      : 'Company-wide access was removed.');
    ctx.status = 303;
    ctx.redirect(out.connection_ended ? `${PAGE}#connected-apps` : `${PAGE}/connected-apps/${clientId}`);
  }));

  router.post(`${PAGE}/connected-apps/:id/revoke`, requireAdmin, guard(appParams, async (ctx) => {
    const { admin } = ctx.state as PageState;
    const { appName } = await revokeConnection(services, admin.company, admin, ctx.guard.params.id);
    setFlash(ctx, `${appName} no longer has access to ${admin.company.name}. It must be authorized again to reconnect.`);
    ctx.status = 303;
    ctx.redirect(`${PAGE}#connected-apps`);
  }));

  const tokenForms = (segment: string, kind: TokenKind, label: string) => {
    // Invalid input shows the page again with the message (the form keeps working without JS).
    const form = {
      body: kind === 'api_key' ? newApiKeyFormSchema : newTokenFormSchema, form: true, maxBodyBytes: limit,
      invalid: (ctx: Context, error: string) => {
        ctx.status = 400;
        return renderTools(ctx, { error });
      },
    };
    router.post(`${PAGE}/${segment}`, requireAdmin, guard(form, async (ctx) => {
      const { admin } = ctx.state as PageState;
      const input = ctx.guard.body;
      let bounded;
      try {
        bounded = boundNewToken(kind, { ...input });
      } catch (err) {
        ctx.status = 400;
        return renderTools(ctx, { error: (err as Error).message });
      }
      const { token } = await createToken(db, admin, bounded);
      ctx.status = 201;
      return renderTools(ctx, { created: { kind, name: input.name, token } });
    }));
    router.post(`${PAGE}/${segment}/:id/revoke`, requireAdmin, guard({ params: idParams(), notFound: label }, async (ctx) => {
      const { admin } = ctx.state as PageState;
      await revokeToken(db, admin, kind, ctx.guard.params.id);
      setFlash(ctx, `${label} was revoked.`);
      ctx.status = 303;
      ctx.redirect(`${PAGE}#${segment}`);
    }));
  };
  tokenForms('access-tokens', 'access_token', 'The access token');
  tokenForms('api-keys', 'api_key', 'The API key');

  router.get('/docs/access-tokens', async (ctx) => {
    ctx.type = 'html';
    ctx.body = await renderPage('docs-access-tokens', { title: 'Access tokens' });
  });

  return router;
}
