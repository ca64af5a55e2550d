// The tables of upstream sign-in (migration Upstream1764930000000), each statement here:
//   upstream_logins   a sign-in in flight, keyed by SHA-256(state): nonce, PKCE verifier, where
//                     to resume; taken once at the callback (DELETE … RETURNING), then — with
//                     the person it signed in — once more by the page that resumes.
//   user_identities   who a person is at the upstream (issuer × sub → user).
//   upstream_sessions the upstream sessions (`sid`) a person signed in with, for back-channel
//                     logout tokens that name a session only.
import type { Executor } from '../db/database.js';
import { sha256 } from '../shared/crypto.js';

/** Where the person was going: an authorization (its interaction) or Developer Tools. */
export type LoginTarget = { kind: 'interaction'; uid: string } | { kind: 'developer-tools'; next: string };

export interface PendingLogin {
  nonce: string;
  codeVerifier: string;
  target: LoginTarget;
}

/** A sign-in has this long to come back from the upstream. */
export const LOGIN_TTL_MS = 10 * 60_000;

export async function savePendingLogin(db: Executor, state: string, login: PendingLogin, now = Date.now()): Promise<void> {
  await db.run(
    'INSERT INTO upstream_logins (id, nonce, code_verifier, target, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
    [sha256(state), login.nonce, login.codeVerifier, JSON.stringify(login.target), now, now + LOGIN_TTL_MS],
  );
}

/** The callback's step: the pending sign-in of `state`, once (a replayed callback finds nothing). */
export async function takePendingLogin(db: Executor, state: string, now = Date.now()): Promise<PendingLogin | undefined> {
  const { rows } = await db.run<{ nonce: string; code_verifier: string; target: string; expires_at: number }>(
    'DELETE FROM upstream_logins WHERE id = ? AND user_guid IS NULL RETURNING nonce, code_verifier, target, expires_at',
    [sha256(state)],
  );
  const row = rows[0];
  if (!row || Number(row.expires_at) <= now) return undefined;
  return { nonce: row.nonce, codeVerifier: row.code_verifier, target: JSON.parse(row.target) as LoginTarget };
}

/** After the callback: who signed in, for the interaction page to take (it alone has the interaction cookie). */
export async function saveSignedIn(db: Executor, state: string, userGuid: string, target: LoginTarget, now = Date.now()): Promise<void> {
  await db.run(
    "INSERT INTO upstream_logins (id, nonce, code_verifier, target, user_guid, created_at, expires_at) VALUES (?, '', '', ?, ?, ?, ?)",
    [sha256(state), JSON.stringify(target), userGuid, now, now + 60_000],
  );
}

export async function takeSignedIn(db: Executor, state: string, now = Date.now()): Promise<{ userGuid: string; target: LoginTarget } | undefined> {
  const { rows } = await db.run<{ user_guid: string; target: string; expires_at: number }>(
    'DELETE FROM upstream_logins WHERE id = ? AND user_guid IS NOT NULL RETURNING user_guid, target, expires_at',
    [sha256(state)],
  );
  const row = rows[0];
  if (!row || Number(row.expires_at) <= now) return undefined;
  return { userGuid: row.user_guid, target: JSON.parse(row.target) as LoginTarget };
}

export async function findIdentity(db: Executor, issuer: string, subject: string): Promise<number | undefined> {
  const row = await db.get<{ user_id: number }>('SELECT user_id FROM user_identities WHERE issuer = ? AND subject = ?', [issuer, subject]);
  return row?.user_id;
}

export async function linkIdentity(db: Executor, userId: number, issuer: string, subject: string, now = Date.now()): Promise<void> {
  await db.run(
    'INSERT INTO user_identities (user_id, issuer, subject, created_at, last_sign_in_at) VALUES (?, ?, ?, ?, ?)',
    [userId, issuer, subject, now, now],
  );
}

export async function touchIdentity(db: Executor, issuer: string, subject: string, now = Date.now()): Promise<void> {
  await db.run('UPDATE user_identities SET last_sign_in_at = ? WHERE issuer = ? AND subject = ?', [now, issuer, subject]);
}

export async function recordUpstreamSession(db: Executor, issuer: string, sid: string, userId: number, expiresAt: number): Promise<void> {
  await db.run('INSERT INTO upstream_sessions (issuer, sid, user_id, expires_at) VALUES (?, ?, ?, ?)', [issuer, sid, userId, expiresAt]);
}

/** The users a back-channel logout token names: by `sub` (their identity), or by the upstream session `sid`. */
export async function usersOfLogout(db: Executor, issuer: string, by: { sub?: string; sid?: string }): Promise<number[]> {
  const ids = new Set<number>();
  if (by.sub) {
    const id = await findIdentity(db, issuer, by.sub);
    if (id !== undefined) ids.add(id);
  }
  if (by.sid) {
    for (const r of await db.all<{ user_id: number }>('SELECT user_id FROM upstream_sessions WHERE issuer = ? AND sid = ?', [issuer, by.sid])) ids.add(Number(r.user_id));
    await db.run('DELETE FROM upstream_sessions WHERE issuer = ? AND sid = ?', [issuer, by.sid]);
  }
  return [...ids];
}

/** Part of the periodic cleanup. */
export async function deleteExpiredUpstreamRows(db: Executor, now = Date.now()): Promise<number> {
  const a = await db.run('DELETE FROM upstream_logins WHERE expires_at < ?', [now]);
  const b = await db.run('DELETE FROM upstream_sessions WHERE expires_at < ?', [now]);
  return a.changes + b.changes;
}
