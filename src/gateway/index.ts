// grantledger/gateway — authenticate V2 API requests against grantledger, in a Koa app.
//
//   import Koa from 'koa';
//   import Router from '@koa/router';
//   import { createGateway, type GatewayState } from 'grantledger/gateway';
//
//   const gateway = createGateway({
//     issuer: 'https://auth.example.com',          // or introspectionEndpoint: 'https://…/token/introspection'
//     clientId: process.env.GATEWAY_CLIENT_ID!,     // from `grantledger gateway create`
//     clientSecret: process.env.GATEWAY_CLIENT_SECRET!,
//     realm: 'v2',
//   });
//   const router = new Router<GatewayState>();
//   router.get('/v2/schedules', gateway.requireToken(['schedules:read']), (ctx) => {
//     const { company_guid, client_id, sub, scopes, auth_type } = ctx.state.auth;
//     …
//   });
//
// What it does on each request:
//   - reads the token from `Authorization: Bearer <token>` only (RFC 6750 §2.1; a token in the
//     query string is refused with 400), or `Authorization: DPoP <token>` + a `DPoP` proof;
//   - asks grantledger's RFC 7662 introspection endpoint (discovered once from the issuer's
//     /.well-known/openid-configuration), authenticated with the gateway's client_secret_basic,
//     over keep-alive connections; OAuth access tokens, access tokens (grantledger_pat_…) and API
//     keys (grantledger_key_…) are all answered there;
//   - accepts access tokens only — see acceptance.ts for the exact rule (active, an auth_type,
//     a token_type, a company, well-typed fields); a refresh token never passes;
//   - checks that every scope the route requires was granted;
//   - sets `ctx.state.auth = { company_guid, client_id, sub, scopes, auth_type }` (frozen);
//   - otherwise answers as RFC 6750 §3 says: 401 `WWW-Authenticate: Bearer realm="…"` without a
//     token, 400 error="invalid_request" for a malformed header, 401 error="invalid_token",
//     403 error="insufficient_scope" with scope="…" (bodies: `{"error": {"code", "message"}}`);
//   - answers 503 (Retry-After: 5) when grantledger cannot be asked — unreachable, timeout
//     (`timeoutMs`, default 2 s), 5xx, refused gateway credentials, garbage: never a pass;
//   - DPoP-bound tokens (an app that used DPoP at the token endpoint) pass only as
//     `Authorization: DPoP <token>` with a valid proof of the bound key (dpop.ts), when the
//     gateway knows its `publicOrigin` (the `htu` is checked against it, never against the
//     client-chosen Host); as a bearer token they get 401.
//
// Caching is off by default (`cacheTtlMs: 0`): revoking an app, a token or an API key in
// grantledger is refused by the very next request. With `cacheTtlMs: N`, accepted answers are
// reused for up to N ms (never past the token's `exp`; keyed by SHA-256 of the token; bounded
// LRU of `cacheMaxEntries`): a revocation then takes up to N ms to reach each gateway process.
export { createGateway, type Gateway, type GatewayOptions, type GatewayState } from './gateway.js';
export { acceptIntrospection, type AuthType, type GatewayAuth } from './acceptance.js';
export { AuthorizationServerError, type AuthorizationServerFailure } from './errors.js';
