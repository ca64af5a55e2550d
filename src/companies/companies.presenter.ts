// The JSON shapes of companies and users for operators (the CLI's --json, the operator API).
// Password hashes never go through here.
import type { CompanySummary } from './companies.js';
import type { UserSummary } from './users.js';

const iso = (ms: number) => new Date(ms).toISOString();

export function presentCompany(c: CompanySummary) {
  return { guid: c.guid, name: c.name, created_at: iso(c.createdAt), users: c.users };
}

export function presentUser(u: UserSummary) {
  return { id: u.guid, email: u.email, name: u.name, role: u.role, active: u.active, created_at: iso(u.createdAt) };
}
