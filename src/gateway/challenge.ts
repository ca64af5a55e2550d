// The gateway's refusals, exactly as RFC 6750 §3 (and RFC 9449 §7.1 for DPoP) describe them,
// with a JSON body in grantledger's error shape `{"error": {"code", "message"}}`:
//
//   no credentials (or another scheme)  401  WWW-Authenticate: Bearer realm="R"
//   malformed Authorization header      400  WWW-Authenticate: Bearer realm="R", error="invalid_request"
//   token not accepted                  401  WWW-Authenticate: Bearer realm="R", error="invalid_token"
//   a required scope missing            403  WWW-Authenticate: Bearer realm="R", error="insufficient_scope", scope="S1 S2"
//   bad DPoP proof                      401  WWW-Authenticate: DPoP realm="R", error="invalid_dpop_proof", algs="…"
//   authorization server unavailable    503  Retry-After: 5, no challenge (nothing is wrong with the token)
//
// For a request that used the DPoP scheme the challenges use the DPoP scheme and carry `algs`.
// The challenges and bodies are built once, at setup (per route for insufficient_scope): a
// refusal costs no formatting per request — except a DPoP proof failure, whose message says which
// check failed.
import type { Context } from 'koa';
import { DPOP_ALGS } from './dpop.js';

/** quoted-string content allowed by RFC 6750 §3 for realm and error descriptions. */
const QUOTABLE = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
/** A scope-token (RFC 6749 §3.3). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export interface Refusal {
  status: number;
  challenge: string | undefined;
  body: string;
}

const json = (code: string, message: string) => JSON.stringify({ error: { code, message } });

export function checkRealm(realm: string): string {
  if (!QUOTABLE.test(realm)) throw new TypeError('realm must be printable ASCII without double quotes or backslashes');
  return realm;
}

export class Refusals {
  readonly missing: Refusal;
  readonly malformed: Refusal;
  readonly invalidToken: Refusal;
  readonly invalidTokenDpop: Refusal;
  readonly boundTokenAsBearer: Refusal;
  readonly unboundTokenAsDpop: Refusal;
  readonly unavailable: Refusal;
  readonly #realm: string;
  readonly #dpopAlgs = `algs="${DPOP_ALGS.join(' ')}"`;

  constructor(realm: string) {
    this.#realm = checkRealm(realm);
    const bearer = `Bearer realm="${realm}"`;
    const dpop = `DPoP realm="${realm}"`;
    this.missing = {
      status: 401, challenge: bearer,
      body: json('unauthenticated', 'This endpoint needs an access token: send Authorization: Bearer <token>.'),
    };
    this.malformed = {
      status: 400, challenge: `${bearer}, error="invalid_request"`,
      body: json('invalid_request', 'The Authorization header is malformed: send Authorization: Bearer <token>, once, and nowhere else.'),
    };
    this.invalidToken = {
      status: 401, challenge: `${bearer}, error="invalid_token"`,
      body: json('invalid_token', 'The access token is invalid, expired or revoked.'),
    };
    this.invalidTokenDpop = {
      status: 401, challenge: `${dpop}, error="invalid_token", ${this.#dpopAlgs}`,
      body: json('invalid_token', 'The access token is invalid, expired or revoked.'),
    };
    this.boundTokenAsBearer = {
      status: 401, challenge: `${bearer}, error="invalid_token"`,
      body: json('invalid_token', 'This access token is bound to a DPoP key: send it as Authorization: DPoP <token> with a DPoP proof.'),
    };
    this.unboundTokenAsDpop = {
      status: 401, challenge: `${dpop}, error="invalid_token", ${this.#dpopAlgs}`,
      body: json('invalid_token', 'This access token is not bound to a DPoP key: send it as Authorization: Bearer <token>.'),
    };
    this.unavailable = {
      status: 503, challenge: undefined,
      body: json('authorization_server_unavailable', 'The access token could not be checked: the authorization server is unavailable. Try again shortly.'),
    };
  }

  /** 403 for a route: built once per `requireToken(scopes)`. */
  insufficientScope(scopes: readonly string[], dpop: boolean): Refusal {
    const scope = scopes.join(' ');
    return {
      status: 403,
      challenge: dpop
        ? `DPoP realm="${this.#realm}", error="insufficient_scope", scope="${scope}", ${this.#dpopAlgs}`
        : `Bearer realm="${this.#realm}", error="insufficient_scope", scope="${scope}"`,
      body: json('insufficient_scope', `This endpoint needs the scope${scopes.length > 1 ? 's' : ''} ${scope}.`),
    };
  }

  /** 401 for a DPoP proof problem; the message says which check failed. */
  invalidProof(message: string): Refusal {
    return {
      status: 401,
      challenge: `DPoP realm="${this.#realm}", error="invalid_dpop_proof", ${this.#dpopAlgs}`,
      body: json('invalid_dpop_proof', `The DPoP proof was not accepted: ${message}.`),
    };
  }
}

export function refuse(ctx: Context, refusal: Refusal): void {
  ctx.status = refusal.status;
  if (refusal.challenge) ctx.set('www-authenticate', refusal.challenge);
  if (refusal.status === 503) ctx.set('retry-after', '5');
  ctx.set('cache-control', 'no-store');
  ctx.type = 'application/json';
  ctx.body = refusal.body;
}
