// Input validation of the admin API (zod); handlers see only typed input.
import { z } from 'zod';
import { API_SCOPES, TOKEN_SCOPES } from '../oidc/scopes.js';
import { badRequest } from '../shared/errors.js';

export const guidParam = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i).transform((s) => s.toLowerCase());

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
  scopes: z.array(z.enum(TOKEN_SCOPES as [string, ...string[]])).min(1).max(TOKEN_SCOPES.length).optional(),
  expires_at: z.iso.datetime({ offset: true }).or(z.iso.date()).nullable().optional(),
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

/** PATCH /connected-apps/{client_id}: narrow (a subset of the scopes) or remove (null) company-wide access. */
export const companyAccessPatch = z.object({
  company_access: z.object({
    scopes: z.array(z.enum(API_SCOPES as [string, ...string[]])).max(API_SCOPES.length),
  }).strict().nullable(),
}).strict();

export const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  // Audit ids are 32-bit serials: a larger cursor is clamped (PostgreSQL would reject it).
  cursor: z.string().regex(/^\d{1,15}$/).transform((v) => Math.min(Number(v), 2_147_483_647)).optional(),
});

export function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.join('.');
    throw badRequest(path ? `${path}: ${issue.message}` : issue.message);
  }
  return result.data;
}
