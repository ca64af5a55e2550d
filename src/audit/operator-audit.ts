// The operators' audit trail: changes that belong to no one company (apps, gateways, companies,
// operator keys), by the CLI ("operator:cli") or an operator key ("operator:<key name>").
// Written in the same transaction as the change it records. Changes inside a company (its
// users) go to that company's trail (audit.ts), which its admins see.
import type { Executor } from '../db/database.js';
import { actorLabel, type OperatorActor } from './audit.js';

export interface OperatorAuditInput {
  actor: OperatorActor;
  action: string;
  targetType: string;
  targetId: string;
  details?: Record<string, unknown>;
}

export async function recordOperatorAudit(tx: Executor, e: OperatorAuditInput, now = Date.now()): Promise<void> {
  await tx.run(
    'INSERT INTO operator_audit_events (actor, action, target_type, target_id, details, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    [actorLabel(e.actor), e.action, e.targetType, e.targetId, JSON.stringify(e.details ?? {}), now],
  );
}

export interface OperatorAuditEvent {
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  details: Record<string, unknown>;
  created_at: string;
}

/** Newest first. */
export async function listOperatorAudit(db: Executor, limit = 100): Promise<OperatorAuditEvent[]> {
  const rows = await db.all<{ actor: string; action: string; target_type: string; target_id: string; details: string; created_at: number }>(
    'SELECT actor, action, target_type, target_id, details, created_at FROM operator_audit_events ORDER BY id DESC LIMIT ?', [limit],
  );
  return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown>, created_at: new Date(Number(r.created_at)).toISOString() }));
}
