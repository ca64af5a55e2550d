// Usage at a glance: requests per day of each token and connected app (src/ledger/usage.ts), and
// an index for "Recently revoked" (audit events of one action of a company, newest first).
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { int, str, time } from './helpers.js';

export class Usage1764920000000 implements MigrationInterface {
  name = 'Usage1764920000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'usage_days',
      columns: [
        str('subject_type', 8), str('subject_id', 64), str('company_guid', 36), int('day'),
        int('requests'), str('last_ip', 64, true), time('last_at'),
      ],
      indices: [{ name: 'uq_usage_days', columnNames: ['company_guid', 'subject_type', 'subject_id', 'day'], isUnique: true }],
    }));
    await q.createIndex('audit_events', new TableIndex({ name: 'ix_audit_company_action', columnNames: ['company_id', 'action', 'id'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('audit_events', 'ix_audit_company_action');
    await q.dropTable('usage_days');
  }
}
