// Developer Tools sign-in: server-side sessions and shared rate-limit counters.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { int, str, time } from './helpers.js';

export class Admin1764288200000 implements MigrationInterface {
  name = 'Admin1764288200000';

  async up(q: QueryRunner): Promise<void> {
    // `id` is the SHA-256 of the session cookie's value.
    await q.createTable(new Table({
      name: 'admin_sessions',
      columns: [{ ...str('id', 64), isPrimary: true }, int('user_id'), time('created_at'), time('expires_at')],
      foreignKeys: [{ columnNames: ['user_id'], referencedTableName: 'users', referencedColumnNames: ['id'] }],
      indices: [
        { name: 'ix_admin_sessions_user', columnNames: ['user_id'] },
        { name: 'ix_admin_sessions_expires', columnNames: ['expires_at'] },
      ],
    }));

    // Fixed-window counters shared by every instance (`key` is a hash of what is limited).
    await q.createTable(new Table({
      name: 'rate_limits',
      columns: [{ ...str('key', 64), isPrimary: true }, time('window_start'), int('count')],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['rate_limits', 'admin_sessions']) await q.dropTable(t);
  }
}
