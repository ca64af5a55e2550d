// Connections — the rows of Connected Apps: one live row per company × app, created when a
// user of the company first authorizes the app, kept (revoked) for the audit trail. A
// connection holds at most one company grant (company-wide access: scopes, who granted it,
// when) and lives while the company grant or at least one person's authorization (consent)
// remains. Queries, and the small writes the commands share; the commands live in
// authorizations.ts, company-access.ts and revoke-connection.ts.
import type { Executor } from '../db/database.js';
import { normaliseScopes, splitScopes } from '../oidc/scopes.js';

export interface PersonRef {
  guid: string;
  name: string;
  email: string;
}

export interface CompanyAccess {
  scopes: string[];
  grantedAt: number;
  /** Null when the granting user no longer exists. */
  grantedBy: (PersonRef & { stillAdmin: boolean }) | null;
}

export interface Connection {
  id: number;
  clientId: string;
  clientName: string;
  logoUri?: string;
  /** Everything the app holds for the company: the people's authorizations and the company grant. */
  scopes: string[];
  connectedAt: number;
  connectedBy: PersonRef | null;
  lastUsedAt: number | null;
  companyAccess: CompanyAccess | null;
  /** People whose authorization (consent) is live. */
  users: number;
}

interface ConnectionRow {
  id: number;
  client_id: string;
  client_name: string;
  metadata: string;
  scopes: string;
  connected_at: number;
  last_used_at: number | null;
  user_guid: string | null;
  user_name: string | null;
  user_email: string | null;
  ca_scopes: string | null;
  ca_granted_at: number | null;
  ca_guid: string | null;
  ca_name: string | null;
  ca_email: string | null;
  ca_role: string | null;
  ca_active: number | null;
  users: number | string;
}

const SELECT = `SELECT c.id, c.client_id, cl.name AS client_name, cl.metadata, c.scopes, c.connected_at, c.last_used_at,
  u.guid AS user_guid, u.name AS user_name, u.email AS user_email,
  c.company_access_scopes AS ca_scopes, c.company_access_granted_at AS ca_granted_at,
  g.guid AS ca_guid, g.name AS ca_name, g.email AS ca_email, g.role AS ca_role, g.active AS ca_active,
  (SELECT COUNT(*) FROM consents s WHERE s.company_id = c.company_id AND s.client_id = c.client_id) AS users
  FROM connections c
  JOIN clients cl ON cl.client_id = c.client_id
  LEFT JOIN users u ON u.id = c.connected_by
  LEFT JOIN users g ON g.id = c.company_access_granted_by`;

function toConnection(row: ConnectionRow): Connection {
  const logo = (JSON.parse(row.metadata) as { logo_uri?: string }).logo_uri;
  return {
    id: row.id,
    clientId: row.client_id,
    clientName: row.client_name,
    ...(logo ? { logoUri: logo } : {}),
    scopes: splitScopes(row.scopes),
    connectedAt: row.connected_at,
    connectedBy: row.user_guid ? { guid: row.user_guid, name: row.user_name!, email: row.user_email! } : null,
    lastUsedAt: row.last_used_at,
    companyAccess: row.ca_scopes === null ? null : {
      scopes: splitScopes(row.ca_scopes),
      grantedAt: row.ca_granted_at!,
      grantedBy: row.ca_guid
        ? { guid: row.ca_guid, name: row.ca_name!, email: row.ca_email!, stillAdmin: row.ca_role === 'admin' && Number(row.ca_active) === 1 }
        : null,
    },
    users: Number(row.users),
  };
}

export async function listConnections(db: Executor, companyId: number): Promise<Connection[]> {
  const rows = await db.all<ConnectionRow>(
    `${SELECT} WHERE c.company_id = ? AND c.revoked_at IS NULL ORDER BY c.connected_at DESC, c.id DESC`,
    [companyId],
  );
  return rows.map(toConnection);
}

export async function findConnection(db: Executor, companyId: number, clientId: string): Promise<Connection | undefined> {
  const row = await db.get<ConnectionRow>(
    `${SELECT} WHERE c.company_id = ? AND c.client_id = ? AND c.revoked_at IS NULL`,
    [companyId, clientId],
  );
  return row && toConnection(row);
}

/**
 * The company grant of a company × app (by the company's GUID), if the connection is live and
 * has one: what client-credentials issuance and introspection check. One indexed statement.
 */
export async function companyGrantOf(
  db: Executor, companyGuid: string, clientId: string,
): Promise<{ connectionId: number; scopes: string[] } | undefined> {
  const row = await db.get<{ id: number | string; scopes: string | null }>(
    `SELECT c.id, c.company_access_scopes AS scopes FROM connections c JOIN companies co ON co.id = c.company_id
     WHERE co.guid = ? AND c.client_id = ? AND c.revoked_at IS NULL`,
    [companyGuid, clientId],
  );
  if (!row || row.scopes === null) return undefined;
  return { connectionId: Number(row.id), scopes: splitScopes(row.scopes) };
}

export interface LiveConnectionRow {
  id: number;
  scopes: string;
  company_access_scopes: string | null;
}

/** The live connection of company × app inside a transaction (for commands). */
export function liveConnection(tx: Executor, companyId: number, clientId: string): Promise<LiveConnectionRow | undefined> {
  return tx.get<LiveConnectionRow>(
    'SELECT id, scopes, company_access_scopes FROM connections WHERE company_id = ? AND client_id = ? AND revoked_at IS NULL',
    [companyId, clientId],
  );
}

/**
 * After an authorization or the company grant of company × app ended: the connection's scopes
 * become what is left; with nothing left (no consent, no company grant) the connection ends —
 * it leaves Connected Apps, and the app must be authorized again. Returns true when it ended.
 */
export async function settleConnection(
  tx: Executor, connection: LiveConnectionRow, companyId: number, clientId: string, now: number, actorUserId: number | null,
): Promise<boolean> {
  const consents = await tx.all<{ scopes: string }>('SELECT scopes FROM consents WHERE company_id = ? AND client_id = ?', [companyId, clientId]);
  const company = await tx.get<{ company_access_scopes: string | null }>('SELECT company_access_scopes FROM connections WHERE id = ?', [connection.id]);
  if (consents.length === 0 && (company?.company_access_scopes ?? null) === null) {
    await tx.run('UPDATE connections SET revoked_at = ?, revoked_by = ? WHERE id = ?', [now, actorUserId, connection.id]);
    return true;
  }
  const scopes = normaliseScopes([...consents.flatMap((c) => splitScopes(c.scopes)), ...splitScopes(company?.company_access_scopes)]);
  await tx.run('UPDATE connections SET scopes = ? WHERE id = ?', [scopes.join(' '), connection.id]);
  return false;
}
