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
import { findConnection, listConnections, type Connection } from '../ledger/connections.js';
import { namesOf, recentRevocations } from '../audit/recent-revocations.js';
import { listAudit } from '../audit/audit.js';
import { auditQuery } from '../audit/audit.schema.js';
import { usageOf } from '../ledger/usage.js';
import { byName, listing, newestFirst } from './listing.js';
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
import { boundNewToken, createToken, findToken, listTokens, revokeToken, type TokenRecord } from '../tokens/tokens.js';
import { EXPIRY_PRESET_DAYS, fieldErrors, tokenFormSchema, type TokenFormField } from './token-form.js';
import { SecretFlash } from './secret-flash.js';
import { listAuthorizations, revokeUserAuthorization } from '../ledger/authorizations.js';
import { setCompanyAccess } from '../ledger/company-access.js';

const PAGE = '/settings/developer-tools';
/** Where the generated first-start admin chooses a password before anything else. */
const PASSWORD_PAGE = '/settings/password';

const TOKEN_LISTING = {
  text: (t: TokenRecord) => `${t.name} ${t.last4} ${t.createdBy.email} ${t.createdBy.name} ${t.scopes.join(' ')}`,
  sorts: [
    { value: 'newest', label: 'Newest first', compare: (a: TokenRecord, b: TokenRecord) => newestFirst(a.createdAt, b.createdAt) },
    { value: 'oldest', label: 'Oldest first', compare: (a: TokenRecord, b: TokenRecord) => a.createdAt - b.createdAt },
    { value: 'name', label: 'Name', compare: byName((t: TokenRecord) => t.name) },
    { value: 'last_used', label: 'Recently used', compare: (a: TokenRecord, b: TokenRecord) => newestFirst(a.lastUsedAt, b.lastUsedAt) },
    { value: 'expires', label: 'Expiring soonest', compare: (a: TokenRecord, b: TokenRecord) => (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) },
  ],
};
const CONNECTION_LISTING = {
  text: (c: Connection) => `${c.clientName} ${c.clientId} ${c.connectedBy?.email ?? ''} ${c.connectedBy?.name ?? ''}`,
  sorts: [
    { value: 'newest', label: 'Recently connected', compare: (a: Connection, b: Connection) => newestFirst(a.connectedAt, b.connectedAt) },
    { value: 'name', label: 'Name', compare: byName((c: Connection) => c.clientName) },
    { value: 'last_used', label: 'Recently used', compare: (a: Connection, b: Connection) => newestFirst(a.lastUsedAt, b.lastUsedAt) },
  ],
};
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
  const secrets = new SecretFlash(services.kek, PAGE, secure);
  const maxLifetimeDays = settings.tokens.maxLifetimeDays;

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

  /** A create form shown again: which one, what was typed, what is wrong with each field. */
  interface FormState { kind: TokenKind; values: Record<string, string>; errors: Partial<Record<TokenFormField, string>> }

  const renderTools = async (ctx: Context, extra: { form?: FormState } = {}) => {
    const { admin, csrf } = ctx.state as PageState;
    const companyId = admin.company.id;
    const [connections, accessTokens, apiKeys, revokedTokens, revokedKeys, revokedApps] = await Promise.all([
      listConnections(db, companyId),
      listTokens(db, companyId, 'access_token'),
      listTokens(db, companyId, 'api_key'),
      recentRevocations(db, companyId, 'access_token'),
      recentRevocations(db, companyId, 'api_key'),
      recentRevocations(db, companyId, 'connection'),
    ]);
    const query = ctx.query as Record<string, unknown>;
    const lists = {
      accessTokens: listing(accessTokens, query, 'at_', 'access-tokens', TOKEN_LISTING),
      apiKeys: listing(apiKeys, query, 'ak_', 'api-keys', TOKEN_LISTING),
      connections: listing(connections, query, 'ca_', 'connected-apps', CONNECTION_LISTING),
    };
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await renderPage('developer-tools', {
      title: 'Developer Tools', bodyClass: 'wide', scripts: ['/assets/developer-tools.js'], nav: 'tools',
      admin, csrf, lists, describeScope, apiScopes: TOKEN_SCOPES, v2Scopes: API_SCOPES,
      history: { access_token: revokedTokens, api_key: revokedKeys, connection: revokedApps },
      usage: await usageOf(db, services.lastUsed.usage, admin.company.guid),
      flash: takeFlash(ctx), created: extra.form ? undefined : secrets.take(ctx, csrf), form: extra.form,
      expiryDays: EXPIRY_PRESET_DAYS, maxLifetimeDays,
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
    // Invalid input shows the page again: the form open, what was typed kept, each problem next
    // to its field (the form keeps working without JS). A valid one redirects (post/redirect/get).
    const form = {
      body: tokenFormSchema(kind, maxLifetimeDays), form: true, maxBodyBytes: limit,
      invalid: (ctx: Context, message: string, error?: z.ZodError) => {
        ctx.status = 400;
        // No ZodError: the form was refused as a whole (control characters): say so at its first field.
        return renderTools(ctx, { form: { kind, values: ctx.state.form as Record<string, string>, errors: error ? fieldErrors(error) : { name: message } } });
      },
    };
    router.post(`${PAGE}/${segment}`, requireAdmin, guard(form, async (ctx) => {
      const { admin, csrf } = ctx.state as PageState;
      const input = ctx.guard.body;
      const { token } = await createToken(db, admin, boundNewToken(kind, input, undefined, settings.tokens));
      secrets.set(ctx, csrf, { kind, name: input.name, token });
      ctx.status = 303;
      ctx.redirect(`${PAGE}#new-token`);
    }));
    // Without JavaScript, "Revoke" leads here: the confirmation naming the token, then the POST below.
    router.get(`${PAGE}/${segment}/:id/revoke`, requireAdmin, guard({ params: idParams(), notFound: label }, async (ctx) => {
      const { admin, csrf } = ctx.state as PageState;
      const token = await findToken(db, admin.company.id, kind, ctx.guard.params.id);
      if (!token) throw notFound(label);
      ctx.type = 'html';
      ctx.set('cache-control', 'no-store');
      ctx.body = await renderPage('confirm-revoke-token', {
        title: `Revoke ${token.name}?`, admin, csrf, token, segment, describeScope, v2Scopes: API_SCOPES,
      });
    }));
    router.post(`${PAGE}/${segment}/:id/revoke`, requireAdmin, guard({ params: idParams(), notFound: label }, async (ctx) => {
      const { admin } = ctx.state as PageState;
      const token = await findToken(db, admin.company.id, kind, ctx.guard.params.id);
      if (!token) throw notFound(label);
      await revokeToken(db, admin, kind, token.id);
      setFlash(ctx, `${kind === 'api_key' ? 'The API key' : 'The access token'} “${token.name}” (…${token.last4}) was revoked. Anything using it stops working at once.`);
      ctx.status = 303;
      ctx.redirect(`${PAGE}#${segment}`);
    }));
  };
  tokenForms('access-tokens', 'access_token', 'The access token');
  tokenForms('api-keys', 'api_key', 'The API key');

  // Activity: the audit trail (the same listing as GET /api/v1/audit-events), with filters and
  // cursor paging in the query string, names resolved for reading.
  router.get(`${PAGE}/activity`, requireAdmin, guard({ query: auditQuery, invalid: (ctx: Context) => ctx.redirect(`${PAGE}/activity`) }, async (ctx) => {
    const { admin, csrf } = ctx.state as PageState;
    const q = ctx.guard.query;
    const page = await listAudit(db, admin.company.id, { limit: 50, before: q.cursor, targetType: q.target_type, actor: q.actor });
    const names = await namesOf(db, page.data);
    const filters = new URLSearchParams();
    if (q.target_type) filters.set('target_type', q.target_type);
    if (q.actor) filters.set('actor', q.actor);
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = await renderPage('activity', {
      title: 'Activity', bodyClass: 'wide', nav: 'activity', admin, csrf, events: page.data, names, query: q,
      next: page.next_cursor ? `?${filters.toString()}${filters.size ? '&' : ''}cursor=${page.next_cursor}` : undefined,
      first: q.cursor ? `?${filters.toString()}` : undefined,
    });
  }));

  router.get('/docs/access-tokens', async (ctx) => {
    ctx.type = 'html';
    ctx.body = await renderPage('docs-access-tokens', { title: 'Access tokens' });
  });

  return router;
}
