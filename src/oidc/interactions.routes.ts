// Login and consent pages of the authorization flow (`/interaction/:uid`). Forms: `#login`
// (email, password), `#consent` and `#deny`, each with a CSRF token.
import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import { findUserByGuid } from '../companies/users.js';
import { passwordSignIn } from '../companies/sign-in.js';
import type { Database } from '../db/database.js';
import type { RoleBounds, WithheldReason } from '../authz/policy.js';
import { grantAuthorization } from '../ledger/authorizations.js';
import { AppError, badRequest } from '../shared/errors.js';
import { checkFormCsrf, issueFormCsrf, readForm } from '../shared/http.js';
import type { Logger } from '../shared/logger.js';
import type { LoginThrottle } from '../shared/rate-limit.js';
import { renderPage } from '../shared/views.js';
import { decisionFor, rejectWithheld } from './grants.js';
import { describeScope, isWriteScope } from './scopes.js';

export interface InteractionDeps {
  provider: Provider;
  roleBounds: RoleBounds;
  db: Database;
  throttle: LoginThrottle;
  logger: Logger;
  secureCookies: boolean;
  maxBodyBytes: number;
  /** LOGIN_MODE, and the upstream's name for its button (upstream / both). */
  loginMode: 'local' | 'upstream' | 'both';
  upstreamName?: string;
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

const sessionExpired = () =>
  new AppError(400, 'interaction_expired', 'This sign-in page has expired. Go back to the app and start again.');

/** The interaction of `ctx.params.uid` (its cookie must match), or a page saying it expired. */
export async function loadDetails(ctx: Context, provider: Provider): Promise<Details> {
  let details: Details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    throw sessionExpired();
  }
  if (details.uid !== ctx.params.uid) throw sessionExpired();
  return details;
}

