// The scope catalogue, with the plain words the consent page and Developer Tools use:
// - OpenID Connect's own (`openid profile email offline_access`): who the user is;
// - the V2 API scopes (`<resource>:read|write`);
// - `company_access`: company-wide access (client credentials for the company, without a
//   signed-in user) — only an active admin can grant it (see ../authz/policy.ts);
// - `developer_tools:read|write`: the admin API by bearer access token — only access tokens
//   (PATs) carry them, never OAuth apps or API keys.
export type ScopeKind = 'identity' | 'read' | 'write' | 'company' | 'developer_tools';

export interface ScopeInfo {
  scope: string;
  description: string;
  kind: ScopeKind;
}

export const SCOPES: readonly ScopeInfo[] = [
  { scope: 'openid', description: 'Confirm who you are', kind: 'identity' },
  { scope: 'profile', description: 'See your name', kind: 'identity' },
  { scope: 'email', description: 'See your e-mail address', kind: 'identity' },
  { scope: 'offline_access', description: 'Keep access while you are away', kind: 'identity' },
  { scope: 'company:read', description: 'See your company’s details and settings', kind: 'read' },
  { scope: 'company:write', description: 'Change your company’s details and settings', kind: 'write' },
  { scope: 'locations:read', description: 'See locations, departments and positions', kind: 'read' },
  { scope: 'locations:write', description: 'Create and change locations, departments and positions', kind: 'write' },
  { scope: 'users:read', description: 'See employees and their profiles', kind: 'read' },
  { scope: 'users:write', description: 'Add, change and deactivate employees', kind: 'write' },
  { scope: 'schedules:read', description: 'See schedules and shifts', kind: 'read' },
  { scope: 'schedules:write', description: 'Create, change and publish schedules and shifts', kind: 'write' },
  { scope: 'timepunches:read', description: 'See time punches and timesheets', kind: 'read' },
  { scope: 'timepunches:write', description: 'Record and change time punches', kind: 'write' },
  { scope: 'company_access', description: 'Act for the whole company without a signed-in user', kind: 'company' },
  { scope: 'developer_tools:read', description: 'See Developer Tools: access tokens, API keys, connected apps, the audit log', kind: 'developer_tools' },
  { scope: 'developer_tools:write', description: 'Manage Developer Tools: create and revoke tokens and keys, revoke apps', kind: 'developer_tools' },
];

const BY_NAME = new Map(SCOPES.map((s) => [s.scope, s]));
const names = (pred: (s: ScopeInfo) => boolean) => SCOPES.filter(pred).map((s) => s.scope);

export const OIDC_SCOPES = names((s) => s.kind === 'identity');
/** Scopes of the V2 API itself. */
export const API_SCOPES = names((s) => s.kind === 'read' || s.kind === 'write');
export const COMPANY_ACCESS = 'company_access';
export const DEVELOPER_TOOLS_SCOPES = names((s) => s.kind === 'developer_tools');
/** What an access token (PAT) or API key may carry. */
export const TOKEN_SCOPES = [...API_SCOPES, ...DEVELOPER_TOOLS_SCOPES];
/** What OAuth apps may ask for (oidc-provider's `scopes`): never developer_tools:*. */
export const OAUTH_SCOPES = [...OIDC_SCOPES, ...API_SCOPES, COMPANY_ACCESS];
/** Every scope of the catalogue. */
export const SCOPE_NAMES = SCOPES.map((s) => s.scope);

export function describeScope(scope: string): string {
  return BY_NAME.get(scope)?.description ?? scope;
}

export function scopeKind(scope: string): ScopeKind | undefined {
  return BY_NAME.get(scope)?.kind;
}

export const isWriteScope = (scope: string) => scopeKind(scope) === 'write' || scope === 'developer_tools:write';

/** Keeps known scopes, in catalogue order, without duplicates. */
export function normaliseScopes(scopes: Iterable<string>): string[] {
  const wanted = new Set(scopes);
  return SCOPE_NAMES.filter((s) => wanted.has(s));
}

/** A space-separated scope string as a list (empty strings and duplicates dropped). */
export function splitScopes(value: string | null | undefined): string[] {
  return [...new Set((value ?? '').split(' ').filter(Boolean))];
}
