// The one application error type. Routes throw these; one middleware renders them as
// `{"error": {"code", "message"}}` (API) or as a page (UI). OAuth endpoints keep
// oidc-provider's own errors.
import { z } from 'zod';

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string, code = 'invalid_request') => new AppError(400, code, message);
export const unauthenticated = (message = 'Sign in, or send a valid bearer access token.') =>
  new AppError(401, 'unauthenticated', message);
export const forbidden = (message = 'Only active company admins can do this.') => new AppError(403, 'forbidden', message);
export const csrfFailed = () =>
  new AppError(403, 'csrf_failed', 'The CSRF token is missing or wrong. Reload the page and try again.');
export const notFound = (what = 'The resource') => new AppError(404, 'not_found', `${what} was not found.`);
export const conflict = (message: string) => new AppError(409, 'conflict', message);
export const payloadTooLarge = (limit: number) =>
  new AppError(413, 'payload_too_large', `The request body is larger than ${limit} bytes.`);
export const unsupportedMediaType = (expected: string) =>
  new AppError(415, 'unsupported_media_type', `Send the request body as ${expected}.`);
export const tooManyRequests = (retryAfterSeconds: number) =>
  new AppError(429, 'rate_limited', `Too many attempts. Try again in ${retryAfterSeconds} seconds.`, {
    'retry-after': String(retryAfterSeconds),
  });

/** The JSON body of every error of our APIs (the errorHandler in http.ts renders it). */
export const errorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.string().meta({ description: 'Stable snake_case code, e.g. `invalid_request`, `not_found`' }),
    message: z.string().meta({ description: 'For people: what went wrong, and what to do' }),
  }),
});

/** One rejected field of an input: where (the field path of the domain's schema) and why. */
export interface InputIssue {
  readonly path: ReadonlyArray<PropertyKey>;
  readonly message: string;
  readonly code?: string;
  /** The rejected value, when the validator reported it. */
  readonly input?: unknown;
  /** The allowed values, for a value outside a fixed list. */
  readonly values?: ReadonlyArray<unknown>;
}

/**
 * Input a domain command rejected (400). The message names the field path as the API always
 * has (`redirectUris.0: …`); `issues` lets another edge (the CLI) name its own option instead.
 */
export class ValidationError extends AppError {
  constructor(readonly issues: readonly [InputIssue, ...InputIssue[]]) {
    const first = issues[0];
    const path = first.path.map(String).join('.');
    super(400, 'invalid_request', path ? `${path}: ${first.message}` : first.message);
    this.name = 'ValidationError';
  }
}
