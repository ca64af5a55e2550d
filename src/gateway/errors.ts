// The one error the gateway raises at run time: the authorization server could not give a usable
// answer (unreachable, timed out, 5xx, refused the gateway's credentials, answered garbage).
// The middleware turns it into 503 — a request is never let through without an answer.

export type AuthorizationServerFailure =
  /** Connection refused or reset, DNS failure, TLS failure. */
  | 'unreachable'
  /** No complete answer within `timeoutMs`. */
  | 'timeout'
  /** An HTTP status that is not an introspection answer (5xx, 401 for bad gateway credentials, 404, 429, …). */
  | 'bad_status'
  /** A 200 that is not a JSON object (or is too large). */
  | 'bad_response'
  /** Discovery found no usable introspection endpoint, or an issuer other than the configured one. */
  | 'misconfigured';

export class AuthorizationServerError extends Error {
  constructor(
    readonly reason: AuthorizationServerFailure,
    message: string,
    /** The HTTP status the authorization server answered, for `bad_status`. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AuthorizationServerError';
  }
}
