// The authorization model's rules as small pure functions (DESIGN.md, "Authorization model"):
// what a user of a given role may grant an app, what an app may ask for, what a
// client-credentials request may get from the company grant, what a bearer token may do and
// mint. Nothing here reads the database: callers pass what they read, so every rule is tested
// alone and every issuing path applies the same one.
import type { Role } from '../companies/users.js';
import {
  API_SCOPES, COMPANY_ACCESS, DEVELOPER_TOOLS_SCOPES, OAUTH_SCOPES, OIDC_SCOPES, normaliseScopes, scopeKind,
} from '../oidc/scopes.js';

/** Scopes each role may grant (setting `scopes.roles`); `*` means every OAuth scope. */
export type RoleBounds = Record<Role, readonly string[]>;

export const DEFAULT_ROLE_BOUNDS: RoleBounds = {
  admin: ['*'],
  manager: [...OIDC_SCOPES, ...API_SCOPES.filter((s) => s.endsWith(':read')), 'schedules:write', 'timepunches:write'],
  employee: [...OIDC_SCOPES, 'schedules:read', 'timepunches:read', 'timepunches:write', 'locations:read'],
};

/** The set a role may grant. company_access is an admin's alone, whatever the setting says. */
export function roleBound(bounds: RoleBounds, role: Role): Set<string> {
  const listed = bounds[role] ?? [];
  const set = new Set(listed.includes('*') ? OAUTH_SCOPES : listed);
  if (role !== 'admin') set.delete(COMPANY_ACCESS);
  for (const s of DEVELOPER_TOOLS_SCOPES) set.delete(s);
  return set;
}

/** Every scope in `scopes` is within the role's bound. */
export const withinRole = (bounds: RoleBounds, role: Role, scopes: Iterable<string>) => {
  const bound = roleBound(bounds, role);
  for (const s of scopes) if (!bound.has(s)) return false;
  return true;
};

/** What an app registered without a scope list may ask: OIDC + every V2 scope, + company_access with client_credentials. */
export function defaultClientScopes(grantTypes: readonly string[]): string[] {
  return [...OIDC_SCOPES, ...API_SCOPES, ...(grantTypes.includes('client_credentials') ? [COMPANY_ACCESS] : [])];
}

export type WithheldReason =
  /** developer_tools:* — only access tokens made in Developer Tools carry them. */
  | 'developer_tools'
  /** The app is not registered for it. */
  | 'not_registered'
  /** Beyond what the user's role may grant. */
  | 'role'
  /** company_access asked by someone who is not an admin. */
  | 'admin_only'
  /** company_access without any V2 scope to give the company-wide access. */
  | 'needs_api_scopes'
  /** Not a scope of this server. */
  | 'unknown';

export interface ScopeDecision {
  /** OIDC and V2 scopes the user grants the app (their consent and this authorization's grant). */
  granted: string[];
  /** V2 scopes of company-wide access, when an admin asked for company_access; else null. */
  companyAccess: string[] | null;
  /** Asked for, not granted, with the reason (the consent page lists them under "Not included"). */
  withheld: Array<{ scope: string; reason: WithheldReason }>;
}

/**
 * What an authorization request yields: each requested scope is granted, or withheld with a
 * reason — never an error. company_access, granted, becomes company-wide access with the V2
 * scopes granted in the same request.
 */
