// Who the upstream's person is here (DESIGN.md, "Sign-in through the SaaS's identity provider"):
//   1. their identity (upstream issuer × sub), linked at an earlier sign-in;
//   2. else the user of the named company whose `external_id` is the `sub`;
//   3. else the user of that company with the same e-mail — only when the upstream marks the
//      e-mail verified (an unverified address equal to an admin's is refused, never linked);
//   4. else a new user of that company (just in time).
// The company is the one whose `external_id` the company claim names (created when
// UPSTREAM_CREATE_COMPANIES is on). The role comes from the role claim at every sign-in: a lower
// one goes through membership.setRole, which ends what the new role may not hold.
import type { Database } from '../db/database.js';
import { setRole, type MembershipDeps } from '../companies/membership.js';
import { createUser, findUserById, normaliseEmail, ROLES, type Company, type Role, type User } from '../companies/users.js';
import { recordAudit } from '../audit/audit.js';
import { provisionCompany } from '../operators/provisioning.js';
import { AppError } from '../shared/errors.js';
import type { UpstreamClaims, UpstreamSettings } from './relying-party.js';
import { findIdentity, linkIdentity, touchIdentity } from './store.js';

const refused = (message: string) => new AppError(403, 'upstream_sign_in_refused', message);

const RANK: Record<Role, number> = { employee: 0, manager: 1, admin: 2 };

/** The role the claim maps to (a list: the highest); unmapped or missing: employee. */
export function roleFromClaim(value: unknown, map: Record<string, Role>): Role {
  const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  let role: Role = 'employee';
  for (const v of values) {
    const mapped = map[String(v)];
    if (mapped && ROLES.includes(mapped) && RANK[mapped] > RANK[role]) role = mapped;
  }
  return role;
}

const claimText = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined;

export interface PeopleDeps extends MembershipDeps {
  db: Database;
  upstream: UpstreamSettings;
  issuer: string;
}

async function companyByExternalId(db: Database, externalId: string): Promise<Company | undefined> {
  return db.get<Company>('SELECT id, guid, name FROM companies WHERE external_id = ?', [externalId]);
}

async function companyFor(deps: PeopleDeps, claims: UpstreamClaims, name: string): Promise<Company> {
  const externalId = claimText(claims[deps.upstream.companyClaim]);
  if (!externalId) throw refused(`${name} did not say which company you belong to, so you cannot sign in here. Ask your administrator.`);
  const company = await companyByExternalId(deps.db, externalId);
  if (company) return company;
  if (!deps.upstream.createCompanies) {
    throw refused(`Your company is not set up here yet, so you cannot sign in. Ask your administrator to add it (company ${externalId}).`);
  }
  // The operators' provisioning: idempotent on the external id (a parallel sign-in's company is reused), audited.
  await provisionCompany(deps.db, { operator: `upstream:${name}` }, { name: externalId, externalId });
  return (await companyByExternalId(deps.db, externalId))!;
}

/** The user the upstream's person is (found, linked or created), with the claim's role applied. */
export async function personFor(deps: PeopleDeps, claims: UpstreamClaims): Promise<User> {
  const name = deps.upstream.name;
  const role = roleFromClaim(claims[deps.upstream.roleClaim], deps.upstream.roles);
  const now = Date.now();
  let user: User | undefined;
  const linked = await findIdentity(deps.db, deps.issuer, claims.sub);
  if (linked !== undefined) {
    user = await findUserById(deps.db, linked);
    const claimed = claimText(claims[deps.upstream.companyClaim]);
    if (user && claimed) {
      const row = await deps.db.get<{ external_id: string | null }>('SELECT external_id FROM companies WHERE id = ?', [user.company.id]);
      if (row?.external_id && row.external_id !== claimed) {
        throw refused(`${name} says you belong to another company than your account here. Ask your administrator.`);
      }
    }
    if (user) await touchIdentity(deps.db, deps.issuer, claims.sub, now);
  } else {
    const company = await companyFor(deps, claims, name);
    const email = claimText(claims.email) ? normaliseEmail(String(claims.email)) : undefined;
    const byExternal = await deps.db.get<{ id: number }>('SELECT id FROM users WHERE company_id = ? AND external_id = ?', [company.id, claims.sub]);
    let userId = byExternal?.id;
    if (userId === undefined && email) {
      const byEmail = await deps.db.get<{ id: number }>('SELECT id FROM users WHERE company_id = ? AND email = ?', [company.id, email]);
      if (byEmail && claims.email_verified === true) userId = byEmail.id;
      else if (byEmail) {
        throw refused(`An account with the e-mail address ${email} already exists here, and ${name} has not verified that this address is yours. Verify it there, or ask your administrator.`);
      }
    }
    if (userId === undefined) {
      if (!email) throw refused(`${name} did not share your e-mail address, which a new account here needs.`);
      userId = await createExternalUser(deps.db, company, { email, name: claimText(claims.name), role, externalId: claims.sub }, now);
    }
    try {
      await linkIdentity(deps.db, userId, deps.issuer, claims.sub, now);
    } catch {
      /* linked by a parallel sign-in of the same person */
    }
    user = await findUserById(deps.db, userId);
  }
  if (!user) throw refused('Your account here no longer exists. Ask your administrator.');
  if (!user.active) throw refused(`Your account at ${user.company.name} is deactivated. Ask an admin of your company.`);
  if (user.role !== role) {
    await setRole(deps, user, role, { operator: `upstream:${name}` });
    user = { ...user, role };
  }
  return user;
}

/** A person the upstream vouches for, created at their first sign-in, with no usable password (they never need one here). */
async function createExternalUser(
  db: Database, company: Company, p: { email: string; name?: string; role: Role; externalId: string }, now: number,
): Promise<number> {
  const user = await createUser(db, { companyGuid: company.guid, email: p.email, name: p.name?.slice(0, 200), role: p.role, externalId: p.externalId });
  await recordAudit(db, {
    companyId: company.id, actor: { operator: 'upstream' }, action: 'user.created', targetType: 'user', targetId: user.guid,
    details: { email: p.email, role: p.role, external_id: p.externalId, via: 'upstream sign-in' },
  }, now);
  return user.id;
}
