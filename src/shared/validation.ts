// Validation of a domain command's input with zod: the parsed value, or a ValidationError that
// keeps every issue with its field path and rejected value, so each edge (the admin API, the
// CLI, the operator API) can word it for its own callers.
import { z } from 'zod';
import { ValidationError, type InputIssue } from './errors.js';

export function validate<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const issues = result.error.issues.map((i): InputIssue => ({
    path: i.path, message: i.message, code: i.code,
    ...('input' in i ? { input: i.input } : {}),
    ...('values' in i ? { values: i.values as unknown[] } : {}),
  }));
  throw new ValidationError(issues as [InputIssue, ...InputIssue[]]);
}

/**
 * Text people read in lists and audit events: no control characters (PostgreSQL rejects NUL in
 * text), no lone surrogates, no bidirectional overrides that would make a list show something
 * other than what is stored.
 */
export const UNPRINTABLE = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/u;

/** A name shown to people (a company, an app): trimmed, 1 to `max` characters, printable. */
export const displayName = (max = 200) => z.string().trim()
  .min(1, 'must not be empty')
  .max(max, `must be at most ${max} characters`)
  .refine((s) => !UNPRINTABLE.test(s), 'must not contain control characters');
