// How the CLI fails: which exit code, and one line of plain words naming the option at fault.
// Exit 2: the command line is wrong (a usage error, or an option value the command rejects);
// nothing was done. Exit 1: the command ran and failed (not found, conflict, settings,
// database). Domain validation errors carry their schema's field paths; this is the one place
// that turns those into option names.
import { SettingsError } from '../config.js';
import { DatabaseOpenError } from '../db/database.js';
import { SecretKeyError } from '../oidc/keys.js';
import { AppError, ValidationError, type InputIssue } from '../shared/errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A wrong command line. `command` (e.g. "user create") is the one whose help would have helped. */
export class UsageError extends Error {
  constructor(message: string, readonly command = '') {
    super(message);
    this.name = 'UsageError';
  }
}

/** Field of a domain schema (clients.ts newAppSchema, users.ts, tokens/token.schema.ts newTokenSchema) → CLI option. */
const OPTION_OF_FIELD: Record<string, string> = {
  name: '--name',
  redirectUris: '--redirect-uri',
  postLogoutRedirectUris: '--post-logout-redirect-uri',
  grantTypes: '--grant-type',
  public: '--public',
  webhookUrl: '--webhook-url',
  logoUri: '--logo-uri',
  homepage: '--homepage',
  scopes: '--scope',
  expires_at: '--expires-at',
  email: '--email',
  password: '--password',
  role: '--role',
  companyGuid: '--company',
  keepOldSeconds: '--keep-old',
  externalId: '--external-id',
};

/** What a value of a fixed list is called in "unknown scope "x" (known: …)". */
const NOUN_OF_OPTION: Record<string, string> = { '--scope': 'scope', '--grant-type': 'grant type', '--role': 'role' };

/** Options taken more than once: the message quotes the value at fault. */
const REPEATABLE = new Set(['--redirect-uri', '--post-logout-redirect-uri']);

export function describeIssue(issue: InputIssue): string {
  const field = typeof issue.path[0] === 'string' ? issue.path[0] : '';
  const option = OPTION_OF_FIELD[field];
  if (!option) return issue.path.length ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message;
  if (issue.values && issue.values.length > 0 && typeof issue.input === 'string') {
    const noun = NOUN_OF_OPTION[option] ?? 'value';
    return `${option}: unknown ${noun} "${issue.input}" (known: ${issue.values.join(', ')})`;
  }
  const got = REPEATABLE.has(option) && typeof issue.input === 'string' ? ` (got "${issue.input}")` : '';
  return `${option}: ${issue.message}${got}`;
}

export interface Failure {
  message: string;
  exitCode: typeof EXIT_FAILED | typeof EXIT_USAGE;
  /** For usage errors: the command whose --help to point to ("" = the top level). */
  helpFor?: string;
}

export function describeFailure(err: unknown): Failure {
  if (err instanceof UsageError) return { message: err.message, exitCode: EXIT_USAGE, helpFor: err.command };
  if (err instanceof ValidationError) return { message: describeIssue(err.issues[0]), exitCode: EXIT_USAGE };
  if (err instanceof AppError || err instanceof SettingsError || err instanceof SecretKeyError || err instanceof DatabaseOpenError) {
    return { message: err.message, exitCode: EXIT_FAILED };
  }
  // Anything else (the database refused, a bug): one line still, never a stack.
  return { message: `failed: ${(err as Error)?.message ?? String(err)}`.replace(/\s*\n\s*/g, ' '), exitCode: EXIT_FAILED };
}
