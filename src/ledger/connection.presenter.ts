// The JSON shapes of Connected Apps in the admin API: a connection, the list, and the answer
// of a revocation. Each schema is what the guard checks every response against and what the
// OpenAPI document says.
import { z } from 'zod';
import { presentUserRef, userRefSchema } from '../companies/user.presenter.js';
import { API_SCOPES, describeScope } from '../oidc/scopes.js';
import { iso, optionalTimestamp, timestamp } from '../shared/presenter.js';
import type { Consent } from './authorizations.js';
import type { Connection } from './connections.js';
import { REVOKED_COUNT_KEYS } from './revoked-counts.js';

export const connectedAppSchema = z.strictObject({
  client_id: z.string().meta({ format: 'uuid' }),
  name: z.string(),
  logo_uri: z.string().optional(),
  scopes: z.array(z.string()),
  scope_descriptions: z.array(z.string()),
  connected_at: timestamp,
  connected_by: userRefSchema.nullable(),
  last_used_at: optionalTimestamp,
  company_access: z.strictObject({
    scopes: z.array(z.string()),
    granted_at: timestamp,
    granted_by: userRefSchema.extend({
      still_admin: z.boolean().meta({ description: 'false: granted by someone who is no longer an active admin (the grant belongs to the company and stays)' }),
    }).strict().nullable(),
  }).nullable().meta({ description: 'Company-wide access (client credentials for the company without a signed-in user), or null' }),
  users: z.number().int().nonnegative().meta({ description: 'People whose authorization of the app is live' }),
});

export const authorizationSchema = z.strictObject({
  user_guid: z.string().meta({ format: 'uuid' }),
  email: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  authorized_at: timestamp,
  first_authorized_at: timestamp,
  last_used_at: optionalTimestamp,
});

/** One app, with each person's authorization. */
export const connectedAppDetailSchema = connectedAppSchema.extend({ authorizations: z.array(authorizationSchema) }).strict();

export const connectedAppListSchema = z.strictObject({ data: z.array(connectedAppSchema) });

const count = z.number().int().nonnegative();

export const revocationSchema = z.strictObject({
  client_id: z.string(),
  revoked_at: timestamp,
  revoked: z.strictObject(Object.fromEntries(Object.values(REVOKED_COUNT_KEYS).map((k) => [k, count])))
    .meta({ description: 'Live grants, access_tokens, refresh_tokens, authorization_codes, client_credentials_tokens, device_codes and backchannel_requests revoked (spent codes, rotated refresh tokens and expired rows are deleted too but not counted)' }),
});

export function presentConnection(c: Connection): z.output<typeof connectedAppSchema> {
  return {
    client_id: c.clientId,
    name: c.clientName,
    ...(c.logoUri ? { logo_uri: c.logoUri } : {}),
    scopes: c.scopes,
    scope_descriptions: c.scopes.map(describeScope),
    connected_at: iso(c.connectedAt),
    connected_by: c.connectedBy && presentUserRef(c.connectedBy),
    last_used_at: iso(c.lastUsedAt),
    company_access: c.companyAccess && {
      scopes: c.companyAccess.scopes,
      granted_at: iso(c.companyAccess.grantedAt),
      granted_by: c.companyAccess.grantedBy && { ...presentUserRef(c.companyAccess.grantedBy), still_admin: c.companyAccess.grantedBy.stillAdmin },
    },
    users: c.users,
  };
}

export function presentAuthorization(a: Consent): z.output<typeof authorizationSchema> {
  return {
    user_guid: a.userGuid, email: a.email, name: a.name, scopes: a.scopes,
    authorized_at: iso(a.updatedAt), first_authorized_at: iso(a.grantedAt), last_used_at: iso(a.lastUsedAt),
  };
}

/** PATCH /connected-apps/{client_id}: narrow (a subset of the scopes) or remove (null) company-wide access. */
export const companyAccessPatchSchema = z.strictObject({
  company_access: z.strictObject({
    scopes: z.array(z.enum(API_SCOPES as [string, ...string[]])).max(API_SCOPES.length),
  }).nullable().meta({ description: '`{"scopes": [...]}` keeps only those (a subset of the current grant); `null` removes the access' }),
});

export const companyAccessChangeSchema = z.strictObject({
  client_id: z.string(),
  company_access: z.strictObject({ scopes: z.array(z.string()) }).nullable(),
  changed_at: timestamp,
  revoked: z.strictObject(Object.fromEntries(Object.values(REVOKED_COUNT_KEYS).map((k) => [k, count]))),
  connection_ended: z.boolean().meta({ description: 'Nothing else held the app’s access: it left Connected Apps' }),
});

export const userAuthorizationRevocationSchema = z.strictObject({
  client_id: z.string(),
  user_guid: z.string(),
  revoked_at: timestamp,
  revoked: z.strictObject(Object.fromEntries(Object.values(REVOKED_COUNT_KEYS).map((k) => [k, count]))),
  connection_ended: z.boolean(),
});
