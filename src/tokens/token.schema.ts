// What an admin sends to create an access token or a legacy API key: the JSON body of the API,
// the CLI's options, the Developer Tools page's form. One schema for the three, so they accept
// and refuse the same things.
import { z } from 'zod';
import { API_SCOPES, TOKEN_SCOPES } from '../oidc/scopes.js';

/** Max lifetime of an access token or API key: 5 years. */
const MAX_LIFETIME_MS = 5 * 365 * 24 * 3600 * 1000;

/**
 * A name people read in lists and audit events: no control characters (PostgreSQL rejects NUL
 * in text, which would be a 500), no lone surrogates, no bidirectional overrides that would
 * make the list show something other than what is stored.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/u;

export const newTokenSchema = z.object({
  name: z.string().trim().min(1, 'name is required').max(200)
    .refine((s) => !UNPRINTABLE.test(s), 'must not contain control characters'),
  scopes: z.array(z.enum(TOKEN_SCOPES as [string, ...string[]])).min(1).max(TOKEN_SCOPES.length).optional()
    .meta({ description: 'Default: every V2 API scope — developer_tools:read/write (the admin API by bearer token) only when asked. Created with a bearer token: within its own scopes (default: the V2 scopes it holds), and an expiry no later than its own' }),
  expires_at: z.iso.datetime({ offset: true }).or(z.iso.date()).nullable().optional()
    .meta({ description: 'ISO date or date-time in the future (within 5 years); null or absent: no expiry' }),
}).strict().transform((v, ctx) => {
  let expiresAt: number | null = null;
  if (v.expires_at) {
    expiresAt = Date.parse(v.expires_at.length === 10 ? `${v.expires_at}T23:59:59Z` : v.expires_at);
    if (expiresAt <= Date.now()) ctx.addIssue({ code: 'custom', path: ['expires_at'], message: 'must be in the future' });
    if (expiresAt > Date.now() + MAX_LIFETIME_MS) ctx.addIssue({ code: 'custom', path: ['expires_at'], message: 'must be within 5 years' });
  }
  // Default: every V2 API scope — never developer_tools:*, which must be asked for.
  return { name: v.name, scopes: v.scopes ? [...new Set(v.scopes)] : [...API_SCOPES], scopesGiven: v.scopes !== undefined, expiresAt };
});

export type NewTokenInput = z.output<typeof newTokenSchema>;

/**
 * The page's form (`name`, a `scope:<name>` checkbox per scope, `expires_at`) read as the JSON
 * body would be: an empty field is an absent one. Other fields (`_csrf`) are not the token's.
 */
function fromForm(form: unknown): unknown {
  const fields = (form ?? {}) as Record<string, unknown>;
  const scopes = Object.keys(fields).filter((k) => k.startsWith('scope:')).map((k) => k.slice(6));
  const expires = fields.expires_at;
  return {
    name: typeof fields.name === 'string' ? fields.name : '',
    ...(scopes.length ? { scopes } : {}),
    ...(typeof expires === 'string' && expires ? { expires_at: expires } : {}),
  };
}

export const newTokenFormSchema = z.preprocess(fromForm, newTokenSchema);

/** Legacy API keys are deprecated: the form must carry the explicit confirmation first. */
export const newApiKeyFormSchema = z
  .custom((form) => (form as Record<string, unknown> | undefined)?.confirm_deprecated === 'yes',
    'Legacy API keys are deprecated: tick the box to confirm you need one.')
  .pipe(newTokenFormSchema);
