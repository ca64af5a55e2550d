// Operators: secret rotation with an overlap (the previous client secret's hash and the previous
// webhook signing secret, each until a time), operator keys for /operator/v1 (SHA-256 only), the
// operators' own audit trail (changes not of one company: apps, gateways, companies, keys), and
// the SaaS's own ids (`external_id`) on companies (unique) and users (unique per company).
// Columns are added and dropped with plain ALTER TABLE: TypeORM's SQLite version rebuilds the
// table, and clients, companies and users are referenced by other tables.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { id, str, text, time } from './helpers.js';

const COLUMNS = [
  'previous_secret_hash varchar(64)', 'previous_secret_expires_at bigint',
  'previous_webhook_secret text', 'previous_webhook_secret_expires_at bigint',
];

export class Operators1764910000000 implements MigrationInterface {
  name = 'Operators1764910000000';

  async up(q: QueryRunner): Promise<void> {
    for (const column of COLUMNS) await q.query(`ALTER TABLE clients ADD COLUMN ${column}`);
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
    await q.query('ALTER TABLE companies ADD COLUMN external_id varchar(200)');
    await q.query('CREATE UNIQUE INDEX uq_companies_external_id ON companies (external_id)');
    await q.query('ALTER TABLE users ADD COLUMN external_id varchar(200)');
    await q.query('CREATE UNIQUE INDEX uq_users_company_external_id ON users (company_id, external_id)');
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table, index] of [['users', 'uq_users_company_external_id'], ['companies', 'uq_companies_external_id']] as const) {
      await q.query(`DROP INDEX ${index}`);
      await q.query(`ALTER TABLE ${table} DROP COLUMN external_id`);
    }
    await q.dropTable('operator_audit_events');
    await q.dropTable('operator_keys');
    for (const column of [...COLUMNS].reverse()) await q.query(`ALTER TABLE clients DROP COLUMN ${column.split(' ')[0]}`);
  }
}
