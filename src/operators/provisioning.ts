// The operator's commands, one layer under the CLI and the operator API (/operator/v1): create,
// list, get and change companies, their users, apps and gateways, each change audited with the
// operator ("operator:cli" or "operator:<key name>").
//
// Idempotency on the SaaS's own ids: creating a company with an `external_id` that exists
// answers that company (created: false), and so does a user with an `external_id` that exists
// in the same company — the same external id in another company is another person (tenancy).
// Parallel retries create one object: the unique indexes decide, the loser reads the winner's.
import { z } from 'zod';
import { recordAudit, type OperatorActor } from '../audit/audit.js';
import { recordOperatorAudit } from '../audit/operator-audit.js';
import { getApp, listApps, listGateways, type AppDetails, type GatewaySummary } from '../clients/client-queries.js';
import { createApp, createGateway, type CreatedClient, type NewApp } from '../clients/clients.js';
import { rotateClientSecret, rotateWebhookSecret } from '../clients/rotate-secret.js';
import { updateApp, type AppChange } from '../clients/update-app.js';
import { updateUser, type MembershipDeps, type UserChange } from '../companies/membership.js';
import { createUser, externalIdSchema, findCompanyByGuid, findUserByGuid, type NewUser, type Role, type User } from '../companies/users.js';
import { isUniqueViolation, type Database, type Executor } from '../db/database.js';
import { uuid } from '../shared/crypto.js';
import { AppError, notFound } from '../shared/errors.js';
import { displayName, validate } from '../shared/validation.js';

export interface OperatorDeps extends MembershipDeps {
  kek: Buffer;
}

// ---- companies ----------------------------------------------------------------------------

export interface OperatorCompany {
  id: number;
  guid: string;
  name: string;
  externalId: string | null;
  createdAt: number;
  users: number;
}

const COMPANY_SELECT = `SELECT c.id, c.guid, c.name, c.external_id, c.created_at,
  (SELECT COUNT(*) FROM users u WHERE u.company_id = c.id) AS users FROM companies c`;

type CompanyRow = { id: number; guid: string; name: string; external_id: string | null; created_at: number; users: number };
const toCompany = (r: CompanyRow): OperatorCompany => ({
  id: r.id, guid: r.guid, name: r.name, externalId: r.external_id, createdAt: Number(r.created_at), users: Number(r.users),
});

export async function listOperatorCompanies(db: Executor): Promise<OperatorCompany[]> {
  return (await db.all<CompanyRow>(`${COMPANY_SELECT} ORDER BY c.created_at, c.id`)).map(toCompany);
}

export async function getOperatorCompany(db: Executor, ref: { guid: string } | { externalId: string }): Promise<OperatorCompany | undefined> {
  const row = 'guid' in ref
    ? await db.get<CompanyRow>(`${COMPANY_SELECT} WHERE c.guid = ?`, [ref.guid])
    : await db.get<CompanyRow>(`${COMPANY_SELECT} WHERE c.external_id = ?`, [ref.externalId]);
  return row && toCompany(row);
}

const newCompanySchema = z.object({ name: displayName(), externalId: externalIdSchema.optional() });

export async function provisionCompany(
  db: Database, actor: OperatorActor, raw: { name: string; externalId?: string },
): Promise<{ company: OperatorCompany; created: boolean }> {
  const input = validate(newCompanySchema, raw);
  const existing = async () => (input.externalId ? getOperatorCompany(db, { externalId: input.externalId }) : undefined);
  const found = await existing();
  if (found) return { company: found, created: false };
  const guid = uuid();
  try {
    await db.transaction(async (tx) => {
      const now = Date.now();
      await tx.run('INSERT INTO companies (guid, name, created_at, external_id) VALUES (?, ?, ?, ?)', [guid, input.name, now, input.externalId ?? null]);
      await recordOperatorAudit(tx, { actor, action: 'company.created', targetType: 'company', targetId: guid, details: { name: input.name, external_id: input.externalId ?? null } }, now);
    });
  } catch (err) {
    // A parallel retry with the same external id won: answer its company.
    const winner = isUniqueViolation(err) ? await existing() : undefined;
    if (winner) return { company: winner, created: false };
    throw err;
  }
  return { company: (await getOperatorCompany(db, { guid }))!, created: true };
}

// ---- users --------------------------------------------------------------------------------

export interface OperatorUser {
  guid: string;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  externalId: string | null;
  companyGuid: string;
  createdAt: number;
}

const USER_SELECT = `SELECT u.guid, u.email, u.name, u.role, u.active, u.external_id, u.created_at, c.guid AS company_guid
  FROM users u JOIN companies c ON c.id = u.company_id`;
type UserRow = { guid: string; email: string; name: string; role: Role; active: number; external_id: string | null; created_at: number; company_guid: string };
const toUser = (r: UserRow): OperatorUser => ({
  guid: r.guid, email: r.email, name: r.name, role: r.role, active: Number(r.active) === 1, externalId: r.external_id,
  companyGuid: r.company_guid, createdAt: Number(r.created_at),
});

