// Registered clients: third-party apps and V2 API gateways. Registered by the platform
// operator (CLI); the client secret is stored as SHA-256, shown once at creation.
import { z } from 'zod';
import type { Database, Executor } from '../db/database.js';
import { displayName, validate } from '../shared/validation.js';
import { decrypt, encrypt, randomSecret, sha256, uuid } from '../shared/crypto.js';
import { defaultClientScopes } from '../authz/policy.js';
import { COMPANY_ACCESS, OAUTH_SCOPES, normaliseScopes, splitScopes } from '../oidc/scopes.js';

export type ClientKind = 'app' | 'gateway';
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** Custom client metadata carrying the kind (declared in extraClientMetadata). */
export const KIND_PROPERTY = 'grantledger_kind';
/**
 * Custom client metadata: the scopes an app may ask for, space-separated (declared in
 * extraClientMetadata). Not oidc-provider's `scope`, which would turn a scope beyond it into an
 * invalid_scope error: grantledger withholds such scopes instead (the consent page says why).
 */
export const SCOPES_PROPERTY = 'grantledger_scopes';

/** The scopes an app was registered for (older registrations: the default for its grant types). */
export function registeredScopes(metadata: Record<string, unknown>): string[] {
  const listed = metadata[SCOPES_PROPERTY];
  if (typeof listed === 'string') return splitScopes(listed);
  return defaultClientScopes(Array.isArray(metadata.grant_types) ? (metadata.grant_types as string[]) : []);
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** Redirect URIs: https anywhere, http only on loopback, or a private-use scheme (native apps). */
const redirectUri = z.string().max(2000, 'must be at most 2000 characters').superRefine((value, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // An unparsable value fails the scheme rule below.
  }
  const allowed = url !== undefined && (url.protocol === 'https:'
    || (url.protocol === 'http:' && LOOPBACK_HOSTS.includes(url.hostname))
    || /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol)); // reverse-DNS custom scheme
  if (!allowed) ctx.addIssue({ code: 'custom', message: 'must be https://, http:// on loopback, or a reverse-DNS custom scheme' });
  else if (url!.hash) ctx.addIssue({ code: 'custom', message: 'must not have a fragment (#…)' });
});

/**
 * A native app (RFC 8252) is one with a private-use-scheme redirect URI, or a public client (no
 * secret) with an http:// loopback one: oidc-provider then accepts custom schemes and matches
 * loopback redirects on any port (§7.3), and asks for consent at every authorization (§8.6: a
 * native app's client_id proves nothing). A confidential app with a loopback redirect URI (a web
 * app in development) stays a web app: exact matches, remembered consent.
 */
export function isNativeApp(uris: readonly unknown[], isPublic: boolean): boolean {
  return uris.some((u) => {
    if (typeof u !== 'string') return false;
    const url = URL.parse(u);
    if (url === null || url.protocol === 'https:') return false;
    return url.protocol === 'http:' ? isPublic && LOOPBACK_HOSTS.includes(url.hostname) : true;
  });
}

/** `application_type` of an app's metadata: as registered, else from its redirect URIs. */
export function applicationType(metadata: Record<string, unknown>): 'native' | 'web' {
  if (metadata.application_type === 'native' || metadata.application_type === 'web') return metadata.application_type;
  const uris = [metadata.redirect_uris, metadata.post_logout_redirect_uris].flatMap((v) => (Array.isArray(v) ? v : []));
  return isNativeApp(uris, metadata.token_endpoint_auth_method === 'none') ? 'native' : 'web';
}

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).max(2000, 'must be at most 2000 characters');

