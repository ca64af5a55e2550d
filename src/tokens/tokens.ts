// Access tokens (personal access tokens) and legacy API keys of a company: create (the value is
// returned once), list, revoke, and introspect. Stored as SHA-256 plus the last four characters.
// A token works only while its technical contact (the admin who created it) is an active admin.
import type { Database, Executor } from '../db/database.js';
import { recordAudit } from '../audit/audit.js';
import type { Role, User } from '../companies/users.js';
import { AppError, badRequest, notFound } from '../shared/errors.js';
import { mintBounds } from '../authz/policy.js';
import { DEVELOPER_TOOLS_SCOPES } from '../oidc/scopes.js';
import { sha256, uuid } from '../shared/crypto.js';
import { generateToken, hasOwnPrefix, parseToken, type TokenKind } from './format.js';

export interface TokenRecord {
  id: string;
  kind: TokenKind;
  name: string;
  last4: string;
  scopes: string[];
  createdAt: number;
  createdBy: { guid: string; email: string; name: string };
  expiresAt: number | null;
  lastUsedAt: number | null;
}

interface TokenRow {
  id: string;
  kind: TokenKind;
  name: string;
  last4: string;
  scopes: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  user_guid: string;
  user_email: string;
  user_name: string;
}

const SELECT = `SELECT t.id, t.kind, t.name, t.last4, t.scopes, t.created_at, t.expires_at, t.last_used_at,
  u.guid AS user_guid, u.email AS user_email, u.name AS user_name
  FROM access_tokens t JOIN users u ON u.id = t.user_id`;

const toRecord = (r: TokenRow): TokenRecord => ({
  id: r.id, kind: r.kind, name: r.name, last4: r.last4, scopes: r.scopes ? r.scopes.split(' ') : [],
  createdAt: r.created_at, createdBy: { guid: r.user_guid, email: r.user_email, name: r.user_name },
  expiresAt: r.expires_at, lastUsedAt: r.last_used_at,
});

export interface NewToken {
  kind: TokenKind;
  name: string;
  scopes: string[];
  expiresAt: number | null;
}

/**
 * The bounds every new token is held to, whoever creates it (the page, the API, the CLI): API keys
 * never carry developer_tools:*; a token created with a bearer token stays within its scopes and
 * expiry (no scopes asked: the default scopes it holds; no expiry asked: its expiry).
 */
export function boundNewToken(
  kind: TokenKind,
  input: { name: string; scopes: string[]; scopesGiven?: boolean; expiresAt: number | null },
  minting?: { scopes: string[]; expiresAt: number | null },
  limits: { maxLifetimeDays?: number | undefined } = {},
): NewToken {
  let scopes = input.scopes;
  if (kind === 'api_key' && scopes.some((s) => DEVELOPER_TOOLS_SCOPES.includes(s))) {
    throw badRequest('scopes: legacy API keys cannot carry developer_tools scopes; create an access token');
  }
  const lifetime = lifetimeProblem(input.expiresAt, limits.maxLifetimeDays);
  if (lifetime) throw badRequest(`expires_at: ${lifetime}`);
  if (!minting) return { kind, name: input.name, scopes, expiresAt: input.expiresAt };
  if (input.scopesGiven === false) scopes = scopes.filter((s) => minting.scopes.includes(s));
  if (scopes.length === 0) {
    throw new AppError(403, 'insufficient_scope', 'The token you authenticate with holds none of the default scopes: name the scopes (a subset of its own).');
  }
  const bounded = mintBounds(minting, { scopes, expiresAt: input.expiresAt });
  if (!bounded.ok) {
    if (bounded.field === 'scopes') throw new AppError(403, 'insufficient_scope', `scopes: ${bounded.message}`);
    throw badRequest(`expires_at: ${bounded.message}`);
  }
  return { kind, name: input.name, scopes, expiresAt: bounded.expiresAt };
}

/** Why an expiry breaks the operator's `tokens.maxLifetimeDays` (none set: any expiry, or none). */
export function lifetimeProblem(expiresAt: number | null, maxLifetimeDays: number | undefined, now = Date.now()): string | undefined {
  if (!maxLifetimeDays) return undefined;
  if (expiresAt === null) return `is required: tokens expire within ${maxLifetimeDays} days here`;
  // A date-only expiry means the end of that day: allow the whole last day.
  if (expiresAt > now + (maxLifetimeDays + 1) * 24 * 3600 * 1000) return `must be within ${maxLifetimeDays} days`;
  return undefined;
}

export async function createToken(db: Database, admin: User, input: NewToken): Promise<{ record: TokenRecord; token: string }> {
  const token = generateToken(input.kind);
  const id = uuid();
  const now = Date.now();
  await db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO access_tokens (id, kind, company_id, user_id, name, scopes, token_hash, last4, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, input.kind, admin.company.id, admin.id, input.name, input.scopes.join(' '), sha256(token), token.slice(-4), now, input.expiresAt],
    );
    await recordAudit(tx, {
      companyId: admin.company.id, actor: admin, action: `${input.kind}.created`, targetType: input.kind, targetId: id,
      details: { name: input.name, scopes: input.scopes, expires_at: input.expiresAt && new Date(input.expiresAt).toISOString() },
    }, now);
  });
  return {
    token,
    record: {
      id, kind: input.kind, name: input.name, last4: token.slice(-4), scopes: input.scopes, createdAt: now,
      createdBy: { guid: admin.guid, email: admin.email, name: admin.name }, expiresAt: input.expiresAt, lastUsedAt: null,
    },
  };
}

