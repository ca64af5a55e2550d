// Companies and their users: queries and commands. Users sign in with e-mail and password
// (scrypt); only active admins reach Developer Tools.
import { z } from 'zod';
import type { Database, Executor } from '../db/database.js';
import { conflict, notFound } from '../shared/errors.js';
import { displayName, UNPRINTABLE, validate } from '../shared/validation.js';
import { burnPasswordCheck, hashPassword, randomSecret, uuid, verifyPassword } from '../shared/crypto.js';

export const ROLES = ['admin', 'manager', 'employee'] as const;
export type Role = (typeof ROLES)[number];

export interface Company {
  id: number;
  guid: string;
  name: string;
}

export interface User {
  id: number;
  guid: string;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  company: Company;
  /** The generated first-start admin: the next sign-in asks for a new password. */
  mustChangePassword?: boolean;
}

interface UserRow {
  id: number;
  guid: string;
  email: string;
  name: string;
  role: Role;
  active: number;
  must_change_password: number;
  password_hash: string;
  company_id: number;
  company_guid: string;
  company_name: string;
}

const USER_SELECT = `SELECT u.id, u.guid, u.email, u.name, u.role, u.active, u.must_change_password, u.password_hash,
  c.id AS company_id, c.guid AS company_guid, c.name AS company_name
  FROM users u JOIN companies c ON c.id = u.company_id`;

function toUser(row: UserRow): User {
  return {
    id: row.id, guid: row.guid, email: row.email, name: row.name, role: row.role, active: row.active === 1,
    company: { id: row.company_id, guid: row.company_guid, name: row.company_name },
    ...(row.must_change_password === 1 ? { mustChangePassword: true } : {}),
  };
}

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

export async function createCompany(db: Database, name: string): Promise<Company> {
  const valid = validate(z.object({ name: displayName() }), { name }).name;
  const guid = uuid();
  const { rows } = await db.run<{ id: number }>(
    'INSERT INTO companies (guid, name, created_at) VALUES (?, ?, ?) RETURNING id',
    [guid, valid, Date.now()],
  );
  return { id: rows[0]!.id, guid, name: valid };
}

export async function findCompanyByGuid(db: Executor, guid: string): Promise<Company | undefined> {
  return db.get<Company>('SELECT id, guid, name FROM companies WHERE guid = ?', [guid]);
}

export async function countCompanies(db: Executor): Promise<number> {
  const row = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM companies');
  return Number(row?.n ?? 0);
}

export interface NewUser {
  companyGuid: string;
  email: string;
  /** None: a random one nobody knows (the person signs in upstream, or an operator sets one). */
  password?: string;
  role: Role;
  name?: string;
  /** The SaaS's own id of the person, unique within the company (the operator API). */
  externalId?: string;
}

/** The SaaS's own id of a company or a person: printable, at most 200 characters. */
export const externalIdSchema = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters')
  .refine((s) => !UNPRINTABLE.test(s), 'must not contain control characters');

export const MIN_PASSWORD_LENGTH = 8;
// Long enough for any passphrase, short enough that hashing it costs nothing extra.
export const password = z.string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(1000, 'must be at most 1000 characters');

const newUserSchema = z.object({
  companyGuid: z.string(),
  // Deliberately loose (one @, no spaces): the address is a sign-in name, not a mailbox we write to.
  email: z.string().trim().max(320, 'must be at most 320 characters')
    .regex(/^[^\s@]+@[^\s@]+$/, 'must be an e-mail address (name@domain)')
    .refine((s) => !UNPRINTABLE.test(s), 'must not contain control characters'),
  password: password.optional(),
  role: z.enum(ROLES),
  name: displayName().optional(),
  externalId: externalIdSchema.optional(),
});

export async function createUser(db: Database, raw: NewUser): Promise<User> {
  const input = validate(newUserSchema, { ...raw, name: raw.name?.trim() || undefined });
  const company = await findCompanyByGuid(db, input.companyGuid);
  if (!company) throw notFound(`Company ${input.companyGuid}`);
  const email = normaliseEmail(input.email);
  const passwordHash = await hashPassword(input.password ?? randomSecret(32));
  const guid = uuid();
  const name = input.name || email.split('@')[0]!;
  return db.transaction(async (tx) => {
    const taken = await tx.get('SELECT 1 AS x FROM users WHERE company_id = ? AND email = ?', [company.id, email]);
    if (taken) throw conflict(`A user with e-mail ${email} already exists in this company.`);
    // external_id only when given: fixtures of a schema before it (test/authz/upgrade.test.ts) use this too.
    const external = input.externalId === undefined ? { column: '', value: '', params: [] } : { column: ', external_id', value: ', ?', params: [input.externalId] };
    const { rows } = await tx.run<{ id: number }>(
      `INSERT INTO users (guid, company_id, email, name, password_hash, role, active, created_at${external.column})
       VALUES (?, ?, ?, ?, ?, ?, 1, ?${external.value}) RETURNING id`,
      [guid, company.id, email, name, passwordHash, input.role, Date.now(), ...external.params],
    );
    return { id: rows[0]!.id, guid, email, name, role: input.role, active: true, company };
  });
}

