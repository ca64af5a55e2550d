// Operators: secret rotation with an overlap (the previous client secret's hash and the previous
// webhook signing secret, each until a time), operator keys for /operator/v1 (SHA-256 only), the
// operators' own audit trail (changes not of one company: apps, gateways, companies, keys), and
// the SaaS's own ids (`external_id`) on companies (unique) and users (unique per company).
// `external_id` is shared with the upstream sign-in's migration; whichever runs first adds it.
import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { id, str, text, time } from './helpers.js';

export class Operators1764910000000 implements MigrationInterface {
  name = 'Operators1764910000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('clients', [
      new TableColumn(str('previous_secret_hash', 64, true)),
      new TableColumn(time('previous_secret_expires_at', true)),
      new TableColumn(text('previous_webhook_secret', true)),
      new TableColumn(time('previous_webhook_secret_expires_at', true)),
    ]);
    await q.createTable(new Table({
      name: 'operator_keys',
      columns: [
        { ...str('id', 36), isPrimary: true }, str('name', 200), str('key_hash', 64), str('last4', 4),
        time('created_at'), time('last_used_at', true), time('revoked_at', true),
      ],
      uniques: [{ name: 'uq_operator_keys_hash', columnNames: ['key_hash'] }],
    }));
    await q.createTable(new Table({
      name: 'operator_audit_events',
      columns: [id(), str('actor', 320), str('action', 64), str('target_type', 32), str('target_id', 64), text('details'), time('created_at')],
    }));
    if (!(await q.hasColumn('companies', 'external_id'))) {
      await q.addColumn('companies', new TableColumn(str('external_id', 200, true)));
      await q.createIndex('companies', new TableIndex({ name: 'uq_companies_external_id', columnNames: ['external_id'], isUnique: true }));
    }
    if (!(await q.hasColumn('users', 'external_id'))) {
      await q.addColumn('users', new TableColumn(str('external_id', 200, true)));
      await q.createIndex('users', new TableIndex({ name: 'uq_users_company_external_id', columnNames: ['company_id', 'external_id'], isUnique: true }));
    }
  }

  async down(q: QueryRunner): Promise<void> {
    // external_id stays: the upstream sign-in's migration may use it too.
    await q.dropTable('operator_audit_events');
    await q.dropTable('operator_keys');
    for (const c of ['previous_webhook_secret_expires_at', 'previous_webhook_secret', 'previous_secret_expires_at', 'previous_secret_hash']) {
      await q.dropColumn('clients', c);
    }
  }
}