/** Live (not revoked) tokens of one kind of the admin's company, newest first. */
export async function listTokens(db: Executor, companyId: number, kind: TokenKind): Promise<TokenRecord[]> {
  const rows = await db.all<TokenRow>(
    `${SELECT} WHERE t.company_id = ? AND t.kind = ? AND t.revoked_at IS NULL ORDER BY t.created_at DESC, t.id`,
    [companyId, kind],
  );
  return rows.map(toRecord);
}

export async function findToken(db: Executor, companyId: number, kind: TokenKind, id: string): Promise<TokenRecord | undefined> {
  const row = await db.get<TokenRow>(
    `${SELECT} WHERE t.company_id = ? AND t.kind = ? AND t.id = ? AND t.revoked_at IS NULL`,
    [companyId, kind, id],
  );
  return row && toRecord(row);
}

export async function revokeToken(db: Database, admin: User, kind: TokenKind, id: string): Promise<{ id: string; revoked_at: string }> {
  const now = Date.now();
  await db.transaction(async (tx) => {
    const { changes } = await tx.run(
      'UPDATE access_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND company_id = ? AND kind = ? AND revoked_at IS NULL',
      [now, admin.id, id, admin.company.id, kind],
    );
    if (changes === 0) throw notFound(kind === 'api_key' ? 'The API key' : 'The access token');
    await recordAudit(tx, { companyId: admin.company.id, actor: admin, action: `${kind}.revoked`, targetType: kind, targetId: id }, now);
  });
  return { id, revoked_at: new Date(now).toISOString() };
}

export interface ActiveToken {
  id: string;
  kind: TokenKind;
  scopes: string[];
  userGuid: string;
  companyGuid: string;
  userId: number;
  createdAt: number;
  expiresAt: number | null;
  /** The technical contact (the admin who created it), as of this lookup. */
  owner: User;
}

/**
 * The one lookup of a token value, shared by introspection and the admin API's bearer check:
 * undefined when malformed (rejected without a statement), unknown, revoked or expired; else
 * the token with its owner, read in the same statement. Whether the owner may use it is the
 * caller's rule (see resolveToken).
 */
export async function lookupToken(db: Executor, value: string): Promise<ActiveToken | undefined> {
  if (!parseToken(value)) return undefined;
  const row = await db.get<{
    id: string; kind: TokenKind; scopes: string; created_at: number; expires_at: number | null; revoked_at: number | null;
    user_id: number; user_guid: string; email: string; name: string; active: number; role: Role;
    company_id: number; company_guid: string; company_name: string;
  }>(
    `SELECT t.id, t.kind, t.scopes, t.created_at, t.expires_at, t.revoked_at,
       u.id AS user_id, u.guid AS user_guid, u.email, u.name, u.active, u.role,
       c.id AS company_id, c.guid AS company_guid, c.name AS company_name
     FROM access_tokens t JOIN users u ON u.id = t.user_id JOIN companies c ON c.id = t.company_id
     WHERE t.token_hash = ?`,
    [sha256(value)],
  );
  if (!row || row.revoked_at !== null) return undefined;
  if (row.expires_at !== null && row.expires_at <= Date.now()) return undefined;
  return {
    id: row.id, kind: row.kind, scopes: row.scopes ? row.scopes.split(' ') : [], userGuid: row.user_guid,
    companyGuid: row.company_guid, userId: row.user_id, createdAt: row.created_at, expiresAt: row.expires_at,
    owner: {
      id: row.user_id, guid: row.user_guid, email: row.email, name: row.name, role: row.role, active: row.active === 1,
      company: { id: row.company_id, guid: row.company_guid, name: row.company_name },
    },
  };
}

/** A token works only while its technical contact is an active admin. */
export const ownerMayUse = (t: ActiveToken) => t.owner.active && t.owner.role === 'admin';

/** The live token with this value whose owner may use it, or undefined. One statement. */
export async function resolveToken(db: Executor, value: string): Promise<ActiveToken | undefined> {
  const token = await lookupToken(db, value);
  return token && ownerMayUse(token) ? token : undefined;
}

/** RFC 7662 answers for our tokens, through the provider's introspection endpoint (see oidc/introspection.ts). */
export function ownTokenIntrospector(db: Database, issuer: string) {
  return {
    isOwnToken: hasOwnPrefix,
    async introspect(value: string): Promise<{ answer: Record<string, unknown>; id?: string }> {
      const token = await resolveToken(db, value);
      if (!token) return { answer: { active: false } };
      return {
        id: token.id,
        answer: {
          active: true,
          scope: token.scopes.join(' '),
          sub: token.userGuid,
          iat: Math.floor(token.createdAt / 1000),
          ...(token.expiresAt !== null ? { exp: Math.floor(token.expiresAt / 1000) } : {}),
          iss: issuer,
          token_type: 'Bearer',
          company_guid: token.companyGuid,
          auth_type: token.kind,
        },
      };
    },
  };
}
