// Access tokens (personal access tokens) and legacy API keys: one table, `kind` tells them apart.
// Only the SHA-256 of a token and its last four characters are stored.
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { int, str, text, time } from './helpers.js';

export class Tokens1764288300000 implements MigrationInterface {
  name = 'Tokens1764288300000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'access_tokens',
      columns: [
        { ...str('id', 36), isPrimary: true }, str('kind', 16), int('company_id'), int('user_id'),
        str('name', 200), text('scopes'), str('token_hash', 64), str('last4', 4),
        time('created_at'), time('expires_at', true), time('last_used_at', true),
        time('revoked_at', true), int('revoked_by', true),
      ],
      foreignKeys: [
        { columnNames: ['company_id'], referencedTableName: 'companies', referencedColumnNames: ['id'] },
        { columnNames: ['user_id'], referencedTableName: 'users', referencedColumnNames: ['id'] },
      ],
      uniques: [{ name: 'uq_access_tokens_hash', columnNames: ['token_hash'] }],
      indices: [{ name: 'ix_access_tokens_company', columnNames: ['company_id', 'kind', 'created_at'] }],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('access_tokens');
  }
}