export const newAppSchema = z.object({
  name: displayName(),
  redirectUris: z.array(redirectUri).max(20, 'at most 20 redirect URIs').default([]),
  /** Where RP-initiated logout (`/session/end`) may send people back to. */
  postLogoutRedirectUris: z.array(redirectUri).max(20, 'at most 20 post-logout redirect URIs').default([]),
  public: z.boolean().default(false),
  grantTypes: z.array(z.enum(GRANT_TYPES)).min(1).default(['authorization_code', 'refresh_token']),
  webhookUrl: httpUrl.optional(),
  // https only: the consent and Developer Tools pages load images from https: alone (their CSP),
  // so an http logo — even on loopback — would never show.
  logoUri: z.url({ protocol: /^https$/, error: 'must be an https:// URL (the pages that show the logo load only https images)' })
    .max(2000, 'must be at most 2000 characters').optional(),
  homepage: httpUrl.optional(),
  /** Scopes the app may ask for; default: OIDC + every V2 scope (+ company_access with client_credentials). */
  scopes: z.array(z.enum(OAUTH_SCOPES as [string, ...string[]])).max(OAUTH_SCOPES.length).optional(),
}).superRefine((v, ctx) => {
  if (v.scopes?.includes(COMPANY_ACCESS) && !v.grantTypes.includes('client_credentials')) {
    ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'company_access needs the client_credentials grant type' });
  }
  if (v.grantTypes.includes('authorization_code') && v.redirectUris.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['redirectUris'], message: 'an app using authorization_code needs at least one redirect URI' });
  }
  if (v.public && v.grantTypes.includes('client_credentials')) {
    ctx.addIssue({ code: 'custom', path: ['grantTypes'], message: 'a public client cannot use client_credentials' });
  }
  // What oidc-provider refuses in a native app: a claimed https:// redirect on loopback.
  if (isNativeApp([...v.redirectUris, ...v.postLogoutRedirectUris], v.public)) {
    for (const [field, uris] of [['redirectUris', v.redirectUris], ['postLogoutRedirectUris', v.postLogoutRedirectUris]] as const) {
      uris.forEach((u, i) => {
        const url = URL.parse(u);
        if (url?.protocol === 'https:' && LOOPBACK_HOSTS.includes(url.hostname)) {
          ctx.addIssue({
            code: 'custom', path: [field, i], input: u,
            message: 'must not be https:// on loopback in a native app (one with a custom-scheme or http:// loopback redirect URI): use http://127.0.0.1:<port>/…',
          });
        }
      });
    }
  }
  if (v.grantTypes.includes('refresh_token') && !v.grantTypes.includes('authorization_code')) {
    ctx.addIssue({ code: 'custom', path: ['grantTypes'], message: 'refresh_token needs authorization_code' });
  }
});
export type NewApp = z.input<typeof newAppSchema>;

export interface CreatedClient {
  client_id: string;
  client_secret?: string;
  webhook_secret?: string;
}

export const CLIENT_SECRET_PREFIX = 'glcs_';
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

export async function createApp(db: Database, kek: Buffer, input: NewApp): Promise<CreatedClient> {
  const app = validate(newAppSchema, input);
  const clientId = uuid();
  const clientSecret = app.public ? undefined : CLIENT_SECRET_PREFIX + randomSecret(32);
  const webhookSecret = app.webhookUrl ? WEBHOOK_SECRET_PREFIX + randomSecret(32) : undefined;
  const metadata = appMetadata(app);
  await insertClient(db, {
    clientId, kind: 'app', name: app.name, metadata,
    secretHash: clientSecret ? sha256(clientSecret) : null,
    webhookUrl: app.webhookUrl ?? null,
    webhookSecret: webhookSecret ? encrypt(kek, webhookSecret) : null,
  });
  return { client_id: clientId, ...(clientSecret && { client_secret: clientSecret }), ...(webhookSecret && { webhook_secret: webhookSecret }) };
}

/** oidc-provider client metadata of an app (no secret: the hash is added at lookup). */
export function appMetadata(app: z.output<typeof newAppSchema>): Record<string, unknown> {
  return {
    client_name: app.name,
    redirect_uris: app.redirectUris,
    application_type: isNativeApp([...app.redirectUris, ...app.postLogoutRedirectUris], app.public) ? 'native' : 'web',
    ...(app.postLogoutRedirectUris.length ? { post_logout_redirect_uris: app.postLogoutRedirectUris } : {}),
    grant_types: app.grantTypes,
    response_types: app.grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: app.public ? 'none' : 'client_secret_basic',
    [SCOPES_PROPERTY]: normaliseScopes(app.scopes ?? defaultClientScopes(app.grantTypes)).join(' '),
    ...(app.logoUri ? { logo_uri: app.logoUri } : {}),
    ...(app.homepage ? { client_uri: app.homepage } : {}),
  };
}