export async function listOperatorUsers(db: Executor, companyGuid: string): Promise<OperatorUser[]> {
  const company = await findCompanyByGuid(db, companyGuid);
  if (!company) throw notFound(`Company ${companyGuid}`);
  return (await db.all<UserRow>(`${USER_SELECT} WHERE u.company_id = ? ORDER BY u.email`, [company.id])).map(toUser);
}

export async function getOperatorUser(db: Executor, guid: string): Promise<OperatorUser | undefined> {
  const row = await db.get<UserRow>(`${USER_SELECT} WHERE u.guid = ?`, [guid]);
  return row && toUser(row);
}

async function userByExternalId(db: Executor, companyGuid: string, externalId: string): Promise<OperatorUser | undefined> {
  const row = await db.get<UserRow>(`${USER_SELECT} WHERE c.guid = ? AND u.external_id = ?`, [companyGuid, externalId]);
  return row && toUser(row);
}

export async function provisionUser(db: Database, actor: OperatorActor, input: NewUser): Promise<{ user: OperatorUser; created: boolean }> {
  const externalId = input.externalId?.trim();
  const existing = async () => (externalId ? userByExternalId(db, input.companyGuid, externalId) : undefined);
  const found = await existing();
  if (found) return { user: found, created: false };
  let created: User;
  try {
    created = await createUser(db, input);
  } catch (err) {
    // A parallel retry with the same external id won — seen as the unique index refusing, or
    // as the e-mail being taken (409) by the winner's row: answer its user.
    const lost = isUniqueViolation(err) || (err instanceof AppError && err.status === 409);
    const winner = lost ? await existing() : undefined;
    if (winner) return { user: winner, created: false };
    throw err;
  }
  await recordAudit(db, {
    companyId: created.company.id, actor, action: 'user.created', targetType: 'user', targetId: created.guid,
    details: { email: created.email, role: created.role, external_id: externalId ?? null },
  });
  return { user: (await getOperatorUser(db, created.guid))!, created: true };
}

/** Role and active flag through the membership commands (the authorization model's demotion rules). */
export async function changeUser(deps: OperatorDeps, actor: OperatorActor, guid: string, change: Pick<UserChange, 'role' | 'active'>) {
  const user = await findUserByGuid(deps.db, guid);
  if (!user) throw notFound(`User ${guid}`);
  const result = await updateUser(deps, user, change, actor);
  await recordAudit(deps.db, {
    companyId: user.company.id, actor, action: 'user.updated', targetType: 'user', targetId: user.guid,
    details: { ...change, revoked_tokens: result.revokedTokens },
  });
  return { user: (await getOperatorUser(deps.db, guid))!, revokedTokens: result.revokedTokens };
}

// ---- apps and gateways --------------------------------------------------------------------

export async function provisionApp(deps: Pick<OperatorDeps, 'db' | 'kek'>, actor: OperatorActor, input: NewApp): Promise<CreatedClient> {
  const created = await createApp(deps.db, deps.kek, input);
  await recordOperatorAudit(deps.db, { actor, action: 'app.created', targetType: 'app', targetId: created.client_id, details: { name: input.name } });
  return created;
}

export async function changeApp(deps: Pick<OperatorDeps, 'db' | 'kek'>, actor: OperatorActor, clientId: string, change: AppChange) {
  const result = await updateApp(deps.db, deps.kek, clientId, change);
  await recordOperatorAudit(deps.db, { actor, action: 'app.updated', targetType: 'app', targetId: clientId, details: { fields: Object.keys(change) } });
  return result;
}

export async function provisionGateway(db: Database, actor: OperatorActor, name: string) {
  const created = await createGateway(db, name);
  await recordOperatorAudit(db, { actor, action: 'gateway.created', targetType: 'gateway', targetId: created.client_id, details: { name } });
  return created;
}

export async function getGateway(db: Executor, clientId: string): Promise<GatewaySummary> {
  const row = await db.get<{ client_id: string; name: string; created_at: number }>(
    "SELECT client_id, name, created_at FROM clients WHERE client_id = ? AND kind = 'gateway'", [clientId],
  );
  if (!row) throw notFound(`Gateway ${clientId}`);
  return { clientId: row.client_id, name: row.name, createdAt: Number(row.created_at) };
}

export async function renameGateway(db: Database, actor: OperatorActor, clientId: string, rawName: string): Promise<GatewaySummary> {
  const { name } = validate(z.object({ name: displayName() }), { name: rawName });
  await db.transaction(async (tx) => {
    const row = await tx.get<{ metadata: string }>("SELECT metadata FROM clients WHERE client_id = ? AND kind = 'gateway'", [clientId]);
    if (!row) throw notFound(`Gateway ${clientId}`);
    const metadata = { ...(JSON.parse(row.metadata) as Record<string, unknown>), client_name: name };
    await tx.run('UPDATE clients SET name = ?, metadata = ? WHERE client_id = ?', [name, JSON.stringify(metadata), clientId]);
    await recordOperatorAudit(tx, { actor, action: 'gateway.updated', targetType: 'gateway', targetId: clientId, details: { name } });
  });
  return getGateway(db, clientId);
}

export { getApp, listApps, listGateways, rotateClientSecret, rotateWebhookSecret, type AppDetails };
