// The audit trail: who did what to which object, when, with counts. Written in the same
// transaction as the change it records.
import type { Executor } from '../db/database.js';

/** A signed-in person (a user of the company), or an operator acting through the CLI or the operator API. */
export type AuditActor = { id: number; email: string } | OperatorActor;

export interface OperatorActor {
  /** The operator key's name, or "cli" for the operator CLI. */
  operator: string;
}

export const isOperator = (a: AuditActor | null): a is OperatorActor => a !== null && 'operator' in a;

/** What the audit trail shows as the actor: the user's e-mail, or `operator:<name>`. */
export function actorLabel(a: AuditActor | null): string {
  if (a === null) return 'system';
  return isOperator(a) ? `operator:${a.operator}` : a.email;
}

export interface AuditInput {
  companyId: number;
  actor: AuditActor | null;
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
}

export interface AuditEvent {
  id: number;
  action: string;
  actor: string;
  target_type: string;
  target_id: string;
  details: Record<string, unknown>;
  created_at: string;
}

export async function recordAudit(tx: Executor, e: AuditInput, now = Date.now()): Promise<void> {
  await tx.run(
    `INSERT INTO audit_events (company_id, actor_user_id, actor, action, target_type, target_id, details, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [e.companyId, e.actor && !isOperator(e.actor) ? e.actor.id : null, actorLabel(e.actor), e.action, e.targetType, e.targetId, JSON.stringify(e.details ?? {}), now],
  );
}

/** Newest first; `before` is the id of the last event of the previous page; optional filters. */
export async function listAudit(
  db: Executor, companyId: number, opts: { limit: number; before?: number; targetType?: string; actor?: string },
): Promise<{ data: AuditEvent[]; next_cursor: string | null }> {
  type Row = { id: number; action: string; actor: string; target_type: string; target_id: string; details: string; created_at: number };
  const where = ['company_id = ?'];
  const params: Array<string | number> = [companyId];
  if (opts.before !== undefined) { where.push('id < ?'); params.push(opts.before); }
  if (opts.targetType) { where.push('target_type = ?'); params.push(opts.targetType); }
  if (opts.actor) { where.push('actor = ?'); params.push(opts.actor); }
  const rows = await db.all<Row>(
    `SELECT id, action, actor, target_type, target_id, details, created_at FROM audit_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`,
    [...params, opts.limit + 1],
  );
  const page = rows.slice(0, opts.limit);
  return {
    data: page.map((r) => ({
      id: r.id, action: r.action, actor: r.actor, target_type: r.target_type, target_id: r.target_id,
      details: JSON.parse(r.details) as Record<string, unknown>, created_at: new Date(r.created_at).toISOString(),
    })),
    next_cursor: rows.length > opts.limit ? String(page.at(-1)!.id) : null,
  };
}