/** A gateway (resource server): a confidential client whose only use is introspection. */
export async function createGateway(db: Database, name: string): Promise<Required<Pick<CreatedClient, 'client_id' | 'client_secret'>>> {
  const trimmed = validate(z.object({ name: displayName() }), { name }).name;
  const clientId = uuid();
  const clientSecret = CLIENT_SECRET_PREFIX + randomSecret(32);
  await insertClient(db, {
    clientId, kind: 'gateway', name: trimmed,
    metadata: { client_name: trimmed, redirect_uris: [], grant_types: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' },
    secretHash: sha256(clientSecret), webhookUrl: null, webhookSecret: null,
  });
  return { client_id: clientId, client_secret: clientSecret };
}

async function insertClient(db: Database, c: {
  clientId: string; kind: ClientKind; name: string; metadata: Record<string, unknown>;
  secretHash: string | null; webhookUrl: string | null; webhookSecret: string | null;
}): Promise<void> {
  await db.run(
    `INSERT INTO clients (client_id, kind, name, metadata, secret_hash, webhook_url, webhook_secret, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [c.clientId, c.kind, c.name, JSON.stringify(c.metadata), c.secretHash, c.webhookUrl, c.webhookSecret, Date.now()],
  );
}

export interface ClientRecord {
  clientId: string;
  kind: ClientKind;
  name: string;
  metadata: Record<string, unknown>;
  secretHash: string | null;
  webhookUrl: string | null;
  webhookSecretSealed: string | null;
  /** During a webhook secret rotation's overlap (rotate-secret.ts): the previous one, until when. */
  previousWebhookSecretSealed: string | null;
  previousWebhookSecretExpiresAt: number | null;
}

interface ClientRow {
  client_id: string;
  kind: ClientKind;
  name: string;
  metadata: string;
  secret_hash: string | null;
  webhook_url: string | null;
  webhook_secret: string | null;
  previous_webhook_secret: string | null;
  previous_webhook_secret_expires_at: number | null;
}

export async function findClient(db: Executor, clientId: string): Promise<ClientRecord | undefined> {
  const row = await db.get<ClientRow>(
    `SELECT client_id, kind, name, metadata, secret_hash, webhook_url, webhook_secret, previous_webhook_secret, previous_webhook_secret_expires_at
     FROM clients WHERE client_id = ?`,
    [clientId],
  );
  if (!row) return undefined;
  return {
    clientId: row.client_id, kind: row.kind, name: row.name, metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    secretHash: row.secret_hash, webhookUrl: row.webhook_url, webhookSecretSealed: row.webhook_secret,
    previousWebhookSecretSealed: row.previous_webhook_secret,
    previousWebhookSecretExpiresAt: row.previous_webhook_secret_expires_at === null ? null : Number(row.previous_webhook_secret_expires_at),
  };
}

export function openWebhookSecret(kek: Buffer, client: ClientRecord): string | undefined {
  return client.webhookSecretSealed ? decrypt(kek, client.webhookSecretSealed) : undefined;
}

/**
 * oidc-provider's view of a client: its metadata with the secret's hash in `client_secret`
 * (compared by hashing the presented secret, see provider.ts). Cached briefly per process:
 * clients change only through the operator (`client update` is seen after `ttlMs`, plus the
 * provider's own Client cache), and no revocation depends on them.
 */
export function createClientLookup(db: Database, ttlMs = 60_000) {
  const cache = new Map<string, { value: Record<string, unknown> | undefined; until: number }>();
  return async (clientId: string): Promise<Record<string, unknown> | undefined> => {
    const hit = cache.get(clientId);
    if (hit && hit.until > Date.now()) return hit.value;
    const record = /^[0-9a-f-]{36}$/i.test(clientId) ? await findClient(db, clientId) : undefined;
    const value = record && {
      ...record.metadata,
      // Apps registered before application_type was stored: derived from their redirect URIs.
      application_type: applicationType(record.metadata),
      client_id: record.clientId,
      ...(record.secretHash ? { client_secret: record.secretHash } : {}),
      [KIND_PROPERTY]: record.kind,
      ...(record.kind === 'app' ? { [SCOPES_PROPERTY]: registeredScopes(record.metadata).join(' ') } : {}),
    };
    if (cache.size > 10_000) cache.clear();
    cache.set(clientId, { value, until: Date.now() + ttlMs });
    return value;
  };
}