async function finish(ctx: Context, provider: Provider, result: InteractionResults, merge: boolean): Promise<void> {
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

export function interactionRoutes(deps: InteractionDeps): Router {
  const { provider, db, logger } = deps;
  const router = new Router({ prefix: '/interaction/:uid' });

  const renderLogin = async (ctx: Context, details: Details, extra: { email?: string; error?: string } = {}) => {
    const client = await provider.Client.find(String(details.params.client_id));
    ctx.type = 'html';
    ctx.body = await renderPage('login', {
      title: 'Sign in', uid: details.uid, csrf: issueFormCsrf(ctx, deps.secureCookies),
      clientName: client?.clientName ?? 'An application', email: extra.email ?? '', error: extra.error,
      upstream: deps.loginMode === 'both' ? { name: deps.upstreamName, href: `/interaction/${details.uid}/upstream` } : undefined,
    });
  };

  router.get('/', async (ctx) => {
    const details = await loadDetails(ctx, provider);
    ctx.set('cache-control', 'no-store');
    if (details.prompt.name === 'login') {
      // LOGIN_MODE=upstream: straight to the SaaS's sign-in.
      if (deps.loginMode === 'upstream') return ctx.redirect(`/interaction/${details.uid}/upstream`);
      return renderLogin(ctx, details);
    }
    if (details.prompt.name !== 'consent') throw badRequest(`Unsupported step: ${details.prompt.name}`);
    const client = await provider.Client.find(String(details.params.client_id));
    if (!client) throw sessionExpired();
    const user = details.session?.accountId ? await findUserByGuid(db, details.session.accountId) : undefined;
    if (!user || !user.active) throw sessionExpired();
    const decision = decisionFor(deps, user, client, details.params.scope as string | undefined);
    const clientName = client.clientName ?? client.clientId;
    const words = withheldWords({ clientName, companyName: user.company.name, role: user.role });
    ctx.type = 'html';
    ctx.body = await renderPage('consent', {
      title: `Allow ${clientName}?`, uid: details.uid, csrf: issueFormCsrf(ctx, deps.secureCookies),
      clientName, clientUri: client.clientUri, logoUri: client.logoUri,
      userEmail: user.email, companyName: user.company.name,
      scopes: decision.granted.map((scope) => ({ scope, description: describeScope(scope), write: isWriteScope(scope) })),
      companyAccess: decision.companyAccess && decision.companyAccess.map((scope) => ({ scope, description: describeScope(scope), write: isWriteScope(scope) })),
      withheld: decision.withheld.map((w) => ({ scope: w.scope, description: describeScope(w.scope), reason: words[w.reason] })),
    });
  });

  router.post('/login', async (ctx) => {
    if (deps.loginMode === 'upstream') throw passwordsOff(deps.upstreamName);
    const form = await readForm(ctx, deps.maxBodyBytes);
    checkFormCsrf(ctx, form._csrf);
    const details = await loadDetails(ctx, provider);
    if (details.prompt.name !== 'login') throw badRequest('This page does not expect a sign-in.');
    const outcome = await passwordSignIn(deps, { email: form.email, password: form.password, ip: ctx.ip, flow: 'authorization' });
    if (!outcome.ok) {
      ctx.status = outcome.status;
      return renderLogin(ctx, details, { email: outcome.email, error: outcome.message });
    }
    // The same e-mail and password in several companies: the oldest account signs in.
    const user = outcome.users[0]!;
    if (user.mustChangePassword) {
      // The generated first-start password: chosen anew in Developer Tools before anything else.
      ctx.status = 403;
      return renderLogin(ctx, details, {
        email: outcome.email,
        error: 'Choose a new password first: sign in to Developer Tools (/login), which asks for one, then come back to this app.',
      });
    }
    await finish(ctx, provider, { login: { accountId: user.guid } }, false);
  });

  router.post('/confirm', async (ctx) => {
    const form = await readForm(ctx, deps.maxBodyBytes);
    checkFormCsrf(ctx, form._csrf);
    const details = await loadDetails(ctx, provider);
    if (details.prompt.name !== 'consent') throw badRequest('This page does not expect a consent.');
    const accountId = details.session?.accountId;
    const clientId = String(details.params.client_id);
    const client = await provider.Client.find(clientId);
    const user = accountId ? await findUserByGuid(db, accountId) : undefined;
    if (!client || !user || !user.active) throw sessionExpired();

    // Decided again here, never taken from the page: what this person may grant this app now.
    const decision = decisionFor(deps, user, client, details.params.scope as string | undefined);
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: user.guid, clientId });
    if (!grant) throw sessionExpired();
    if (decision.granted.length) grant.addOIDCScope(decision.granted.join(' '));
    rejectWithheld(grant, decision, true);
    const promptDetails = details.prompt.details as { missingOIDCClaims?: string[] };
    if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
    const grantId = await grant.save();

    await grantAuthorization(db, { user, clientId, granted: decision.granted, companyAccess: decision.companyAccess });
    logger.info('consent given', { client_id: clientId, company_guid: user.company.guid, company_access: decision.companyAccess !== null });
    await finish(ctx, provider, { consent: { grantId } }, true);
  });

  // "Not you? Sign in as someone else": the same authorization request again with prompt=login.
  // When another person signs in, the provider first ends the old session (its auto-submitting
  // form_post, allowed by the script hash it adds to our CSP), then asks that person's consent.
  router.post('/switch', async (ctx) => {
    const form = await readForm(ctx, deps.maxBodyBytes);
    checkFormCsrf(ctx, form._csrf);
    const details = await loadDetails(ctx, provider);
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(details.params)) if (typeof v === 'string' && k !== 'prompt') params.set(k, v);
    params.set('prompt', 'login');
    ctx.status = 303;
    ctx.redirect(`/auth?${params.toString()}`);
  });

  router.post('/abort', async (ctx) => {
    const form = await readForm(ctx, deps.maxBodyBytes);
    checkFormCsrf(ctx, form._csrf);
    await loadDetails(ctx, provider);
    await finish(ctx, provider, { error: 'access_denied', error_description: 'The user did not allow access.' }, false);
  });

  return router;
}

/** LOGIN_MODE=upstream: no password is accepted here. */
export const passwordsOff = (upstreamName?: string) =>
  new AppError(403, 'password_sign_in_off', `Sign in with ${upstreamName ?? 'your company account'}: passwords are not used here.`);

/** "Not included" reasons, in plain words. */
function withheldWords(n: { clientName: string; companyName: string; role: string }): Record<WithheldReason, string> {
  return {
    developer_tools: 'Only access tokens created in Developer Tools can manage Developer Tools; apps never can.',
    not_registered: `${n.clientName} is not registered for this permission.`,
    role: `Your role at ${n.companyName} (${n.role}) cannot give this permission. An admin can.`,
    admin_only: `Only an admin of ${n.companyName} can give company-wide access.`,
    needs_api_scopes: 'Company-wide access needs at least one permission of the API in the same request.',
    unknown: 'This service has no such permission.',
  };
}
