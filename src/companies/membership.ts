// Changes to a person's standing in their company, with what they must end (DESIGN.md, "Who
// ends what"), each one transaction:
//   setRole         a lower role revokes the person's authorizations of apps that exceed what
//                   the new role may grant; leaving the admin role ends their Developer Tools
//                   sessions (their access tokens stop working while they are not an admin).
//   deactivateUser  every authorization of the person ends, their sessions (end-user and
//                   Developer Tools) end; company grants they gave stay (they belong to the
//                   company; Connected Apps flags them).
//   reactivateUser  nothing comes back but the account: apps must be authorized again.
//   setPassword     a credential change: Developer Tools sessions end.
import type { Database } from '../db/database.js';
import { withinRole, type RoleBounds } from '../authz/policy.js';
import { revokeConsentsOf } from '../ledger/authorizations.js';
import type { LedgerEffects } from '../ledger/effects.js';
import type { Revoker } from '../ledger/revoker.js';
import { deleteSessionsOf } from '../oidc/payload-store.js';
import { purgeRevokedGrants } from '../ledger/grant-purge.js';
import { hashPassword } from '../shared/crypto.js';
import { validate } from '../shared/validation.js';
import { findUser, password as passwordSchema, ROLES, type Role, type User, type UserRef } from './users.js';
import { z } from 'zod';

export interface MembershipDeps {
  db: Database;
  effects: LedgerEffects;
  roleBounds: RoleBounds;
}

const RANK: Record<Role, number> = { employee: 0, manager: 1, admin: 2 };

export async function setRole(deps: MembershipDeps, user: User, role: Role, actor: Revoker | null = null): Promise<{ revokedAuthorizations: number; revokedTokens: number }> {
  const now = Date.now();
  const out = await deps.db.transaction(async (tx) => {
    await tx.run('UPDATE users SET role = ? WHERE id = ?', [role, user.id]);
    if (role !== 'admin') await tx.run('DELETE FROM admin_sessions WHERE user_id = ?', [user.id]);
    if (RANK[role] >= RANK[user.role]) return { ended: 0, webhooks: 0, tokens: 0 };
    return revokeConsentsOf(tx, user, (scopes) => !withinRole(deps.roleBounds, role, scopes), actor, now, `role_changed_to_${role}`);
  });
  deps.effects.personAuthorizationsEnded({ companyGuid: user.company.guid, userGuid: user.guid, ended: out.ended, webhookQueued: out.webhooks > 0 });
  return { revokedAuthorizations: out.ended, revokedTokens: out.tokens };
}

export async function deactivateUser(deps: MembershipDeps, user: User, actor: Revoker | null = null): Promise<{ revokedAuthorizations: number; revokedTokens: number }> {
  const now = Date.now();
  const out = await deps.db.transaction(async (tx) => {
    await tx.run('UPDATE users SET active = 0 WHERE id = ?', [user.id]);
    await tx.run('DELETE FROM admin_sessions WHERE user_id = ?', [user.id]);
    await deleteSessionsOf(tx, user.guid);
    return revokeConsentsOf(tx, user, 'all', actor, now, 'deactivated');
  });
  deps.effects.personAuthorizationsEnded({ companyGuid: user.company.guid, userGuid: user.guid, ended: out.ended, webhookQueued: out.webhooks > 0 });
  return { revokedAuthorizations: out.ended, revokedTokens: out.tokens };
}

export async function reactivateUser(deps: Pick<MembershipDeps, 'db'>, user: User): Promise<void> {
  await deps.db.run('UPDATE users SET active = 1 WHERE id = ?', [user.id]);
}

/** Returns how many Developer Tools sessions ended. */
export async function setPassword(deps: Pick<MembershipDeps, 'db'>, user: User, password: string): Promise<{ endedAdminSessions: number }> {
  const hash = await hashPassword(validate(z.object({ password: passwordSchema }), { password }).password);
  return deps.db.transaction(async (tx) => {
    await tx.run('UPDATE users SET password_hash = ?, must_change_password = 0 WHERE id = ?', [hash, user.id]);
    await deleteSessionsOf(tx, user.guid);
    return { endedAdminSessions: (await tx.run('DELETE FROM admin_sessions WHERE user_id = ?', [user.id])).changes };
  });
}

export interface UserChange {
  role?: Role;
  active?: boolean;
  password?: string;
}

const userChangeSchema = z.object({ role: z.enum(ROLES).optional(), active: z.boolean().optional(), password: passwordSchema.optional() });

/**
 * The operator's one command behind `user deactivate|activate|set-role|set-password` (CLI and
 * operator API): each change through the command above that owns its consequences. Tokens of
 * revoked grants are purged before it returns (the CLI has no background purger).
 */
export async function updateUser(
  deps: MembershipDeps, target: UserRef | User, raw: UserChange, actor: Revoker | null = { operator: 'cli' },
): Promise<{ user: User; revokedTokens: number; endedAdminSessions: number }> {
  const change = validate(userChangeSchema, raw);
  let user = 'company' in target ? target : await findUser(deps.db, target);
  let revokedTokens = 0;
  let endedAdminSessions = 0;
  if (change.password !== undefined) endedAdminSessions += (await setPassword(deps, user, change.password)).endedAdminSessions;
  if (change.role !== undefined && change.role !== user.role) {
    revokedTokens += (await setRole(deps, user, change.role, actor)).revokedTokens;
    user = { ...user, role: change.role };
  }
  if (change.active === false && user.active) {
    revokedTokens += (await deactivateUser(deps, user, actor)).revokedTokens;
    user = { ...user, active: false };
  } else if (change.active === true && !user.active) {
    await reactivateUser(deps, user);
    user = { ...user, active: true };
  }
  if (revokedTokens > 0) await purgeRevokedGrants(deps.db);
  return { user, revokedTokens, endedAdminSessions };
}

/**
 * A sign-out that reaches every session: the person's end-user sessions at the authorization
 * server and their Developer Tools sessions end; apps keep what was authorized (upstream
 * back-channel logout). Returns how many Developer Tools sessions ended.
 */
export async function endSessionsOf(db: Database, user: User): Promise<number> {
  return db.transaction(async (tx) => {
    await deleteSessionsOf(tx, user.guid);
    return (await tx.run('DELETE FROM admin_sessions WHERE user_id = ?', [user.id])).changes;
  });
}
