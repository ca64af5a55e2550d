// createGateway(): the object a V2 API builds once at start, and its `requireToken(scopes)`
// Koa middleware. Per request: read the token from the Authorization header → (DPoP: check the
// proof) → the positive cache, if on → introspection → the acceptance rule → the route's
// scopes → `ctx.state.auth`, or a refusal as RFC 6750 §3 describes (see challenge.ts).
import type http from 'node:http';
import type { Context, Middleware, Next, ParameterizedContext } from 'koa';
import { acceptIntrospection, hasScopes, type GatewayAuth, type Verdict } from './acceptance.js';
import { AnswerCache } from './cache.js';
import { Refusals, refuse, SCOPE_TOKEN, type Refusal } from './challenge.js';
import { MALFORMED, NONE, readCredentials } from './credentials.js';
import { DpopProofError, ReplayGuard, verifyProof } from './dpop.js';
import { AuthorizationServerError } from './errors.js';
import { IntrospectionClient } from './introspection-client.js';

export interface GatewayOptions {
  /** The authorization server's issuer URL; the introspection endpoint is discovered from it. */
  issuer?: string;
  /** Or the introspection endpoint itself (no discovery). Give exactly one of the two. */
  introspectionEndpoint?: string;
  /** The gateway's credentials (`grantledger gateway create`), sent as client_secret_basic. */
  clientId: string;
  clientSecret: string;
  /** The realm named in WWW-Authenticate challenges. Default "api". */
  realm?: string;
  /** Deadline for one introspection (and for discovery), in ms. Default 2000. */
  timeoutMs?: number;
  /**
   * How long an accepted answer may be reused without asking again, in ms. Default 0: off —
   * every request is introspected, and a revocation is seen by the very next request. With N > 0
   * a revoked token keeps working on this process for up to N ms (never past its own `exp`).
   */
  cacheTtlMs?: number;
  /** Bound of the positive cache (least recently used answers are dropped). Default 10,000. */
  cacheMaxEntries?: number;
  /**
   * A keep-alive http.Agent / https.Agent of your own, for the endpoint's protocol (e.g. custom
   * CA, more sockets). Default: one per gateway, keepAlive, lifo, at most 128 sockets.
   */
  agent?: http.Agent;
  /** Allow http:// to a host other than loopback (secrets in the clear). Default false. */
  allowInsecureHttp?: boolean;
  /**
   * Accept DPoP-bound tokens with `Authorization: DPoP` and a valid proof. Default: on when
   * `publicOrigin` is given (a proof's `htu` is checked against it), off otherwise; `true`
   * without `publicOrigin` is a configuration error.
   */
  dpop?: boolean;
  /**
   * The origin clients use to reach this API (e.g. https://api.example.com), for the `htu` of
   * DPoP proofs. Never taken from the request: `Host` and `X-Forwarded-Host` are the client's
   * to choose, so a proof made for another server would pass.
   */
  publicOrigin?: string;
  /** The clock of the positive cache, epoch ms (tests drive it). Default Date.now. */
  now?: () => number;
  /** Called for each 503 (authorization server unreachable, timed out, 5xx, bad credentials, …). */
  onError?: (err: AuthorizationServerError, ctx: Context) => void;
}

/** `ctx.state` after `requireToken`. */
export interface GatewayState {
  auth: GatewayAuth;
}

export interface Gateway {
  /**
   * Koa middleware admitting requests whose access token is accepted and carries every scope in
   * `scopes` (all of them). Sets `ctx.state.auth`. Build it once per route, not per request.
   */
  requireToken(scopes?: readonly string[]): Middleware<GatewayState>;
  /**
   * The same check outside Koa, for a bearer token (a DPoP-bound token is never accepted here:
   * it needs its proof). Resolves `undefined` when the token is not accepted; rejects with
   * AuthorizationServerError when the authorization server gave no usable answer.
   */
  authenticate(token: string): Promise<GatewayAuth | undefined>;
  /** Closes idle keep-alive connections and forgets cached answers. */
  close(): void;
}

/** Longer values are refused without asking: no token of ours is anywhere near this. */
const MAX_TOKEN_LENGTH = 4096;
const QUERY_TOKEN = /(?:^|&)access_token=/;

