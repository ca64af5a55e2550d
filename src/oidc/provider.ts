// oidc-provider configuration: our store, our interactions, PKCE S256 for every client, refresh
// rotation with reuse detection, client credentials bound to a company, opaque access tokens,
// introspection restricted to gateways and to a token's own client.
import { pinOrigin } from '../shared/http.js';
import Provider from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { Settings } from '../config.js';
import type { Database } from '../db/database.js';
import { KIND_PROPERTY, SCOPES_PROPERTY, createClientLookup } from '../clients/clients.js';
import { secretChecker } from '../clients/rotate-secret.js';
import { hasOwnPrefix } from '../tokens/format.js';
import type { Logger } from '../shared/logger.js';
import { createAdapterFactory } from './adapter.js';
import { createFindAccount } from './accounts.js';
import { introspectionAllowed } from './introspection.js';
import { registerClientCredentials, requestedCompany } from './client-credentials.js';
import { grantLoader } from './grants.js';
import type { KeyMaterial } from './keys.js';
import { OAUTH_SCOPES } from './scopes.js';
import { renderPage } from '../shared/views.js';

/** Clients change only through the operator CLI; each process re-reads them at most this often. */
const CLIENT_CACHE_MS = 60_000;

/**
 * Keeps built Client objects for `ttlMs`: oidc-provider otherwise re-reads, re-serialises and
 * hashes a client's metadata on every request. No revocation depends on clients.
 */
function cacheClients(provider: Provider, ttlMs: number): void {
  const Client = provider.Client as unknown as { find(id: string): Promise<unknown> };
  const find = Client.find.bind(Client);
  const cache = new Map<string, { client: unknown; until: number }>();
  Client.find = async (id: string) => {
    const hit = cache.get(id);
    if (hit && hit.until > Date.now()) return hit.client;
    const client = await find(id);
    if (client) {
      if (cache.size >= 10_000) cache.clear();
      cache.set(id, { client, until: Date.now() + ttlMs });
    }
    return client;
  };
}

