// Registered clients: third-party apps and V2 API gateways. Registered by the platform
// operator (CLI); the client secret is stored as SHA-256, shown once at creation.
import { z } from 'zod';
import type { Database, Executor } from '../db/database.js';
import { badRequest } from '../shared/errors.js';
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

/** Redirect URIs: https anywhere, http only on loopback, or a private-use scheme (native apps). */
const redirectUri = z.string().max(2000).refine((value) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.hash) return false;
  if (url.protocol === 'https:') return true;
  if (url.protocol === 'http:') return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  return /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol); // reverse-DNS custom scheme
}, 'must be an https URL, http on localhost, or a reverse-DNS custom scheme, without a fragment');

export const newAppSchema = z.object({
  name: z.string().trim().min(1).max(200),
  redirectUris: z.array(redirectUri).max(20).default([]),
  public: z.boolean().default(false),
  grantTypes: z.array(z.enum(GRANT_TYPES)).min(1).default(['authorization_code', 'refresh_token']),
  webhookUrl: z.url({ protocol: /^https?$/ }).max(2000).optional(),
  logoUri: z.url({ protocol: /^https$/ }).max(2000).optional(),
  homepage: z.url({ protocol: /^https?$/ }).max(2000).optional(),
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
  const parsed = newAppSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(`${issue.path.join('.') || 'client'}: ${issue.message}`);
  }
  const app = parsed.data;
  const clientId = uuid();
  const clientSecret = app.public ? undefined : CLIENT_SECRET_PREFIX + randomSecret(32);
  const webhookSecret = app.webhookUrl ? WEBHOOK_SECRET_PREFIX + randomSecret(32) : undefined;
  const usesCode = app.grantTypes.includes('authorization_code');
  const metadata = {
    client_name: app.name,
    redirect_uris: app.redirectUris,
    grant_types: app.grantTypes,
    response_types: usesCode ? ['code'] : [],
    token_endpoint_auth_method: app.public ? 'none' : 'client_secret_basic',
    [SCOPES_PROPERTY]: normaliseScopes(app.scopes ?? defaultClientScopes(app.grantTypes)).join(' '),
    ...(app.logoUri ? { logo_uri: app.logoUri } : {}),
    ...(app.homepage ? { client_uri: app.homepage } : {}),
  };
  await insertClient(db, {
    clientId, kind: 'app', name: app.name, metadata,
    secretHash: clientSecret ? sha256(clientSecret) : null,
    webhookUrl: app.webhookUrl ?? null,
    webhookSecret: webhookSecret ? encrypt(kek, webhookSecret) : null,
  });
  return { client_id: clientId, ...(clientSecret && { client_secret: clientSecret }), ...(webhookSecret && { webhook_secret: webhookSecret }) };
}

/** A gateway (resource server): a confidential client whose only use is introspection. */
export async function createGateway(db: Database, name: string): Promise<Required<Pick<CreatedClient, 'client_id' | 'client_secret'>>> {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 200) throw badRequest('name: must be 1 to 200 characters');
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
}

interface ClientRow {
  client_id: string;
  kind: ClientKind;
  name: string;
  metadata: string;
  secret_hash: string | null;
  webhook_url: string | null;
  webhook_secret: string | null;
}

export async function findClient(db: Executor, clientId: string): Promise<ClientRecord | undefined> {
  const row = await db.get<ClientRow>(
    'SELECT client_id, kind, name, metadata, secret_hash, webhook_url, webhook_secret FROM clients WHERE client_id = ?',
    [clientId],
  );
  if (!row) return undefined;
  return {
    clientId: row.client_id, kind: row.kind, name: row.name, metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    secretHash: row.secret_hash, webhookUrl: row.webhook_url, webhookSecretSealed: row.webhook_secret,
  };
}

export function openWebhookSecret(kek: Buffer, client: ClientRecord): string | undefined {
  return client.webhookSecretSealed ? decrypt(kek, client.webhookSecretSealed) : undefined;
}

/**
 * oidc-provider's view of a client: its metadata with the secret's hash in `client_secret`
 * (compared by hashing the presented secret, see provider.ts). Cached briefly per process:
 * clients change only through the operator CLI, and no revocation depends on them.
 */
export function createClientLookup(db: Database, ttlMs = 60_000) {
  const cache = new Map<string, { value: Record<string, unknown> | undefined; until: number }>();
  return async (clientId: string): Promise<Record<string, unknown> | undefined> => {
    const hit = cache.get(clientId);
    if (hit && hit.until > Date.now()) return hit.value;
    const record = /^[0-9a-f-]{36}$/i.test(clientId) ? await findClient(db, clientId) : undefined;
    const value = record && {
      ...record.metadata,
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
