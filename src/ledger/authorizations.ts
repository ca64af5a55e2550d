// People's authorizations of apps: one remembered consent per user × app (its scopes, when),
// apart from oidc-provider's grants — one per browser session, found by account × client
// (indexed), all of which die with the consent. Commands:
//   grantAuthorization       a person allows an app (the consent page): consent, connection,
//                            company grant when an admin gave company-wide access; audited.
//   revokeUserAuthorization  an admin ends one person's authorization (DELETE
//                            /connected-apps/{id}/users/{guid}); the connection stays while
//                            other people or the company grant remain.
//   revokeConsentsOf         inside a role change or a deactivation: the person's consents that
//                            exceed what they may grant now.
import { recordAudit } from '../audit/audit.js';
import type { Database, Executor } from '../db/database.js';
import type { Company, User } from '../companies/users.js';
import { revokeGrants } from '../oidc/payload-store.js';
import { normaliseScopes, splitScopes } from '../oidc/scopes.js';
import { notFound } from '../shared/errors.js';
import type { LedgerEffects } from './effects.js';
import { liveConnection, settleConnection } from './connections.js';
import { queueRevokedWebhook } from './notify.js';
import { REVOKED_COUNT_KEYS, countRevoked, totalRevoked } from './revoked-counts.js';
import { revokerUserId, type Revoker } from './revoker.js';

export interface Consent {
  id: number;
  userId: number;
  userGuid: string;
  email: string;
  name: string;
  clientId: string;
  scopes: string[];
  grantedAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
}

interface ConsentRow {
  id: number;
  user_id: number;
  user_guid: string;
  email: string;
  name: string;
  client_id: string;
  scopes: string;
  granted_at: number;
  updated_at: number;
  last_used_at: number | null;
}

const SELECT = `SELECT s.id, s.user_id, u.guid AS user_guid, u.email, u.name, s.client_id, s.scopes, s.granted_at,
  s.updated_at, s.last_used_at FROM consents s JOIN users u ON u.id = s.user_id`;

const toConsent = (r: ConsentRow): Consent => ({
  id: r.id, userId: r.user_id, userGuid: r.user_guid, email: r.email, name: r.name, clientId: r.client_id,
  scopes: splitScopes(r.scopes), grantedAt: r.granted_at, updatedAt: r.updated_at, lastUsedAt: r.last_used_at,
});

export async function findConsent(db: Executor, userId: number, clientId: string): Promise<Consent | undefined> {
  const row = await db.get<ConsentRow>(`${SELECT} WHERE s.user_id = ? AND s.client_id = ?`, [userId, clientId]);
  return row && toConsent(row);
}

/**
 * True while the consent exists. A write (a no-op update), not a read: on PostgreSQL it waits for
 * a transaction that is deleting the row and then sees it gone.
 */
export async function stillConsented(db: Executor, consentId: number): Promise<boolean> {
  return (await db.run('UPDATE consents SET updated_at = updated_at WHERE id = ?', [consentId])).changes === 1;
}

/** Every person's live authorization of an app in a company, newest first. */
export async function listAuthorizations(db: Executor, companyId: number, clientId: string): Promise<Consent[]> {
  const rows = await db.all<ConsentRow>(
    `${SELECT} WHERE s.company_id = ? AND s.client_id = ? ORDER BY s.updated_at DESC, s.id DESC`,
    [companyId, clientId],
  );
  return rows.map(toConsent);
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e?.message ?? '');
}

/**
 * A person allows an app `granted` (already bounded by the policy: their role, the app's
 * registration); `companyAccess` (an admin only) sets the connection's company grant — the
 * last writer's scopes win, every grant is audited. One transaction.
 */
export async function grantAuthorization(
  db: Database, input: { user: User; clientId: string; granted: string[]; companyAccess: string[] | null },
): Promise<{ connectionCreated: boolean }> {
  const { user, clientId } = input;
  const attempt = () => db.transaction(async (tx) => {
    const now = Date.now();
    const existing = await tx.get<{ id: number; scopes: string }>('SELECT id, scopes FROM consents WHERE user_id = ? AND client_id = ?', [user.id, clientId]);
    const consentScopes = normaliseScopes([...splitScopes(existing?.scopes), ...input.granted]);
    if (existing) {
      await tx.run('UPDATE consents SET scopes = ?, updated_at = ? WHERE id = ?', [consentScopes.join(' '), now, existing.id]);
    } else {
      await tx.run(
        'INSERT INTO consents (company_id, user_id, client_id, scopes, granted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
        [user.company.id, user.id, clientId, consentScopes.join(' '), now, now],
      );
    }

    const live = await liveConnection(tx, user.company.id, clientId);
    const companyScopes = input.companyAccess?.join(' ') ?? live?.company_access_scopes ?? null;
    const scopes = normaliseScopes([...splitScopes(live?.scopes), ...consentScopes, ...splitScopes(companyScopes)]).join(' ');
    let connectionId: number;
    if (live) {
      connectionId = live.id;
      await tx.run('UPDATE connections SET scopes = ?, connected_by = ?, connected_at = ? WHERE id = ?', [scopes, user.id, now, live.id]);
    } else {
      const { rows } = await tx.run<{ id: number }>(
        'INSERT INTO connections (company_id, client_id, scopes, connected_at, connected_by) VALUES (?, ?, ?, ?, ?) RETURNING id',
        [user.company.id, clientId, scopes, now, user.id],
      );
      connectionId = rows[0]!.id;
      await recordAudit(tx, {
        companyId: user.company.id, actor: user, action: 'connection.created', targetType: 'client', targetId: clientId,
        details: { scopes: consentScopes },
      }, now);
    }
    await recordAudit(tx, {
      companyId: user.company.id, actor: user, action: 'authorization.granted', targetType: 'client', targetId: clientId,
      details: { user_guid: user.guid, scopes: input.granted },
    }, now);
    if (input.companyAccess) {
      await tx.run(
        'UPDATE connections SET company_access_scopes = ?, company_access_granted_by = ?, company_access_granted_at = ? WHERE id = ?',
        [input.companyAccess.join(' '), user.id, now, connectionId],
      );
      await recordAudit(tx, {
        companyId: user.company.id, actor: user, action: 'company_access.granted', targetType: 'client', targetId: clientId,
        details: { scopes: input.companyAccess, previous_scopes: live?.company_access_scopes ? splitScopes(live.company_access_scopes) : null },
      }, now);
    }
    return { connectionCreated: !live };
  });
  try {
    return await attempt();
  } catch (err) {
    // Two first authorizations of one company × app (or of one user × app) at the same moment:
    // the loser runs again and updates the winner's rows.
    if (isUniqueViolation(err)) return attempt();
    throw err;
  }
}