export function createProvider(opts: {
  settings: Settings;
  db: Database;
  keys: KeyMaterial;
  logger: Logger;
  /** Company of a user account (for `company_guid` on access tokens). */
  companyOfAccount(accountId: string): Promise<string | undefined>;
}): Provider {
  const { settings, db, keys, logger, companyOfAccount } = opts;
  const roleBounds = settings.scopes.roles;
  const t = settings.tokens;
  const secure = settings.server.issuer.startsWith('https:');
  // Our access tokens and API keys are never oidc-provider's: answered without a lookup.
  const Adapter = createAdapterFactory(db, { isForeignToken: hasOwnPrefix });
  const lookupClient = createClientLookup(db, CLIENT_CACHE_MS);

  // The Client model reads the `clients` table; every other model the oidc_payloads table.
  function adapter(name: string) {
    if (name === 'Client') {
      return {
        find: lookupClient,
        upsert: async () => { throw new Error('clients are registered with the grantledger CLI'); },
        destroy: async () => { throw new Error('clients are registered with the grantledger CLI'); },
      } as never;
    }
    return new Adapter(name);
  }

  const configuration: Configuration = {
    adapter: adapter as never,
    findAccount: createFindAccount(db),
    jwks: keys.jwks as never,
    cookies: {
      keys: keys.cookieKeys,
      long: { signed: true, secure, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, secure, httpOnly: true, sameSite: 'lax' },
    },
    claims: {
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    // Never developer_tools:* (only access tokens carry them); what an app may ask is its own
    // registration (SCOPES_PROPERTY), what a person may grant their role's bound: ../authz/policy.ts.
    scopes: OAUTH_SCOPES,
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      requestObjectSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    extraClientMetadata: { properties: [KIND_PROPERTY, SCOPES_PROPERTY] },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Who may introspect what, and what the answer holds: introspection.ts.
        allowedPolicy: introspectionAllowed,
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = await renderPage('logout', { title: 'Sign out', form });
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = await renderPage('message', { title: 'Signed out', message: 'You are signed out.' });
        },
      },
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // A grant per browser session × app, from the person's remembered consent: grants.ts.
    loadExistingGrant: grantLoader({ db, roleBounds, grantTtl: t.grantTtl }),
    // OpenID Connect requests get a refresh token only with offline_access granted (OIDC Core
    // §11; oidc-provider keeps offline_access only with prompt=consent); plain OAuth requests
    // when the app has the refresh_token grant type.
    issueRefreshToken: async (_ctx, client, code) => {
      if (!client.grantTypeAllowed('refresh_token')) return false;
      const scopes = code.scopes as Set<string>;
      return scopes.has('openid') ? scopes.has('offline_access') : true;
    },
    // A connected app keeps its access until the company revokes it (or the grant expires):
    // its tokens do not end with the user's browser session at this server.
    expiresWithSession: async () => false,
    rotateRefreshToken: true,
    extraTokenClaims: async (ctx, token) => {
      // Checked, with the scopes, by the grant itself (client-credentials.ts).
      if (token.kind === 'ClientCredentials') return { company_guid: requestedCompany(ctx) };
      if (token.kind === 'AccessToken' && token.accountId) {
        const company = await companyOfAccount(token.accountId);
        return company ? { company_guid: company } : undefined;
      }
      return undefined;
    },
    ttl: {
      AccessToken: t.accessTokenTtl,
      AuthorizationCode: t.authorizationCodeTtl,
      ClientCredentials: t.clientCredentialsTtl,
      IdToken: t.idTokenTtl,
      Grant: t.grantTtl,
      Session: t.sessionTtl,
      Interaction: t.interactionTtl,
      // A rotated refresh token keeps the end date of the chain it continues.
      RefreshToken: (ctx, token) => {
        const rotated = ctx?.oidc?.entities?.RotatedRefreshToken;
        if (rotated && !token.isSenderConstrained()) return rotated.remainingTTL;
        return t.refreshTokenTtl;
      },
    },
    renderError: async (ctx, out, error) => {
      const status = (error as { statusCode?: number }).statusCode ?? 500;
      if (status >= 500) logger.error('authorization server error', { err: error, route: ctx.oidc?.route });
      ctx.type = 'html';
      const words = endUserWords(out.error, status, out.error_description);
      const client = ctx.oidc?.client;
      ctx.body = await renderPage('error', {
        status, title: words.title, message: words.message, code: out.error, detail: out.error_description,
        ...(client?.clientUri && /^https?:/.test(client.clientUri)
          ? { back: { href: client.clientUri, label: `Back to ${client.clientName ?? 'the app'}` } }
          : { hint: 'Close this page and go back to the app.' }),
      });
    },
  };

  const provider = new Provider(settings.server.issuer, configuration);
  // The provider is a Koa app of its own: mounted in ours it sees our requests, and the
  // dispatcher (../dispatch.ts) also hands it the token, introspection, revocation and userinfo
  // requests directly — so it gets the same proxy hops and the issuer's origin (pinOrigin).
  pinOrigin(provider, settings.server.issuer, settings.server.trustProxy);

  // Client secrets are stored as SHA-256: compare the hash of the presented secret with the
  // current one and, during a rotation's overlap, the previous one — read apart from the cached
  // Client objects, so a rotation reaches every process within seconds (rotate-secret.ts
  // secretChecker). (The provider's symmetric-key features, which need the secret itself, are
  // disabled above.)
  const secretMatches = secretChecker(db);
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientId: string }, actual: string) {
    return secretMatches(this.clientId, actual);
  };

  cacheClients(provider, CLIENT_CACHE_MS);
  registerClientCredentials(provider, db);

  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    logger.error('authorization server error', { err, route: ctx.oidc?.route });
  });
  return provider;
}

/**
 * What a person in the middle of signing in to an app reads when the authorization server
 * refuses the request: plain words; the provider's developer message goes under "Technical details".
 */
export function endUserWords(error: string, status: number, description = ''): { title: string; message: string } {
  // A lost or expired interaction or session (SessionNotFound) is the person's, not the app's.
  if (/session|interaction|expired/i.test(description) && error === 'invalid_request') {
    return { title: 'This sign-in has expired', message: 'This sign-in page has expired. Go back to the app and start again.' };
  }
  if (status >= 500) return { title: 'Something went wrong', message: 'Something went wrong on our side. Try again in a few minutes.' };
  switch (error) {
    case 'invalid_client': case 'invalid_redirect_uri': case 'redirect_uri_mismatch': case 'unauthorized_client':
    case 'invalid_client_metadata': case 'unsupported_response_type': case 'unsupported_response_mode': case 'invalid_request_uri':
    case 'invalid_request_object': case 'invalid_request':
      return { title: 'This app is not set up correctly', message: 'This app is not set up correctly; contact its developer.' };
    case 'invalid_scope':
      return { title: 'This app asked for something unknown', message: 'This app asked for a permission that does not exist here; contact its developer.' };
    case 'access_denied':
      return { title: 'Access was not given', message: 'The app did not get access. You can close this page.' };
    case 'login_required': case 'consent_required': case 'interaction_required': case 'invalid_grant':
      return { title: 'This sign-in has expired', message: 'This sign-in has expired or was already used. Go back to the app and start again.' };
    default:
      return { title: 'This did not work', message: 'The app’s request could not be completed. Go back to the app and try again; if it keeps happening, contact its developer.' };
  }
}
