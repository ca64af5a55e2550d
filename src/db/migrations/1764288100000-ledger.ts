// The Connected Apps ledger: connections (company × app), the grant purge queue, the audit trail
// and the webhook outbox.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { id, int, str, text, time } from './helpers.js';

export class Ledger1764288100000 implements MigrationInterface {
  name = 'Ledger1764288100000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'connections',
      columns: [
        id(), int('company_id'), str('client_id', 36), text('scopes'),
        time('connected_at'), int('connected_by', true), time('last_used_at', true),
        time('revoked_at', true), int('revoked_by', true),
      ],
      foreignKeys: [
        { columnNames: ['company_id'], referencedTableName: 'companies', referencedColumnNames: ['id'] },
        { columnNames: ['client_id'], referencedTableName: 'clients', referencedColumnNames: ['client_id'] },
      ],
      indices: [
        // At most one live connection per company × app; revoked ones stay for the audit trail.
        { name: 'uq_connections_live', columnNames: ['company_id', 'client_id'], isUnique: true, where: 'revoked_at IS NULL' },
        { name: 'ix_connections_company', columnNames: ['company_id', 'connected_at'] },
      ],
    }));

    // Grants revoked (by a revocation or a deactivation) whose tokens are still to be deleted.
    // The grant rows themselves are deleted in the revoking transaction, which makes every
    // token carrying them inactive at once; the purge worker then deletes those tokens in small
    // transactions, so a revocation never holds the write lock for the time of 100,000 deletes.
    await q.createTable(new Table({
      name: 'grant_purges',
      columns: [{ ...str('grant_id', 64), isPrimary: true }, time('queued_at')],
    }));

    await q.createTable(new Table({
      name: 'audit_events',
      columns: [
        id(), int('company_id'), int('actor_user_id', true), str('actor', 320), str('action', 64),
        str('target_type', 32), str('target_id', 64), text('details'), time('created_at'),
      ],
      indices: [{ name: 'ix_audit_company', columnNames: ['company_id', 'id'] }],
    }));

    await q.createTable(new Table({
      name: 'webhook_deliveries',
      columns: [
        id(), str('client_id', 36), str('event', 64), str('target_url', 2000), text('payload'),
        str('status', 16), int('attempts', false, 0), time('next_attempt_at'), time('locked_until', true),
        int('last_status', true), str('last_error', 500, true), time('created_at'), time('delivered_at', true),
      ],
      indices: [{ name: 'ix_webhooks_due', columnNames: ['status', 'next_attempt_at'] }],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['webhook_deliveries', 'audit_events', 'grant_purges', 'connections']) await q.dropTable(t);
  }
}