function positiveInt(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new TypeError(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

export function createGateway(options: GatewayOptions): Gateway {
  const timeoutMs = positiveInt(options.timeoutMs ?? 2000, 'timeoutMs', 1, 60_000);
  const cacheTtlMs = positiveInt(options.cacheTtlMs ?? 0, 'cacheTtlMs', 0, 3_600_000);
  const cacheMax = positiveInt(options.cacheMaxEntries ?? 10_000, 'cacheMaxEntries', 1, 10_000_000);
  const publicOrigin = options.publicOrigin === undefined ? undefined : new URL(options.publicOrigin).origin;
  if (options.dpop === true && publicOrigin === undefined) {
    throw new TypeError('dpop needs publicOrigin (the origin clients use to reach this API, e.g. https://api.example.com): DPoP proofs name it in htu');
  }
  const dpopEnabled = options.dpop ?? publicOrigin !== undefined;
  const refusals = new Refusals(options.realm ?? 'api');
  const client = new IntrospectionClient({
    issuer: options.issuer,
    introspectionEndpoint: options.introspectionEndpoint,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    timeoutMs,
    agent: options.agent,
    allowInsecureHttp: options.allowInsecureHttp ?? false,
  });
  const cache = cacheTtlMs > 0 ? new AnswerCache(cacheTtlMs, cacheMax) : undefined;
  const replay = new ReplayGuard();
  const now = options.now ?? Date.now;

  async function verdictFor(token: string): Promise<Verdict | undefined> {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    if (!cache) return acceptIntrospection(await client.introspect(token));
    const key = AnswerCache.keyOf(token);
    const hit = cache.get(key, now());
    if (hit) return hit;
    const verdict = acceptIntrospection(await client.introspect(token));
    if (verdict) cache.set(key, verdict, now());
    return verdict;
  }

  /** The URL a DPoP proof must name: our configured public origin + the request's path. */
  function requestUrl(ctx: Context, origin: string): string {
    const q = ctx.originalUrl.indexOf('?');
    const url = new URL(q === -1 ? ctx.originalUrl : ctx.originalUrl.slice(0, q), origin);
    return url.origin + url.pathname;
  }

  function requireToken(scopes: readonly string[] = []): Middleware<GatewayState> {
    const required = Object.freeze([...scopes]);
    for (const s of required) {
      if (typeof s !== 'string' || !SCOPE_TOKEN.test(s)) throw new TypeError(`invalid scope name: ${JSON.stringify(s)}`);
    }
    const insufficient = { bearer: refusals.insufficientScope(required, false), dpop: refusals.insufficientScope(required, true) };

    return async function gatewayAuth(ctx: ParameterizedContext<GatewayState>, next: Next): Promise<void> {
      const presented = readCredentials(ctx.headers.authorization, dpopEnabled);
      const queryToken = ctx.querystring.length > 0 && QUERY_TOKEN.test(ctx.querystring);
      if (presented === NONE) return refuse(ctx, queryToken ? refusals.malformed : refusals.missing);
      if (presented === MALFORMED || queryToken) return refuse(ctx, refusals.malformed);
      const { scheme, token } = presented;

      let proofKey: string | undefined;
      if (scheme === 'dpop') {
        const proof = ctx.headers.dpop;
        if (typeof proof !== 'string') return refuse(ctx, refusals.invalidProof('send one DPoP header with the proof'));
        try {
          proofKey = await verifyProof(proof, { method: ctx.method, url: requestUrl(ctx, publicOrigin!), token }, replay);
        } catch (err) {
          if (err instanceof DpopProofError) return refuse(ctx, refusals.invalidProof(err.message));
          throw err;
        }
      }

      let verdict: Verdict | undefined;
      try {
        verdict = await verdictFor(token);
      } catch (err) {
        if (!(err instanceof AuthorizationServerError)) throw err;
        try {
          options.onError?.(err, ctx);
        } catch {
          // a failing logger must not turn a clean 503 into a 500
        }
        return refuse(ctx, refusals.unavailable);
      }

      const refusal = bindingRefusal(verdict, scheme === 'dpop', proofKey);
      if (refusal) return refuse(ctx, refusal);
      const auth = verdict!.auth;
      if (!hasScopes(auth.scopes, required)) return refuse(ctx, scheme === 'dpop' ? insufficient.dpop : insufficient.bearer);
      ctx.state.auth = auth;
      return next();
    };
  }

  /** Token accepted, and presented the way its binding requires? */
  function bindingRefusal(verdict: Verdict | undefined, dpop: boolean, proofKey: string | undefined): Refusal | undefined {
    if (!verdict) return dpop ? refusals.invalidTokenDpop : refusals.invalidToken;
    if (verdict.jkt === undefined) return dpop ? refusals.unboundTokenAsDpop : undefined;
    if (!dpop) return refusals.boundTokenAsBearer;
    return verdict.jkt === proofKey ? undefined : refusals.invalidProof('the proof is signed with another key than the token is bound to');
  }

  return {
    requireToken,
    async authenticate(token: string) {
      const verdict = await verdictFor(token);
      return verdict && verdict.jkt === undefined ? verdict.auth : undefined;
    },
    close() {
      client.close();
      cache?.clear();
    },
  };
}
