// The scope catalogue of the V2 API, with the plain words the consent page and the Developer
// Tools page use. `openid`, `profile`, `email` and `offline_access` are OpenID Connect's own.
export interface ScopeInfo {
  scope: string;
  description: string;
}

export const SCOPES: readonly ScopeInfo[] = [
  { scope: 'openid', description: 'Confirm who you are' },
  { scope: 'profile', description: 'See your name' },
  { scope: 'email', description: 'See your e-mail address' },
  { scope: 'offline_access', description: 'Keep access while you are away' },
  { scope: 'company:read', description: 'See your company’s details and settings' },
  { scope: 'company:write', description: 'Change your company’s details and settings' },
  { scope: 'locations:read', description: 'See locations, departments and positions' },
  { scope: 'locations:write', description: 'Create and change locations, departments and positions' },
  { scope: 'users:read', description: 'See employees and their profiles' },
  { scope: 'users:write', description: 'Add, change and deactivate employees' },
  { scope: 'schedules:read', description: 'See schedules and shifts' },
  { scope: 'schedules:write', description: 'Create, change and publish schedules and shifts' },
  { scope: 'timepunches:read', description: 'See time punches and timesheets' },
  { scope: 'timepunches:write', description: 'Record and change time punches' },
];

const BY_NAME = new Map(SCOPES.map((s) => [s.scope, s]));
export const SCOPE_NAMES = SCOPES.map((s) => s.scope);
/** Scopes of the V2 API itself (everything but OpenID Connect's). */
export const API_SCOPES = SCOPE_NAMES.filter((s) => s.includes(':'));

export function describeScope(scope: string): string {
  return BY_NAME.get(scope)?.description ?? scope;
}

/** Splits a scope string, keeps known scopes, in catalogue order. */
export function normaliseScopes(scopes: Iterable<string>): string[] {
  const wanted = new Set(scopes);
  return SCOPE_NAMES.filter((s) => wanted.has(s));
}
