// The authorization model's rules, alone (src/authz/policy.ts): what each role may grant, what
// is withheld and why, client-credentials bounds, bearer rights and minting bounds.
import { describe, expect, test } from '@jest/globals';
import {
  DEFAULT_ROLE_BOUNDS, bearerMay, decideClientCredentials, decideScopes, defaultClientScopes, mintBounds, roleBound, withinGrant, withinRole,
} from '../../src/authz/policy.js';
import { API_SCOPES, OIDC_SCOPES } from '../../src/oidc/scopes.js';

const everything = defaultClientScopes(['authorization_code', 'client_credentials']);

describe('role bounds', () => {
  test('an employee may grant their own data, a manager every read and two writes, an admin everything', () => {
    expect([...roleBound(DEFAULT_ROLE_BOUNDS, 'employee')].sort()).toEqual(
      [...OIDC_SCOPES, 'schedules:read', 'timepunches:read', 'timepunches:write', 'locations:read'].sort(),
    );
    const manager = roleBound(DEFAULT_ROLE_BOUNDS, 'manager');
    for (const s of API_SCOPES.filter((x) => x.endsWith(':read'))) expect(manager.has(s)).toBe(true);
    expect(manager.has('schedules:write')).toBe(true);
    expect(manager.has('users:write')).toBe(false);
    expect(manager.has('company_access')).toBe(false);
    const admin = roleBound(DEFAULT_ROLE_BOUNDS, 'admin');
    for (const s of [...API_SCOPES, 'company_access']) expect(admin.has(s)).toBe(true);
  });

  test('company_access stays an admin’s and developer_tools:* nobody’s, whatever the setting says', () => {
    const generous = { admin: ['*'], manager: ['*', 'company_access'], employee: ['company_access', 'developer_tools:write'] };
    expect(roleBound(generous, 'manager').has('company_access')).toBe(false);
    expect(roleBound(generous, 'employee').has('company_access')).toBe(false);
    expect(roleBound(generous, 'employee').has('developer_tools:write')).toBe(false);
    expect(roleBound(generous, 'admin').has('developer_tools:read')).toBe(false);
  });

  test('withinRole', () => {
    expect(withinRole(DEFAULT_ROLE_BOUNDS, 'employee', ['openid', 'schedules:read'])).toBe(true);
    expect(withinRole(DEFAULT_ROLE_BOUNDS, 'employee', ['openid', 'users:write'])).toBe(false);
    expect(withinRole(DEFAULT_ROLE_BOUNDS, 'manager', [])).toBe(true);
  });
});

describe('decideScopes: granted or withheld (with a reason), never an error', () => {
  test('an employee asking users:write gets it withheld for their role', () => {
    const d = decideScopes({ requested: ['openid', 'schedules:read', 'users:write'], role: 'employee', registered: everything, bounds: DEFAULT_ROLE_BOUNDS });
    expect(d.granted).toEqual(['openid', 'schedules:read']);
    expect(d.withheld).toEqual([{ scope: 'users:write', reason: 'role' }]);
    expect(d.companyAccess).toBeNull();
  });

  test('company_access: an admin gets company-wide access with the V2 scopes of the request; anyone else has it withheld', () => {
    const admin = decideScopes({ requested: ['openid', 'schedules:read', 'users:write', 'company_access'], role: 'admin', registered: everything, bounds: DEFAULT_ROLE_BOUNDS });
    expect(admin.companyAccess).toEqual(['users:write', 'schedules:read']);
    expect(admin.granted).toEqual(['openid', 'users:write', 'schedules:read']);
    expect(admin.withheld).toEqual([]);
    for (const role of ['manager', 'employee'] as const) {
      const d = decideScopes({ requested: ['openid', 'schedules:read', 'company_access'], role, registered: everything, bounds: DEFAULT_ROLE_BOUNDS });
      expect(d.companyAccess).toBeNull();
      expect(d.withheld).toContainEqual({ scope: 'company_access', reason: 'admin_only' });
    }
    const alone = decideScopes({ requested: ['openid', 'company_access'], role: 'admin', registered: everything, bounds: DEFAULT_ROLE_BOUNDS });
    expect(alone.companyAccess).toBeNull();
    expect(alone.withheld).toEqual([{ scope: 'company_access', reason: 'needs_api_scopes' }]);
  });

  test('beyond the app’s registration, Developer Tools scopes and unknown scopes are withheld', () => {
    const d = decideScopes({
      requested: ['openid', 'schedules:read', 'users:read', 'developer_tools:write', 'root', 'company_access'],
      role: 'admin', registered: ['openid', 'schedules:read'], bounds: DEFAULT_ROLE_BOUNDS,
    });
    expect(d.granted).toEqual(['openid', 'schedules:read']);
    expect(d.withheld).toEqual([
      { scope: 'users:read', reason: 'not_registered' },
      { scope: 'developer_tools:write', reason: 'developer_tools' },
      { scope: 'root', reason: 'unknown' },
      { scope: 'company_access', reason: 'not_registered' },
    ]);
  });

  test('apps without client_credentials are not registered for company_access by default', () => {
    expect(defaultClientScopes(['authorization_code', 'refresh_token'])).not.toContain('company_access');
    expect(defaultClientScopes(['client_credentials'])).toContain('company_access');
  });
});

