// The authorization model: consents (one remembered authorization per user × app) apart from
// oidc-provider's grants (one per browser session, linked to the consent by account × client),
// and the company grant (company-wide access) on the connection.
//
// Existing data (README, "Upgrading"):
// - every live grant becomes its user's consent, with the grant's scopes, when they are within
//   the default bound of the user's role; a grant beyond it (an employee who granted
//   users:write) is revoked — queued for the purge — and that person must authorize again;
// - a live connection last authorized by an active admin, for an app that has the
//   client_credentials grant type, gets company-wide access with the V2 scopes its live
//   client-credentials tokens carry plus those that admin's own grant holds; other connections get
//   none, so their client-credentials tokens stop working (an admin must authorize the app with
//   `company_access`).
import { Table, TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { DEFAULT_ROLE_BOUNDS, withinRole } from '../../authz/policy.js';
import type { Role } from '../../companies/users.js';
import { API_SCOPES, COMPANY_ACCESS, DEVELOPER_TOOLS_SCOPES, normaliseScopes, splitScopes } from '../../oidc/scopes.js';
import { id, int, str, text, time } from './helpers.js';

/** `?` placeholders as the driver wants them. */
function query<T>(q: QueryRunner, sql: string, params: unknown[] = []): Promise<T[]> {
  let n = 0;
  const text = q.connection.driver.options.type === 'postgres' ? sql.replace(/\?/g, () => `$${++n}`) : sql;
  return q.query(text, params) as Promise<T[]>;
}

export class Authorization1764288400000 implements MigrationInterface {
  name = 'Authorization1764288400000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({
      name: 'consents',
      columns: [
        id(), int('company_id'), int('user_id'), str('client_id', 36), text('scopes'),
        time('granted_at'), time('updated_at'), time('last_used_at', true),
      ],
      foreignKeys: [
        { columnNames: ['company_id'], referencedTableName: 'companies', referencedColumnNames: ['id'] },
        { columnNames: ['user_id'], referencedTableName: 'users', referencedColumnNames: ['id'] },
        { columnNames: ['client_id'], referencedTableName: 'clients', referencedColumnNames: ['client_id'] },
      ],
      indices: [
        { name: 'uq_consents_user_client', columnNames: ['user_id', 'client_id'], isUnique: true },
        { name: 'ix_consents_company_client', columnNames: ['company_id', 'client_id'] },
      ],
    }));
    await q.addColumns('connections', [
      new TableColumn(text('company_access_scopes', true)),
      new TableColumn(int('company_access_granted_by', true)),
      new TableColumn(time('company_access_granted_at', true)),
    ]);

    const now = Date.now();
    await this.#consentsFromGrants(q, now);
    await this.#companyGrants(q, now);
    await this.#settleConnections(q, now);
  }

  /**
   * Each live connection lists what is still granted (the people's consents and the company
   * grant); one that nothing holds any more — its only grants were revoked above — ends.
   */
  async #settleConnections(q: QueryRunner, now: number): Promise<void> {
    const live = await query<{ id: number; company_id: number; client_id: string; company_access_scopes: string | null }>(q,
      'SELECT id, company_id, client_id, company_access_scopes FROM connections WHERE revoked_at IS NULL');
    for (const c of live) {
      const consents = await query<{ scopes: string }>(q,
        'SELECT scopes FROM consents WHERE company_id = ? AND client_id = ?', [c.company_id, c.client_id]);
      if (consents.length === 0 && c.company_access_scopes === null) {
        await query(q, 'UPDATE connections SET revoked_at = ?, revoked_by = NULL WHERE id = ?', [now, c.id]);
        continue;
      }
      const scopes = normaliseScopes([...consents.flatMap((x) => splitScopes(x.scopes)), ...splitScopes(c.company_access_scopes)]);
      await query(q, 'UPDATE connections SET scopes = ? WHERE id = ?', [scopes.join(' '), c.id]);
    }
  }

  async #consentsFromGrants(q: QueryRunner, now: number): Promise<void> {
    const grants = await query<{ grant_id: string; account_id: string; client_id: string; payload: string }>(q,
      `SELECT grant_id, account_id, client_id, payload FROM oidc_payloads
       WHERE model = 'Grant' AND (expires_at IS NULL OR expires_at > ?)`, [now]);
    for (const g of grants) {
      const [user] = await query<{ id: number; company_id: number; role: Role; active: number }>(q,
        'SELECT id, company_id, role, active FROM users WHERE guid = ?', [g.account_id]);
      const payload = JSON.parse(g.payload) as { openid?: { scope?: string } };
      const scopes = normaliseScopes(splitScopes(payload.openid?.scope))
        .filter((s) => s !== COMPANY_ACCESS && !DEVELOPER_TOOLS_SCOPES.includes(s));
      if (!user || Number(user.active) !== 1 || !withinRole(DEFAULT_ROLE_BOUNDS, user.role, scopes)) {
        // Granted beyond what the role may grant (or by nobody active): revoked.
        await query(q, 'INSERT INTO grant_purges (grant_id, queued_at) VALUES (?, ?) ON CONFLICT (grant_id) DO NOTHING', [g.grant_id, now]);
        await query(q, "DELETE FROM oidc_payloads WHERE model = 'Grant' AND grant_id = ?", [g.grant_id]);
        continue;
      }
      const [existing] = await query<{ id: number; scopes: string }>(q,
        'SELECT id, scopes FROM consents WHERE user_id = ? AND client_id = ?', [user.id, g.client_id]);
      if (existing) {
        const merged = normaliseScopes([...splitScopes(existing.scopes), ...scopes]).join(' ');
        await query(q, 'UPDATE consents SET scopes = ? WHERE id = ?', [merged, existing.id]);
      } else {
        await query(q,
          'INSERT INTO consents (company_id, user_id, client_id, scopes, granted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
          [user.company_id, user.id, g.client_id, scopes.join(' '), now, now]);
      }
    }
  }

  async #companyGrants(q: QueryRunner, now: number): Promise<void> {
    const live = await query<{ id: number; client_id: string; connected_by: number | null; company_guid: string; metadata: string }>(q,
      `SELECT c.id, c.client_id, c.connected_by, co.guid AS company_guid, cl.metadata
       FROM connections c JOIN companies co ON co.id = c.company_id JOIN clients cl ON cl.client_id = c.client_id
       WHERE c.revoked_at IS NULL`);
    for (const c of live) {
      const grantTypes = (JSON.parse(c.metadata) as { grant_types?: string[] }).grant_types ?? [];
      if (!grantTypes.includes('client_credentials') || c.connected_by === null) continue;
      const [by] = await query<{ role: string; active: number }>(q, 'SELECT role, active FROM users WHERE id = ?', [c.connected_by]);
      if (!by || by.role !== 'admin' || Number(by.active) !== 1) continue;
      const tokens = await query<{ payload: string }>(q,
        `SELECT payload FROM oidc_payloads WHERE client_id = ? AND company_guid = ? AND model = 'ClientCredentials'
         AND (expires_at IS NULL OR expires_at > ?)`, [c.client_id, c.company_guid, now]);
      const used = tokens.flatMap((t) => splitScopes((JSON.parse(t.payload) as { scope?: string }).scope));
      // What that admin consented to (their own grant), not the union of everyone's consents.
      const own = await query<{ payload: string }>(q,
        `SELECT g.payload FROM oidc_payloads g JOIN users u ON u.guid = g.account_id
         WHERE g.model = 'Grant' AND g.client_id = ? AND u.id = ? AND (g.expires_at IS NULL OR g.expires_at > ?)`,
        [c.client_id, c.connected_by, now]);
      const consented = own.flatMap((g) => splitScopes((JSON.parse(g.payload) as { openid?: { scope?: string } }).openid?.scope));
      const scopes = normaliseScopes([...used, ...consented]).filter((s) => API_SCOPES.includes(s));
      if (scopes.length === 0) continue;
      await query(q,
        'UPDATE connections SET company_access_scopes = ?, company_access_granted_by = ?, company_access_granted_at = ? WHERE id = ?',
        [scopes.join(' '), c.connected_by, now, c.id]);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumns('connections', ['company_access_scopes', 'company_access_granted_by', 'company_access_granted_at']);
    await q.dropTable('consents');
  }
}
