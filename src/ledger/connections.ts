// Connections — the rows of Connected Apps: one live row per company × app, created when a
// user of the company first consents, updated on later consents, kept (revoked) for the audit
// trail. Queries only; the revoke cascade lives in revoke-connection.ts.
import type { Database, Executor } from '../db/database.js';
import { normaliseScopes } from '../oidc/scopes.js';

export interface Connection {
  id: number;
  clientId: string;
  clientName: string;
  logoUri?: string;
  scopes: string[];
  connectedAt: number;
  connectedBy: { guid: string; name: string; email: string } | null;
  lastUsedAt: number | null;
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
}

const SELECT = `SELECT c.id, c.client_id, cl.name AS client_name, cl.metadata, c.scopes, c.connected_at, c.last_used_at,
  u.guid AS user_guid, u.name AS user_name, u.email AS user_email
  FROM connections c
  JOIN clients cl ON cl.client_id = c.client_id
  LEFT JOIN users u ON u.id = c.connected_by`;

function toConnection(row: ConnectionRow): Connection {
  const logo = (JSON.parse(row.metadata) as { logo_uri?: string }).logo_uri;
  return {
    id: row.id,
    clientId: row.client_id,
    clientName: row.client_name,
    ...(logo ? { logoUri: logo } : {}),
    scopes: row.scopes ? row.scopes.split(' ') : [],
    connectedAt: row.connected_at,
    connectedBy: row.user_guid ? { guid: row.user_guid, name: row.user_name!, email: row.user_email! } : null,
    lastUsedAt: row.last_used_at,
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

/** The id of the live (not revoked) connection of company × app, if there is one. */
export async function liveConnectionId(db: Executor, companyGuid: string, clientId: string): Promise<number | undefined> {
  const row = await db.get<{ id: number | string }>(
    `SELECT c.id FROM connections c JOIN companies co ON co.id = c.company_id
     WHERE co.guid = ? AND c.client_id = ? AND c.revoked_at IS NULL`,
    [companyGuid, clientId],
  );
  return row === undefined ? undefined : Number(row.id);
}

export async function isConnected(db: Executor, companyGuid: string, clientId: string): Promise<boolean> {
  return (await liveConnectionId(db, companyGuid, clientId)) !== undefined;
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e?.message ?? '');
}

/**
 * Records a consent of `userId` (of company `companyId`) to `clientId` for `scopes`: creates the
 * live connection, or adds the scopes to it and records who consented last and when.
 */
export async function recordConsent(
  db: Database,
  input: { companyId: number; userId: number; clientId: string; scopes: string[] },
): Promise<{ created: boolean }> {
  const attempt = () => db.transaction(async (tx) => {
    const now = Date.now();
    const live = await tx.get<{ id: number; scopes: string }>(
      'SELECT id, scopes FROM connections WHERE company_id = ? AND client_id = ? AND revoked_at IS NULL',
      [input.companyId, input.clientId],
    );
    if (live) {
      const scopes = normaliseScopes([...live.scopes.split(' '), ...input.scopes]).join(' ');
      await tx.run('UPDATE connections SET scopes = ?, connected_by = ?, connected_at = ? WHERE id = ?', [
        scopes, input.userId, now, live.id,
      ]);
      return { created: false };
    }
    await tx.run(
      'INSERT INTO connections (company_id, client_id, scopes, connected_at, connected_by) VALUES (?, ?, ?, ?, ?)',
      [input.companyId, input.clientId, normaliseScopes(input.scopes).join(' '), now, input.userId],
    );
    return { created: true };
  });
  try {
    return await attempt();
  } catch (err) {
    // Two first consents of one company at the same moment: the loser updates the winner's row.
    if (isUniqueViolation(err)) return attempt();
    throw err;
  }
}
