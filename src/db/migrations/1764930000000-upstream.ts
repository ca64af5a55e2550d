// Sign-in through the SaaS's identity provider: the people's upstream identities (issuer × sub),
// the sign-ins in flight (state, nonce, PKCE verifier — single use), the upstream sessions a
// back-channel logout names. (The SaaS's own ids, `external_id` on companies and users, come
// with the operators' migration before it.)
import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { id, int, str, text, time } from './helpers.js';

export class Upstream1764930000000 implements MigrationInterface {
  name = 'Upstream1764930000000';

  async up(q: QueryRunner): Promise<void> {
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
  }
}
