// oidc-provider configuration: our store, our interactions, PKCE S256 for every client, refresh
// rotation with reuse detection, client credentials bound to a company, opaque access tokens,
// introspection restricted to gateways and to a token's own client.
import Provider, { errors } from 'oidc-provider';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { Settings } from '../config.js';
import type { Database } from '../db/database.js';
import { KIND_PROPERTY, createClientLookup } from '../clients/clients.js';
import { isConnected } from '../ledger/connections.js';
import { hasOwnPrefix } from '../tokens/format.js';
import { constantEquals, sha256 } from '../shared/crypto.js';
import type { Logger } from '../shared/logger.js';
import { createAdapterFactory } from './adapter.js';
import { createFindAccount } from './accounts.js';
import { introspectionAllowed } from './introspection.js';
import { latestGrantId } from './payload-store.js';
import type { KeyMaterial } from './keys.js';
import { SCOPE_NAMES } from './scopes.js';
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

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createProvider(opts: {
  settings: Settings;
  db: Database;
  keys: KeyMaterial;
  logger: Logger;
  /** Company of a user account (for `company_guid` on access tokens). */
  companyOfAccount(accountId: string): Promise<string | undefined>;
}): Provider {
  const { settings, db, keys, logger, companyOfAccount } = opts;
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
    scopes: SCOPE_NAMES,
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      requestObjectSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    extraClientMetadata: { properties: [KIND_PROPERTY] },
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
    // One grant per user × app: consent is asked once and remembered until revoked.
    loadExistingGrant: async (ctx) => {
      const { client, session, result } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId = result?.consent?.grantId ?? (await latestGrantId(db, session.accountId, client.clientId));
      if (!grantId) return undefined;
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (!grant || grant.accountId !== session.accountId || grant.clientId !== client.clientId) return undefined;
      // Sliding lifetime: a grant in use past half its life is renewed.
      if (grant.exp && grant.exp - Math.floor(Date.now() / 1000) < t.grantTtl / 2) await grant.save();
      return grant;
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // A connected app keeps its access until the company revokes it (or the grant expires):
    // its tokens do not end with the user's browser session at this server.
    expiresWithSession: async () => false,
    rotateRefreshToken: true,
    extraTokenClaims: async (ctx, token) => {
      if (token.kind === 'ClientCredentials') {
        const company = (ctx.oidc.body as Record<string, unknown> | undefined)?.company;
        if (typeof company !== 'string' || !GUID.test(company)) {
          throw new errors.InvalidRequest('the company parameter (the GUID of the company the app acts for) is required');
        }
        if (!(await isConnected(db, company.toLowerCase(), token.clientId!))) {
          throw new errors.UnauthorizedClient('the app is not connected to this company: an admin of the company must authorize it first');
        }
        return { company_guid: company.toLowerCase() };
      }
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
      ctx.body = await renderPage('error', {
        title: 'Something went wrong',
        message: out.error_description ?? 'The request could not be completed.',
        code: out.error,
      });
    },
  };

  const provider = new Provider(settings.server.issuer, configuration);
  provider.proxy = settings.server.trustProxy;

  // Client secrets are stored as SHA-256: compare the hash of the presented secret.
  // (The provider's symmetric-key features, which need the secret itself, are disabled above.)
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, actual: string) {
    return typeof actual === 'string' && typeof this.clientSecret === 'string'
      && constantEquals(this.clientSecret, sha256(actual));
  };

  cacheClients(provider, CLIENT_CACHE_MS);

  provider.on('server_error', (ctx: KoaContextWithOIDC, err: Error) => {
    logger.error('authorization server error', { err, route: ctx.oidc?.route });
  });
  return provider;
}
