// First start: the generated admin must choose a new password at their first sign-in
// (users.must_change_password; any password change clears it).
import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

export class FirstStart1764900000001 implements MigrationInterface {
  name = 'FirstStart1764900000001';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('users', new TableColumn({ name: 'must_change_password', type: 'integer', isNullable: false, default: 0 }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('users', 'must_change_password');
  }
}
