// First start: the generated admin must choose a new password at their first sign-in
// (users.must_change_password; any password change clears it).
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class FirstStart1764900000001 implements MigrationInterface {
  name = 'FirstStart1764900000001';

  async up(q: QueryRunner): Promise<void> {
    // Plain ALTER TABLE on both databases: TypeORM's addColumn/dropColumn rebuild the table on
    // SQLite, which the foreign keys referencing users refuse on the way down.
    await q.query('ALTER TABLE users ADD COLUMN must_change_password integer NOT NULL DEFAULT 0');
  }

  async down(q: QueryRunner): Promise<void> {
    // SQLite ≥ 3.35 drops a column in place.
    await q.query('ALTER TABLE users DROP COLUMN must_change_password');
  }
}
