// A late authorization-code redemption says why: oidc-provider answers `invalid_grant` /
// "grant request is invalid" for an unknown code and an expired one alike (our adapter never
// returns expired rows). Codes live AUTHORIZATION_CODE_TTL (60 s by default), so a person pasting
// a code by hand is told "authorization code expired" — only when the row is there and past its
// expiry (until the cleanup deletes it); any other invalid_grant is left as it is.
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Executor } from '../db/database.js';
import { findPayload } from './payload-store.js';

export function expiredCodeMiddleware(db: Executor) {
  return async function expiredCode(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    await next();
    if (ctx.status !== 400 || ctx.oidc?.route !== 'token') return;
    const body = ctx.body as { error?: string } | undefined;
    const code = ctx.oidc.params?.code;
    if (body?.error !== 'invalid_grant' || ctx.oidc.params?.grant_type !== 'authorization_code' || typeof code !== 'string' || code.length > 200) return;
    const row = await findPayload(db, 'AuthorizationCode', code);
    if (row?.expires_at != null && Number(row.expires_at) <= Date.now()) ctx.body = { ...body, error_description: 'authorization code expired' };
  };
}
