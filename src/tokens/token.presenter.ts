// The JSON shapes of access tokens and legacy API keys in the admin API. Token values never go
// through here: only the creation response adds `token`, once.
import { z } from 'zod';
import { presentUserRef, userRefSchema } from '../companies/user.presenter.js';
import { iso, optionalTimestamp, timestamp } from '../shared/presenter.js';
import type { TokenRecord } from './tokens.js';

export const accessTokenSchema = z.strictObject({
  id: z.string().meta({ format: 'uuid' }),
  name: z.string(),
  last4: z.string(),
  scopes: z.array(z.string()),
  created_at: timestamp,
  created_by: userRefSchema,
  expires_at: optionalTimestamp,
  last_used_at: optionalTimestamp,
});
export const apiKeySchema = accessTokenSchema.extend({ deprecated: z.literal(true) });

const created = <T extends typeof accessTokenSchema | typeof apiKeySchema>(schema: T) =>
  schema.extend({ token: z.string().meta({ description: 'The token itself: shown only in this response' }) });
export const createdAccessTokenSchema = created(accessTokenSchema);
export const createdApiKeySchema = created(apiKeySchema);

export const accessTokenListSchema = z.strictObject({ data: z.array(accessTokenSchema) });
export const apiKeyListSchema = z.strictObject({ data: z.array(apiKeySchema) });

export const tokenRevocationSchema = z.strictObject({ id: z.string(), revoked_at: timestamp });

export function presentToken(t: TokenRecord) {
  return {
    id: t.id,
    name: t.name,
    last4: t.last4,
    scopes: t.scopes,
    created_at: iso(t.createdAt),
    created_by: presentUserRef(t.createdBy),
    expires_at: iso(t.expiresAt),
    last_used_at: iso(t.lastUsedAt),
    ...(t.kind === 'api_key' ? { deprecated: true as const } : {}),
  };
}
