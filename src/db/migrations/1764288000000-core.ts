// Core schema: companies and users, registered clients and gateways, the oidc-provider store,
// encrypted signing and cookie keys.
import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { id, int, str, text, time } from './helpers.js';

export class Core1764288000000 implements MigrationInterface {
  name = 'Core1764288000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'companies',
      columns: [id(), str('guid', 36), str('name', 200), time('created_at')],
      uniques: [{ name: 'uq_companies_guid', columnNames: ['guid'] }],
    }));

    await q.createTable(new Table({
      name: 'users',
      columns: [
        id(), str('guid', 36), int('company_id'), str('email', 320), str('name', 200),
        str('password_hash', 200), str('role', 16), int('active', false, 1), time('created_at'),
      ],
      uniques: [
        { name: 'uq_users_guid', columnNames: ['guid'] },
        { name: 'uq_users_company_email', columnNames: ['company_id', 'email'] },
      ],
      foreignKeys: [{ columnNames: ['company_id'], referencedTableName: 'companies', referencedColumnNames: ['id'] }],
      indices: [{ name: 'ix_users_email', columnNames: ['email'] }],
    }));

    // Third-party apps and V2 API gateways. `metadata` is the oidc-provider client metadata
    // without any secret; the client secret is kept as SHA-256 only, the webhook signing secret
    // encrypted with SECRET_KEY (it must be usable to sign).
    await q.createTable(new Table({
      name: 'clients',
      columns: [
        { ...str('client_id', 36), isPrimary: true }, str('kind', 16), str('name', 200), text('metadata'),
        str('secret_hash', 64, true), str('webhook_url', 2000, true), text('webhook_secret', true),
        time('created_at'),
      ],
    }));

    // Every oidc-provider model in one table. `id` is the SHA-256 of the model's id, never the
    // id itself; the looked-up columns are indexed (sparse ones with partial indexes).
    await q.createTable(new Table({
      name: 'oidc_payloads',
      columns: [
        { ...str('model', 40), isPrimary: true }, { ...str('id', 64), isPrimary: true }, text('payload'),
        str('grant_id', 64, true), str('account_id', 64, true), str('client_id', 64, true),
        str('company_guid', 36, true), str('uid', 64, true), str('user_code', 64, true),
        time('expires_at', true), time('consumed_at', true),
      ],
    }));
    await q.createIndices('oidc_payloads', [
      // Everything of a grant (revocation) and a token's grant row (model = 'Grant', joined
      // to every token lookup).
      new TableIndex({ name: 'ix_oidc_grant', columnNames: ['grant_id', 'model'], where: 'grant_id IS NOT NULL' }),
      // Grants and sessions by user (one grant per user × app; revocation and deactivation find
      // grants here, then delete everything carrying them through ix_oidc_grant). Tokens stay out
      // of these indexes: every index a token row enters makes issuing and revoking it dearer.
      new TableIndex({ name: 'ix_oidc_grant_account', columnNames: ['account_id', 'client_id'], where: "model = 'Grant'" }),
      new TableIndex({ name: 'ix_oidc_session_account', columnNames: ['account_id'], where: "model = 'Session'" }),
      // Client-credentials tokens by the company they are bound to.
      new TableIndex({ name: 'ix_oidc_client_company', columnNames: ['client_id', 'company_guid'], where: 'company_guid IS NOT NULL' }),
      new TableIndex({ name: 'ix_oidc_uid', columnNames: ['uid'], where: 'uid IS NOT NULL' }),
      new TableIndex({ name: 'ix_oidc_user_code', columnNames: ['user_code'], where: 'user_code IS NOT NULL' }),
      new TableIndex({ name: 'ix_oidc_expires', columnNames: ['expires_at'], where: 'expires_at IS NOT NULL' }),
      new TableIndex({ name: 'ix_oidc_consumed', columnNames: ['consumed_at'], where: 'consumed_at IS NOT NULL' }),
    ]);

    // JWKs and cookie keys, encrypted with SECRET_KEY; newest first is the one in use.
    await q.createTable(new Table({
      name: 'keys',
      columns: [{ ...str('kid', 64), isPrimary: true }, str('use', 16), text('material'), time('created_at')],
    }));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['keys', 'oidc_payloads', 'clients', 'users', 'companies']) await q.dropTable(t);
  }
}
