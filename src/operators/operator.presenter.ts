// The JSON shapes of the operator API (/operator/v1): companies, users, apps, gateways, operator
// keys, and the request bodies it takes (snake_case, as the rest of our APIs). No password hash,
// client secret hash or key hash ever goes through here; secrets appear only in the answer that
// creates or rotates them.
import { z } from 'zod';
import type { AppDetails, GatewaySummary } from '../clients/client-queries.js';
import { ROLES } from '../companies/users.js';
import { iso, optionalTimestamp, timestamp } from '../shared/presenter.js';
import type { OperatorCompany, OperatorUser } from './provisioning.js';

const guid = z.string().meta({ format: 'uuid' });

export const companySchema = z.strictObject({
  guid, name: z.string(), external_id: z.string().nullable(), created_at: timestamp, users: z.number().int(),
});
export const companyListSchema = z.strictObject({ data: z.array(companySchema) });
export const presentCompany = (c: OperatorCompany): z.output<typeof companySchema> => ({
  guid: c.guid, name: c.name, external_id: c.externalId, created_at: iso(c.createdAt), users: c.users,
});

export const userSchema = z.strictObject({
  id: guid, company: guid, email: z.string(), name: z.string(), role: z.enum(ROLES), active: z.boolean(),
  external_id: z.string().nullable(), created_at: timestamp,
});
export const userListSchema = z.strictObject({ data: z.array(userSchema) });
export const presentUser = (u: OperatorUser): z.output<typeof userSchema> => ({
  id: u.guid, company: u.companyGuid, email: u.email, name: u.name, role: u.role, active: u.active, external_id: u.externalId, created_at: iso(u.createdAt),
});

export const appSchema = z.strictObject({
  client_id: guid, name: z.string(), public: z.boolean(), grant_types: z.array(z.string()), redirect_uris: z.array(z.string()),
  scopes: z.array(z.string()), webhook_url: z.string().nullable(), logo_uri: z.string().nullable(), homepage: z.string().nullable(),
  created_at: timestamp,
});
export const appListSchema = z.strictObject({ data: z.array(appSchema) });
export const presentApp = (a: AppDetails): z.output<typeof appSchema> => ({
  client_id: a.clientId, name: a.name, public: a.public, grant_types: a.grantTypes, redirect_uris: a.redirectUris, scopes: a.scopes,
  webhook_url: a.webhookUrl, logo_uri: a.logoUri, homepage: a.homepage, created_at: iso(a.createdAt),
});
export const createdAppSchema = appSchema.extend({
  client_secret: z.string().optional().meta({ description: 'Shown only in this answer (confidential apps)' }),
  webhook_secret: z.string().optional().meta({ description: 'Shown only in this answer (apps with a webhook URL)' }),
});

export const gatewaySchema = z.strictObject({ client_id: guid, name: z.string(), created_at: timestamp });
export const gatewayListSchema = z.strictObject({ data: z.array(gatewaySchema) });
export const presentGateway = (g: GatewaySummary): z.output<typeof gatewaySchema> => ({ client_id: g.clientId, name: g.name, created_at: iso(g.createdAt) });
export const createdGatewaySchema = gatewaySchema.extend({ client_secret: z.string().meta({ description: 'Shown only in this answer' }) });

export const rotatedSecretSchema = z.strictObject({
  client_id: guid,
  client_secret: z.string().meta({ description: 'The new secret, shown only in this answer' }),
  previous_secret_expires_at: optionalTimestamp.meta({ description: 'Until when the previous secret keeps working; null: it stopped at once' }),
});
export const rotatedWebhookSecretSchema = z.strictObject({
  client_id: guid,
  webhook_secret: z.string().meta({ description: 'The new signing secret, shown only in this answer' }),
  previous_secret_expires_at: optionalTimestamp.meta({ description: 'Until when deliveries also carry the previous secret’s signature' }),
});

// ---- request bodies -------------------------------------------------------------------------
// Shapes and sizes here; the domain's rules (what a redirect URI may be, which scopes exist) in
// the domain, so the API and the CLI refuse the same things.
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const keepOld = z.number().int().meta({ description: 'Seconds the previous secret keeps working (default 86400, 0 = it stops at once, at most 30 days)' });

export const newCompanyBody = z.strictObject({
  name: text(200), external_id: text(200).optional().meta({ description: 'Your own id of the company: a repeat answers the same company' }),
});
export const newUserBody = z.strictObject({
  company: guid.meta({ description: 'The company’s GUID' }), email: text(320), name: text(200).optional(), role: z.enum(ROLES),
  password: text(1000).optional().meta({ description: 'None: the person cannot sign in with a password until one is set' }),
  external_id: text(200).optional().meta({ description: 'Your own id of the person, unique in the company: a repeat answers the same user' }),
});
export const userPatchBody = z.strictObject({ role: z.enum(ROLES).optional(), active: z.boolean().optional() })
  .refine((b) => b.role !== undefined || b.active !== undefined, 'give role or active');
export const newAppBody = z.strictObject({
  name: text(200), redirect_uris: z.array(text(2000)).max(20).optional(), public: z.boolean().optional(),
  grant_types: z.array(text(40)).max(3).optional(), webhook_url: text(2000).optional(), logo_uri: text(2000).optional(),
  homepage: text(2000).optional(), scopes: z.array(text(100)).max(50).optional(),
});
export const appPatchBody = z.strictObject({
  name: text(200).optional(), redirect_uris: z.array(text(2000)).max(20).optional(), webhook_url: text(2000).optional(),
  logo_uri: text(2000).optional(), homepage: text(2000).optional(), scopes: z.array(text(100)).max(50).optional(),
}).refine((b) => Object.keys(b).length > 0, 'nothing to change');
export const newGatewayBody = z.strictObject({ name: text(200) });
export const gatewayPatchBody = z.strictObject({ name: text(200) });
export const rotateBody = z.strictObject({ keep_old_seconds: keepOld.optional() });