/**
 * Ends the consents of `user` that `ends(scopes)` selects (all of them at a deactivation; those
 * beyond the new role at a demotion), inside the caller's transaction: the consent, every grant
 * of the user for that app, the connection when nothing else holds it; audited, webhooks queued.
 */
export async function revokeConsentsOf(
  tx: Executor, user: User, ends: 'all' | ((scopes: string[]) => boolean), actor: Revoker | null, now: number, reason: string,
): Promise<{ ended: number; webhooks: number; tokens: number }> {
  const consents = (await tx.all<ConsentRow>(`${SELECT} WHERE s.user_id = ?`, [user.id])).map(toConsent);
  let ended = 0;
  let webhooks = 0;
  let tokens = 0;
  for (const consent of consents.filter((c) => ends === 'all' || ends(c.scopes))) {
    await tx.run('DELETE FROM consents WHERE id = ?', [consent.id]);
    const revoked = countRevoked(await revokeGrants(tx, { accountId: user.guid, clientId: consent.clientId }, now));
    tokens += totalRevoked(revoked);
    const connection = await liveConnection(tx, user.company.id, consent.clientId);
    const connectionEnded = connection ? await settleConnection(tx, connection, user.company.id, consent.clientId, now, revokerUserId(actor)) : false;
    await recordAudit(tx, {
      companyId: user.company.id, actor, action: 'authorization.revoked', targetType: 'client', targetId: consent.clientId,
      details: { user_guid: user.guid, email: user.email, reason, scopes: consent.scopes, revoked, connection_ended: connectionEnded },
    }, now);
    if (await queueRevokedWebhook(tx, {
      companyGuid: user.company.guid, clientId: consent.clientId, actor, now,
      revoked: connectionEnded ? 'connection' : 'user_authorization', userGuid: user.guid,
    })) webhooks++;
    ended++;
  }
  // Everything: grants without a consent (from before consents existed) go too.
  if (ends === 'all') tokens += totalRevoked(countRevoked(await revokeGrants(tx, { accountId: user.guid }, now)));
  return { ended, webhooks, tokens };
}

export interface UserAuthorizationRevocation {
  client_id: string;
  user_guid: string;
  revoked_at: string;
  revoked: Record<string, number>;
  /** Nothing else held the connection: the app left Connected Apps. */
  connection_ended: boolean;
}

/** An admin ends one person's authorization of an app (404 when there is none in the company). */
export async function revokeUserAuthorization(
  deps: { db: Database; effects: LedgerEffects }, company: Company, actor: Revoker, clientId: string, userGuid: string,
): Promise<UserAuthorizationRevocation> {
  const now = Date.now();
  const outcome = await deps.db.transaction(async (tx) => {
    const connection = await liveConnection(tx, company.id, clientId);
    if (!connection) throw notFound('The connected app');
    const consent = await tx.get<{ id: number; user_id: number; email: string; scopes: string }>(
      `SELECT s.id, s.user_id, u.email, s.scopes FROM consents s JOIN users u ON u.id = s.user_id
       WHERE s.company_id = ? AND s.client_id = ? AND u.guid = ?`,
      [company.id, clientId, userGuid],
    );
    if (!consent) throw notFound('This person’s authorization of the app');
    await tx.run('DELETE FROM consents WHERE id = ?', [consent.id]);
    const revoked = countRevoked(await revokeGrants(tx, { accountId: userGuid, clientId }, now));
    const ended = await settleConnection(tx, connection, company.id, clientId, now, revokerUserId(actor));
    await recordAudit(tx, {
      companyId: company.id, actor, action: 'authorization.revoked', targetType: 'client', targetId: clientId,
      details: { user_guid: userGuid, email: consent.email, reason: 'revoked_by_admin', scopes: splitScopes(consent.scopes), revoked, connection_ended: ended },
    }, now);
    const webhookQueued = await queueRevokedWebhook(tx, {
      companyGuid: company.guid, clientId, actor, now, revoked: ended ? 'connection' : 'user_authorization', userGuid,
    });
    return { revoked, ended, webhookQueued };
  });
  deps.effects.authorizationRevoked({ companyGuid: company.guid, clientId, revoked: outcome.revoked, webhookQueued: outcome.webhookQueued });
  return { client_id: clientId, user_guid: userGuid, revoked_at: new Date(now).toISOString(), revoked: outcome.revoked, connection_ended: outcome.ended };
}

export { REVOKED_COUNT_KEYS };