export function decideScopes(input: {
  requested: readonly string[];
  role: Role;
  registered: readonly string[];
  bounds: RoleBounds;
}): ScopeDecision {
  const bound = roleBound(input.bounds, input.role);
  const registered = new Set(input.registered);
  const granted: string[] = [];
  const withheld: ScopeDecision['withheld'] = [];
  let companyAsked = false;
  for (const scope of new Set(input.requested)) {
    const kind = scopeKind(scope);
    if (!kind) withheld.push({ scope, reason: 'unknown' });
    else if (kind === 'developer_tools') withheld.push({ scope, reason: 'developer_tools' });
    else if (!registered.has(scope)) withheld.push({ scope, reason: 'not_registered' });
    else if (scope === COMPANY_ACCESS) {
      if (input.role === 'admin' && bound.has(COMPANY_ACCESS)) companyAsked = true;
      else withheld.push({ scope, reason: 'admin_only' });
    } else if (!bound.has(scope)) withheld.push({ scope, reason: 'role' });
    else granted.push(scope);
  }
  const ordered = normaliseScopes(granted);
  const companyScopes = ordered.filter((s) => API_SCOPES.includes(s));
  if (companyAsked && companyScopes.length === 0) withheld.push({ scope: COMPANY_ACCESS, reason: 'needs_api_scopes' });
  return {
    granted: ordered,
    companyAccess: companyAsked && companyScopes.length ? companyScopes : null,
    withheld,
  };
}

export type ClientCredentialsDecision =
  | { ok: true; scopes: string[] }
  | { ok: false; error: 'unauthorized_client' | 'invalid_scope'; message: string };

/**
 * A client-credentials request for a company: needs the company grant; its scopes must be a
 * subset of it (none asked: all of it).
 */
export function decideClientCredentials(requested: readonly string[], companyGrant: readonly string[] | undefined): ClientCredentialsDecision {
  if (!companyGrant) {
    return {
      ok: false, error: 'unauthorized_client',
      message: 'the app has no company-wide access to this company: an admin of the company must grant it (authorize with the company_access scope)',
    };
  }
  if (requested.length === 0) return { ok: true, scopes: [...companyGrant] };
  const allowed = new Set(companyGrant);
  const beyond = requested.filter((s) => !allowed.has(s));
  if (beyond.length) {
    return { ok: false, error: 'invalid_scope', message: `beyond the company's grant: ${beyond.join(' ')} (granted: ${companyGrant.join(' ') || 'none'})` };
  }
  return { ok: true, scopes: normaliseScopes(requested) };
}

/** A client-credentials token is usable while its scopes stay within the company grant. */
export function withinGrant(tokenScopes: readonly string[], companyGrant: readonly string[]): boolean {
  const allowed = new Set(companyGrant);
  return tokenScopes.every((s) => allowed.has(s));
}

/** The admin API by bearer token: reading needs developer_tools:read (or write), anything else developer_tools:write. */
export function bearerMay(method: string, tokenScopes: readonly string[]): { ok: true } | { ok: false; needed: string } {
  const safe = method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
  if (tokenScopes.includes('developer_tools:write')) return { ok: true };
  if (safe && tokenScopes.includes('developer_tools:read')) return { ok: true };
  return { ok: false, needed: safe ? 'developer_tools:read' : 'developer_tools:write' };
}

/**
 * A token minted with a bearer token stays within it: scopes ⊆ the minting token's, expiry no
 * later than it (none given: the minting token's own expiry).
 */
export function mintBounds(
  minting: { scopes: readonly string[]; expiresAt: number | null },
  wanted: { scopes: readonly string[]; expiresAt: number | null },
): { ok: true; expiresAt: number | null } | { ok: false; field: 'scopes' | 'expires_at'; message: string } {
  const mine = new Set(minting.scopes);
  // developer_tools:write covers developer_tools:read, as it does for the admin API itself.
  if (mine.has('developer_tools:write')) mine.add('developer_tools:read');
  const beyond = wanted.scopes.filter((s) => !mine.has(s));
  if (beyond.length) {
    return { ok: false, field: 'scopes', message: `beyond the scopes of the token you authenticate with: ${beyond.join(' ')}` };
  }
  if (minting.expiresAt === null) return { ok: true, expiresAt: wanted.expiresAt };
  if (wanted.expiresAt === null) return { ok: true, expiresAt: minting.expiresAt };
  if (wanted.expiresAt > minting.expiresAt) {
    return { ok: false, field: 'expires_at', message: `must not be later than the token you authenticate with (${new Date(minting.expiresAt).toISOString()})` };
  }
  return { ok: true, expiresAt: wanted.expiresAt };
}
