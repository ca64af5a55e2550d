// The JSON shapes of the admin API. Every response goes through here; token values never do
// (only the creation response adds `token`).
import type { Consent } from '../ledger/authorizations.js';
import type { Connection } from '../ledger/connections.js';
import { describeScope } from '../oidc/scopes.js';
import type { TokenRecord } from '../tokens/tokens.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function presentConnection(c: Connection) {
  return {
    client_id: c.clientId,
    name: c.clientName,
    ...(c.logoUri ? { logo_uri: c.logoUri } : {}),
    scopes: c.scopes,
    scope_descriptions: c.scopes.map(describeScope),
    connected_at: iso(c.connectedAt),
    connected_by: c.connectedBy && { id: c.connectedBy.guid, name: c.connectedBy.name, email: c.connectedBy.email },
    last_used_at: iso(c.lastUsedAt),
    company_access: c.companyAccess && {
      scopes: c.companyAccess.scopes,
      granted_at: iso(c.companyAccess.grantedAt),
      granted_by: c.companyAccess.grantedBy && {
        id: c.companyAccess.grantedBy.guid, name: c.companyAccess.grantedBy.name, email: c.companyAccess.grantedBy.email,
        // The company grant belongs to the company; this says whether its giver still could give it.
        still_admin: c.companyAccess.grantedBy.stillAdmin,
      },
    },
    users: c.users,
  };
}

export function presentAuthorization(a: Consent) {
  return {
    user_guid: a.userGuid,
    email: a.email,
    name: a.name,
    scopes: a.scopes,
    authorized_at: iso(a.updatedAt),
    first_authorized_at: iso(a.grantedAt),
    last_used_at: iso(a.lastUsedAt),
  };
}

export function presentToken(t: TokenRecord) {
  return {
    id: t.id,
    name: t.name,
    last4: t.last4,
    scopes: t.scopes,
    created_at: iso(t.createdAt),
    created_by: { id: t.createdBy.guid, name: t.createdBy.name, email: t.createdBy.email },
    expires_at: iso(t.expiresAt),
    last_used_at: iso(t.lastUsedAt),
    ...(t.kind === 'api_key' ? { deprecated: true } : {}),
  };
}
