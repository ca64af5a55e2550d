// findAccount for oidc-provider: the account id (`sub`) is the user's GUID. Inactive or unknown
// users have no account, so refresh and userinfo stop working for them.
import type { Account, FindAccount } from 'oidc-provider';
import type { Database } from '../db/database.js';
import { findUserByGuid } from '../companies/users.js';

export function createFindAccount(db: Database): FindAccount {
  return async (_ctx, sub): Promise<Account | undefined> => {
    const user = await findUserByGuid(db, sub);
    if (!user || !user.active) return undefined;
    return {
      accountId: user.guid,
      claims: () => ({
        sub: user.guid,
        name: user.name,
        email: user.email,
        email_verified: false,
        company_guid: user.company.guid,
      }),
    };
  };
}