export async function findUserByGuid(db: Executor, guid: string): Promise<User | undefined> {
  const row = await db.get<UserRow>(`${USER_SELECT} WHERE u.guid = ?`, [guid]);
  return row && toUser(row);
}

export async function findUserById(db: Executor, id: number): Promise<User | undefined> {
  const row = await db.get<UserRow>(`${USER_SELECT} WHERE u.id = ?`, [id]);
  return row && toUser(row);
}

/** Users with this e-mail, in every company (e-mails are unique per company only). */
export async function findUsersByEmail(db: Executor, email: string, companyGuid?: string): Promise<User[]> {
  const rows = companyGuid
    ? await db.all<UserRow>(`${USER_SELECT} WHERE u.email = ? AND c.guid = ?`, [normaliseEmail(email), companyGuid])
    : await db.all<UserRow>(`${USER_SELECT} WHERE u.email = ? ORDER BY u.id`, [normaliseEmail(email)]);
  return rows.map(toUser);
}

/**
 * Checks e-mail and password. Returns the active users the password opens (normally one);
 * an unknown e-mail costs as much time as a wrong password.
 */
export async function authenticate(db: Executor, email: string, password: string): Promise<User[]> {
  const rows = await db.all<UserRow>(`${USER_SELECT} WHERE u.email = ? AND u.active = 1 ORDER BY u.id`, [normaliseEmail(email)]);
  if (rows.length === 0) {
    await burnPasswordCheck(password);
    return [];
  }
  const matches: User[] = [];
  for (const row of rows) if (await verifyPassword(password, row.password_hash)) matches.push(toUser(row));
  return matches;
}

/** A user as operators name one: by GUID, or by e-mail (and company, when the e-mail is in several). */
export type UserRef = { guid: string } | { email: string; companyGuid?: string };

/** The user a reference names; ambiguous e-mails need a company. */
export async function findUser(db: Executor, ref: UserRef): Promise<User> {
  if ('guid' in ref) {
    const user = await findUserByGuid(db, ref.guid);
    if (!user) throw notFound(`User ${ref.guid}`);
    return user;
  }
  return resolveUser(db, ref.email, ref.companyGuid);
}

/** Resolves "the user with this e-mail" for operator commands; ambiguous e-mails need --company. */
export async function resolveUser(db: Executor, email: string, companyGuid?: string): Promise<User> {
  const users = await findUsersByEmail(db, email, companyGuid);
  if (users.length === 0) throw notFound(`User ${normaliseEmail(email)}`);
  if (users.length > 1) {
    throw conflict(`${normaliseEmail(email)} exists in ${users.length} companies: name one with --company GUID.`);
  }
  return users[0]!;
}

export interface UserSummary {
  guid: string;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  createdAt: number;
}

/** Every user of a company, by e-mail (uq_users_company_email serves the query and its order). */
export async function listUsers(db: Executor, companyGuid: string): Promise<UserSummary[]> {
  const company = await findCompanyByGuid(db, companyGuid);
  if (!company) throw notFound(`Company ${companyGuid}`);
  const rows = await db.all<{ guid: string; email: string; name: string; role: Role; active: number; created_at: number }>(
    'SELECT guid, email, name, role, active, created_at FROM users WHERE company_id = ? ORDER BY email', [company.id],
  );
  return rows.map((r) => ({ guid: r.guid, email: r.email, name: r.name, role: r.role, active: Number(r.active) === 1, createdAt: Number(r.created_at) }));
}

/**
 * The company GUID of a user account (`sub`), for `company_guid` on access tokens. Users never
 * change company, so each process keeps the answers (bounded).
 */
export function companyOfAccountLookup(db: Executor): (accountId: string) => Promise<string | undefined> {
  const known = new Map<string, string>();
  return async (accountId) => {
    const hit = known.get(accountId);
    if (hit) return hit;
    const row = await db.get<{ guid: string }>(
      'SELECT c.guid FROM users u JOIN companies c ON c.id = u.company_id WHERE u.guid = ?',
      [accountId],
    );
    if (row) {
      if (known.size > 100_000) known.clear();
      known.set(accountId, row.guid);
    }
    return row?.guid;
  };
}
