// Sign-in through the SaaS's identity provider: the people's upstream identities (issuer × sub),
// the sign-ins in flight (state, nonce, PKCE verifier — single use), the upstream sessions a
// back-channel logout names, and the SaaS's own ids (`external_id`) on companies and users.
// `external_id` is shared with the operator API; whichever migration runs first adds it.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { id, int, str, text, time } from './helpers.js';

export class Upstream1764930000000 implements MigrationInterface {
  name = 'Upstream1764930000000';

  async up(q: QueryRunner): Promise<void> {
    // Plain ALTER TABLE … ADD COLUMN: TypeORM's SQLite version rebuilds the table.
    if (!(await q.hasColumn('companies', 'external_id'))) {
      await q.query('ALTER TABLE companies ADD COLUMN external_id varchar(200)');
      await q.query('CREATE UNIQUE INDEX uq_companies_external_id ON companies (external_id)');
    }
    if (!(await q.hasColumn('users', 'external_id'))) {
      await q.query('ALTER TABLE users ADD COLUMN external_id varchar(200)');
      await q.query('CREATE UNIQUE INDEX uq_users_company_external_id ON users (company_id, external_id)');
    }
    await q.createTable(new Table({
      name: 'user_identities',
      columns: [id(), int('user_id'), str('issuer', 500), str('subject', 255), time('created_at'), time('last_sign_in_at')],
      foreignKeys: [{ columnNames: ['user_id'], referencedTableName: 'users', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
      indices: [
        { name: 'uq_user_identities_issuer_subject', columnNames: ['issuer', 'subject'], isUnique: true },
        { name: 'ix_user_identities_user', columnNames: ['user_id'] },
      ],
    }));
    await q.createTable(new Table({
      name: 'upstream_logins',
      columns: [
        // SHA-256 of the `state` value (the browser holds the value in a cookie, the upstream echoes it).
        { ...str('id', 64), isPrimary: true },
        str('nonce', 64), str('code_verifier', 128), text('target'),
        // Set once the upstream answered: who signed in (the page that resumes takes it, once).
        str('user_guid', 36, true),
        time('created_at'), time('expires_at'),
      ],
      indices: [{ name: 'ix_upstream_logins_expires', columnNames: ['expires_at'] }],
    }));
    await q.createTable(new Table({
      name: 'upstream_sessions',
      columns: [id(), str('issuer', 500), str('sid', 255), int('user_id'), time('expires_at')],
      foreignKeys: [{ columnNames: ['user_id'], referencedTableName: 'users', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
      indices: [
        { name: 'ix_upstream_sessions_sid', columnNames: ['issuer', 'sid'] },
        { name: 'ix_upstream_sessions_expires', columnNames: ['expires_at'] },
      ],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('upstream_sessions');
    await q.dropTable('upstream_logins');
    await q.dropTable('user_identities');
    // external_id: dropped here while this migration is the one that adds it (see up()). Plain
    // ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), as up() adds it.
    for (const [table, index] of [['users', 'uq_users_company_external_id'], ['companies', 'uq_companies_external_id']] as const) {
      if (await q.hasColumn(table, 'external_id')) {
        await q.query(`DROP INDEX ${index}`);
        await q.query(`ALTER TABLE ${table} DROP COLUMN external_id`);
      }
    }
  }
}
