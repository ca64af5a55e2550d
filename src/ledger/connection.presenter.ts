// The JSON shapes of Connected Apps in the admin API: a connection, the list, and the answer
// of a revocation. Each schema is what the guard checks every response against and what the
// OpenAPI document says.
import { z } from 'zod';
import { presentUserRef, userRefSchema } from '../companies/user.presenter.js';
import { describeScope } from '../oidc/scopes.js';
import { iso, optionalTimestamp, timestamp } from '../shared/presenter.js';
import type { Connection } from './connections.js';
import { REVOKED_COUNT_KEYS } from './revoke-connection.js';

export const connectedAppSchema = z.strictObject({
  client_id: z.string().meta({ format: 'uuid' }),
  name: z.string(),
  logo_uri: z.string().optional(),
  scopes: z.array(z.string()),
  scope_descriptions: z.array(z.string()),
  connected_at: timestamp,
  connected_by: userRefSchema.nullable(),
  last_used_at: optionalTimestamp,
});

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
  };
}
