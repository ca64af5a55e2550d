// The acceptance rule: which RFC 7662 introspection answers let a request through the gateway.
// A V2 API must accept access tokens only — never a refresh token, never an answer it cannot
// interpret. An answer is accepted when ALL of these hold:
//
//   1. `active` is the boolean `true`;
//   2. `auth_type` is "oauth", "access_token" or "api_key" (grantledger tags every active
//      answer; an answer without it did not come from grantledger's gateway path);
//   3. `token_type` is present: "Bearer" or "DPoP" (case-insensitive) for `oauth`, "Bearer"
//      for `access_token` and `api_key`. oidc-provider never sets `token_type` on a refresh
//      token, so a refresh token is refused here even when the server calls it active (it does
//      so when the introspecting client is the token's own app, i.e. a gateway misconfigured
//      with an app's credentials);
//   4. a sender-constrained token is recognised: `token_type` "DPoP" or `cnf.jkt` marks a
//      DPoP-bound token (kept with its key thumbprint, so the middleware can demand a proof);
//      any other confirmation (`cnf` without `jkt`, e.g. mTLS `x5t#S256`) is refused because
//      the gateway cannot check it;
//   5. `company_guid` is a non-empty string: every V2 API call acts for one company;
//   6. `client_id` is a non-empty string for `oauth` (the app); `sub`, when present, is a string;
//   7. `scope`, when present, is a string; `exp`, when present, is a number.
// Anything else is `undefined` (→ 401 invalid_token); such answers are never cached.

export type AuthType = 'oauth' | 'access_token' | 'api_key';

/** What the handler sees in `ctx.state.auth`. Frozen: cached answers are shared between requests. */
export interface GatewayAuth {
  /** GUID of the company the caller acts for. */
  readonly company_guid: string;
  /** The OAuth app (client) behind the token; null for access tokens (PATs) and API keys. */
  readonly client_id: string | null;
  /** The user behind the token; null for client-credentials tokens. */
  readonly sub: string | null;
  /** Scopes granted to the token. */
  readonly scopes: readonly string[];
  readonly auth_type: AuthType;
}

/** An accepted answer with what the gateway needs besides the handler's view. */
export interface Verdict {
  readonly auth: GatewayAuth;
  /** Expiry in epoch milliseconds, when the token has one. */
  readonly expiresAt: number | undefined;
  /** JWK SHA-256 thumbprint the token is bound to (DPoP), or undefined for bearer tokens. */
  readonly jkt: string | undefined;
}

const EMPTY: readonly string[] = Object.freeze([]);

const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function authTypeOf(value: unknown): AuthType | undefined {
  return value === 'oauth' || value === 'access_token' || value === 'api_key' ? value : undefined;
}

/** Applies the rule above to a parsed introspection response body. */
export function acceptIntrospection(answer: unknown): Verdict | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const a = answer as Record<string, unknown>;
  if (a.active !== true) return undefined;

  const authType = authTypeOf(a.auth_type);
  if (!authType) return undefined;

  if (typeof a.token_type !== 'string') return undefined;
  const tokenType = a.token_type.toLowerCase();
  if (tokenType !== 'bearer' && !(tokenType === 'dpop' && authType === 'oauth')) return undefined;

  let jkt: string | undefined;
  if (a.cnf !== undefined) {
    const cnf = a.cnf as Record<string, unknown> | null;
    if (typeof cnf !== 'object' || cnf === null || !isNonEmptyString(cnf.jkt) || authType !== 'oauth') return undefined;
    for (const key in cnf) if (key !== 'jkt') return undefined;
    jkt = cnf.jkt;
  }
  if (tokenType === 'dpop' && !jkt) return undefined;

  if (!isNonEmptyString(a.company_guid)) return undefined;
  if (authType === 'oauth' && !isNonEmptyString(a.client_id)) return undefined;
  if (a.client_id !== undefined && typeof a.client_id !== 'string') return undefined;
  if (a.sub !== undefined && typeof a.sub !== 'string') return undefined;
  if (a.scope !== undefined && typeof a.scope !== 'string') return undefined;
  if (a.exp !== undefined && (typeof a.exp !== 'number' || !Number.isFinite(a.exp))) return undefined;

  const scopes = a.scope ? Object.freeze(a.scope.split(' ').filter(Boolean)) : EMPTY;
  const auth: GatewayAuth = Object.freeze({
    company_guid: a.company_guid,
    client_id: isNonEmptyString(a.client_id) ? a.client_id : null,
    sub: isNonEmptyString(a.sub) ? a.sub : null,
    scopes,
    auth_type: authType,
  });
  return { auth, expiresAt: typeof a.exp === 'number' ? a.exp * 1000 : undefined, jkt };
}

/** True when every required scope was granted. */
export function hasScopes(granted: readonly string[], required: readonly string[]): boolean {
  for (let i = 0; i < required.length; i++) if (!granted.includes(required[i]!)) return false;
  return true;
}
