// An operator creates an access token for an admin (the admin becomes its technical contact):
// the input is validated as the admin API validates it, the admin must be active, and the token
// is returned once. The admin API's own creation path authenticates the admin first instead.
import type { Database } from '../db/database.js';
import { newTokenSchema } from './token.schema.js';
import { findUser, type UserRef } from '../companies/users.js';
import { AppError } from '../shared/errors.js';
import { validate } from '../shared/validation.js';
import { boundNewToken, createToken, type TokenRecord } from './tokens.js';

export interface NewAccessToken {
  name: string;
  scopes?: string[];
  /** ISO date or date-time; null or absent: no expiry. */
  expires_at?: string | null;
}

export async function createAccessTokenFor(
  db: Database, adminRef: UserRef, raw: NewAccessToken, limits: { maxLifetimeDays?: number | undefined } = {},
): Promise<{ record: TokenRecord; token: string }> {
  const input = validate(newTokenSchema, raw);
  const admin = await findUser(db, adminRef);
  if (!admin.active || admin.role !== 'admin') throw new AppError(409, 'not_an_admin', `${admin.email} is not an active admin`);
  return createToken(db, admin, boundNewToken('access_token', input, undefined, limits));
}