describe('client credentials within the company grant', () => {
  test('no grant: unauthorized_client; beyond: invalid_scope; none asked: the granted set', () => {
    expect(decideClientCredentials(['schedules:read'], undefined)).toMatchObject({ ok: false, error: 'unauthorized_client' });
    expect(decideClientCredentials(['users:write'], ['schedules:read'])).toMatchObject({ ok: false, error: 'invalid_scope' });
    expect(decideClientCredentials([], ['schedules:read', 'users:read'])).toEqual({ ok: true, scopes: ['schedules:read', 'users:read'] });
    expect(decideClientCredentials(['schedules:read'], ['schedules:read', 'users:read'])).toEqual({ ok: true, scopes: ['schedules:read'] });
  });

  test('withinGrant', () => {
    expect(withinGrant(['a'], ['a', 'b'])).toBe(true);
    expect(withinGrant(['a', 'c'], ['a', 'b'])).toBe(false);
    expect(withinGrant([], [])).toBe(true);
  });
});

describe('bearer tokens on the admin API', () => {
  test('GET needs developer_tools:read or write; anything else write', () => {
    expect(bearerMay('GET', ['developer_tools:read'])).toEqual({ ok: true });
    expect(bearerMay('GET', ['developer_tools:write'])).toEqual({ ok: true });
    expect(bearerMay('GET', ['schedules:read'])).toEqual({ ok: false, needed: 'developer_tools:read' });
    for (const m of ['POST', 'DELETE', 'PATCH']) {
      expect(bearerMay(m, ['developer_tools:read'])).toEqual({ ok: false, needed: 'developer_tools:write' });
      expect(bearerMay(m, ['developer_tools:write'])).toEqual({ ok: true });
    }
  });

  test('a minted token stays within the minting token’s scopes and expiry', () => {
    const day = 86_400_000;
    const minting = { scopes: ['schedules:read', 'developer_tools:write'], expiresAt: 10 * day };
    expect(mintBounds(minting, { scopes: ['users:write'], expiresAt: null })).toMatchObject({ ok: false, field: 'scopes' });
    expect(mintBounds(minting, { scopes: ['schedules:read'], expiresAt: null })).toEqual({ ok: true, expiresAt: 10 * day });
    expect(mintBounds(minting, { scopes: ['schedules:read'], expiresAt: 11 * day })).toMatchObject({ ok: false, field: 'expires_at' });
    expect(mintBounds(minting, { scopes: ['developer_tools:read'], expiresAt: 9 * day })).toEqual({ ok: true, expiresAt: 9 * day });
    expect(mintBounds({ scopes: ['schedules:read'], expiresAt: null }, { scopes: ['schedules:read'], expiresAt: null })).toEqual({ ok: true, expiresAt: null });
  });
});
