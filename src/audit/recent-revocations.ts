// "Recently revoked" of each Developer Tools section, read from the audit trail: which access
// token, API key or app was revoked, when, by whom, and (for apps) how many tokens ended with it.
// Revoked tokens and connections are kept, so their names still resolve.
import type { Executor } from '../db/database.js';
import { totalRevoked } from '../ledger/revoked-counts.js';

export type RevokedKind = 'access_token' | 'api_key' | 'connection';

export interface RecentRevocation {
  kind: RevokedKind;
  name: string;
  last4?: string;
  at: number;
  actor: string;
  /** "12 tokens ended" (apps only). */
  counts?: string;
}

const ACTION: Record<RevokedKind, string> = {
  access_token: 'access_token.revoked', api_key: 'api_key.revoked', connection: 'connection.revoked',
};

export async function recentRevocations(db: Executor, companyId: number, kind: RevokedKind, limit = 5): Promise<RecentRevocation[]> {
  type Row = { actor: string; created_at: number; target_id: string; details: string; name: string | null; last4: string | null };
  const rows = kind === 'connection'
    ? await db.all<Row>(
      `SELECT a.actor, a.created_at, a.target_id, a.details, c.name, NULL AS last4
       FROM audit_events a LEFT JOIN clients c ON c.client_id = a.target_id
       WHERE a.company_id = ? AND a.action = ? ORDER BY a.id DESC LIMIT ?`, [companyId, ACTION[kind], limit])
    : await db.all<Row>(
      `SELECT a.actor, a.created_at, a.target_id, a.details, t.name, t.last4
       FROM audit_events a LEFT JOIN access_tokens t ON t.id = a.target_id
       WHERE a.company_id = ? AND a.action = ? ORDER BY a.id DESC LIMIT ?`, [companyId, ACTION[kind], limit]);
  return rows.map((r) => {
    const out: RecentRevocation = { kind, name: r.name ?? r.target_id, at: Number(r.created_at), actor: r.actor };
    if (r.last4) out.last4 = r.last4;
    if (kind === 'connection') {
      const revoked = (JSON.parse(r.details) as { revoked?: Record<string, number> }).revoked;
      const n = revoked ? totalRevoked(revoked) : 0;
      out.counts = `${n} token${n === 1 ? '' : 's'} ended`;
    }
    return out;
  });
}

/** Names of the tokens, keys and apps some audit events are about (revoked ones included). */
export async function namesOf(db: Executor, events: Array<{ target_type: string; target_id: string }>): Promise<Map<string, string>> {
  const tokens = [...new Set(events.filter((e) => e.target_type !== 'client').map((e) => e.target_id))];
  const clients = [...new Set(events.filter((e) => e.target_type === 'client').map((e) => e.target_id))];
  const out = new Map<string, string>();
  const marks = (n: number) => Array(n).fill('?').join(', ');
  if (tokens.length) {
    for (const r of await db.all<{ id: string; name: string; last4: string }>(`SELECT id, name, last4 FROM access_tokens WHERE id IN (${marks(tokens.length)})`, tokens)) {
      out.set(r.id, `${r.name} (…${r.last4})`);
    }
  }
  if (clients.length) {
    for (const r of await db.all<{ client_id: string; name: string }>(`SELECT client_id, name FROM clients WHERE client_id IN (${marks(clients.length)})`, clients)) {
      out.set(r.client_id, r.name);
    }
  }
  return out;
}
