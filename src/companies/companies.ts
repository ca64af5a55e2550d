// Companies as the operator sees them: every company with its number of users.
import type { Executor } from '../db/database.js';

export interface CompanySummary {
  guid: string;
  name: string;
  createdAt: number;
  /** Users of the company, active or not. */
  users: number;
}

/** Every company, oldest first: one grouped join (users are found through uq_users_company_email). */
export async function listCompanies(db: Executor): Promise<CompanySummary[]> {
  const rows = await db.all<{ guid: string; name: string; created_at: number; users: number }>(
    `SELECT c.guid, c.name, c.created_at, COUNT(u.id) AS users
     FROM companies c LEFT JOIN users u ON u.company_id = c.id
     GROUP BY c.id, c.guid, c.name, c.created_at
     ORDER BY c.created_at, c.id`,
  );
  return rows.map((r) => ({ guid: r.guid, name: r.name, createdAt: Number(r.created_at), users: Number(r.users) }));
}
