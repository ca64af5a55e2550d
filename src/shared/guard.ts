// The guard, as Logto's koaGuard: one middleware per route that validates what comes in (path
// params, query, body) and what goes out (status and body) against zod schemas. The handler
// reads only typed input from `ctx.guard`.
//   - params that do not validate answer 404: a malformed id names nothing, like a foreign one;
//   - query or body that do not validate answer 400 `<path>: <message>` (or the route's own
//     `invalid` answer, e.g. the page shown again with the message);
//   - a response that does not match its schema (an unexpected field, a wrong type, a status
//     not declared) is a server bug: a 500 whose log names the route and the mismatch, never
//     the body itself, and the body is not sent. Checked in production too: the admin API is
//     not a hot path, and a presenter that starts leaking a field must never reach a client.
import type { Context, Next } from 'koa';
import type { z } from 'zod';
import { AppError, badRequest, notFound } from './errors.js';
import { readForm, readJson } from './http.js';

/** Default body limit when the route does not set one (config `server.maxBodyBytes`). */
const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export interface GuardConfig {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Read the body as an urlencoded form (the Developer Tools pages) instead of JSON (the API). */
  form?: boolean;
  response?: z.ZodType;
  /** The statuses a handler may answer with (without throwing); any other is a server bug. */
  status?: number | readonly number[];
  /** The object a path parameter names, for the 404 message: "The API key was not found." */
  notFound?: string;
  /**
   * The answer to invalid query or body; the default throws the 400 (JSON for /api, else a page).
   * `error` (absent when the form is refused as a whole) lets a page put each issue next to its field.
   */
  invalid?: (ctx: Context, message: string, error?: z.ZodError) => unknown;
  maxBodyBytes?: number;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface Guarded<C extends GuardConfig> {
  params: Out<C['params']>;
  query: Out<C['query']>;
  body: Out<C['body']>;
}

export type GuardedContext<C extends GuardConfig> = Context & { guard: Guarded<C> };
export type GuardedHandler<C extends GuardConfig> = (ctx: GuardedContext<C>, next: Next) => unknown;

/** A response that does not match what the route declares: a bug on our side, logged as such. */
export class ResponseMismatch extends Error {
  constructor(ctx: Context, what: string) {
    super(`The response of ${ctx.method} ${ctx.path} does not match its declaration: ${what}`);
    this.name = 'ResponseMismatch';
  }
}

/** `<path>: <message>` of the first issue, e.g. `expires_at: must be in the future`. */
export function issueMessage(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** Validates outside a request (the CLI): the output, or a 400 AppError with the issue. */
export function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (!result.success) throw badRequest(issueMessage(result.error));
  return result.data;
}

export function guard<C extends GuardConfig>(config: C, handler: GuardedHandler<C>) {
  const statuses = config.status === undefined ? undefined : [config.status].flat();
  const limit = config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  return async (ctx: Context, next: Next): Promise<void> => {
    let params: unknown;
    if (config.params) {
      const result = config.params.safeParse({ ...(ctx.params as object | undefined) });
      if (!result.success) throw notFound(config.notFound);
      params = result.data;
    }

    let query: unknown;
    let body: unknown;
    let invalid: z.ZodError | undefined;
    if (config.query) {
      const result = config.query.safeParse(ctx.query);
      if (result.success) query = result.data;
      else invalid = result.error;
    }
    if (config.body && !invalid) {
      let raw: unknown;
      try {
        raw = config.form ? await readForm(ctx, limit) : await readJson(ctx, limit);
      } catch (err) {
        // A form refused as a whole (control characters, not UTF-8) is answered like any invalid field.
        if (!(config.form && config.invalid && err instanceof AppError && err.status === 400)) throw err;
        await config.invalid(ctx, err.message);
        return;
      }
      const result = config.body.safeParse(raw);
      if (result.success) body = result.data;
      else invalid = result.error;
    }
    if (invalid) {
      const message = issueMessage(invalid);
      if (!config.invalid) throw badRequest(message);
      await config.invalid(ctx, message, invalid);
      return;
    }

    const guarded = ctx as GuardedContext<C>;
    guarded.guard = { params, query, body } as Guarded<C>;
    await handler(guarded, next);

    if (statuses && !statuses.includes(ctx.status)) {
      throw new ResponseMismatch(ctx, `status ${ctx.status}, declared ${statuses.join(' or ')}`);
    }
    if (config.response) {
      const result = config.response.safeParse(ctx.body);
      // Issue paths and zod's messages name keys and types, never the values.
      if (!result.success) throw new ResponseMismatch(ctx, result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
    }
  };
}
