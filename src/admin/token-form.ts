// The Developer Tools forms that create an access token or a legacy API key, read as the admin
// API reads its JSON body (newTokenSchema), plus what only the page asks for: a scope preset
// ("read only", "everything", custom — one must be chosen, nothing is implied), an expiry preset
// (30 or 90 days, a date, or none — none only when `tokens.maxLifetimeDays` is unset) and, for
// API keys, the deprecation confirmation. Every issue is keyed by the form field it belongs to,
// in plain words, so the page can show it next to that field.
import { z } from 'zod';
import { API_SCOPES, TOKEN_SCOPES, scopeKind } from '../oidc/scopes.js';
import { newTokenSchema } from '../tokens/token.schema.js';
import type { TokenKind } from '../tokens/format.js';
import { lifetimeProblem } from '../tokens/tokens.js';

export type TokenFormField = 'name' | 'scopes' | 'expiry' | 'confirm_deprecated';

export const SCOPE_PRESETS = {
  read: API_SCOPES.filter((s) => scopeKind(s) === 'read'),
  all: API_SCOPES,
} as const;

export const EXPIRY_PRESET_DAYS = [30, 90] as const;

const DAY = 24 * 3600 * 1000;

/** What the admin API's messages say, in the words of the page. */
function plainWords(field: PropertyKey | undefined, message: string): string {
  if (field === 'name') {
    if (/required|too small|>=\s*1/i.test(message)) return 'Give it a name, so you recognise it later.';
    if (/too big|<=\s*200/i.test(message)) return 'Use at most 200 characters.';
    if (/control/.test(message)) return 'Remove the invisible control characters from the name.';
    return 'Choose another name.';
  }
  if (field === 'expires_at') {
    if (/future/.test(message)) return 'Choose a date after today.';
    if (/5 years/.test(message)) return 'Choose a date within 5 years.';
    if (/within (\d+) days/.test(message)) return `Choose a date within ${/within (\d+) days/.exec(message)![1]} days (your operator’s limit).`;
    return 'Enter a date as YYYY-MM-DD.';
  }
  if (field === 'scopes') return 'Choose scopes from the list.';
  return message;
}

const FIELD_OF: Record<string, TokenFormField> = { name: 'name', scopes: 'scopes', expires_at: 'expiry' };

/** The form schema of one kind; its output is what createToken takes. */
export function tokenFormSchema(kind: TokenKind, maxLifetimeDays: number | undefined) {
  return z.record(z.string(), z.string()).transform((form, ctx) => {
    const issue = (field: TokenFormField, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });

    let scopes: string[] | undefined;
    // A scope box the page never offers (a hand-made or tampered form): refused, not ignored.
    const unknown = Object.keys(form).filter((k) => k.startsWith('scope:') && !TOKEN_SCOPES.includes(k.slice(6)));
    if (unknown.length) issue('scopes', `This service has no such scope: ${unknown.map((k) => k.slice(6)).join(', ').slice(0, 200)}.`);
    if (kind === 'api_key') {
      if (form.confirm_deprecated !== 'yes') issue('confirm_deprecated', 'Tick the box to confirm you need a legacy API key.');
    } else {
      const preset = form.scope_preset;
      if (preset === 'read' || preset === 'all') scopes = [...SCOPE_PRESETS[preset]];
      else if (preset === 'custom') {
        scopes = TOKEN_SCOPES.filter((s) => form[`scope:${s}`] !== undefined);
        if (scopes.length === 0) issue('scopes', 'Tick at least one scope, or choose “Read only” or “Everything”.');
      } else issue('scopes', 'Choose what it may do: read only, everything, or the scopes you tick.');
    }

    let expiresAt: string | undefined;
    const expiry = form.expiry;
    if (expiry === 'custom') {
      if (!form.expires_at) issue('expiry', 'Pick the date it expires.');
      else expiresAt = form.expires_at;
    } else if (expiry && EXPIRY_PRESET_DAYS.map(String).includes(expiry)) {
      expiresAt = new Date(Date.now() + Number(expiry) * DAY).toISOString();
    } else if (expiry === 'never') {
      if (maxLifetimeDays) issue('expiry', `Choose an expiry: tokens expire within ${maxLifetimeDays} days here.`);
    } else issue('expiry', 'Choose when it expires.');

    const parsed = newTokenSchema.safeParse({
      name: form.name ?? '', ...(scopes?.length ? { scopes } : {}), ...(expiresAt ? { expires_at: expiresAt } : {}),
    });
    if (!parsed.success) {
      for (const i of parsed.error.issues) {
        const field = FIELD_OF[String(i.path[0])];
        if (field && !ctx.issues.some((x) => x.path?.[0] === field)) issue(field, plainWords(i.path[0], i.message));
      }
      return z.NEVER;
    }
    const lifetime = expiry === 'never' ? undefined : lifetimeProblem(parsed.data.expiresAt, maxLifetimeDays);
    if (lifetime) issue('expiry', plainWords('expires_at', lifetime));
    if (ctx.issues.length) return z.NEVER;
    return parsed.data;
  });
}

/** The issues of an invalid form by field, first one each. */
export function fieldErrors(error: z.ZodError): Partial<Record<TokenFormField, string>> {
  const out: Partial<Record<TokenFormField, string>> = {};
  for (const i of error.issues) {
    const field = String(i.path[0] ?? '') as TokenFormField;
    out[field] ??= i.message;
  }
  return out;
}
