// grantledger access-token create
import type { Command } from 'commander';
import { createAccessTokenFor } from '../../tokens/create-access-token.js';
import { act, collect, group, guid, need } from '../program.js';
import type { Runtime } from '../runtime.js';

export function accessTokenCommands(program: Command, rt: Runtime): void {
  const accessToken = group(program, 'access-token', 'access tokens of company admins: create');

  accessToken.command('create').description('create an access token for an active admin; the token is shown once')
    .option('--email <email>', 'the admin, who becomes the token’s technical contact (required)')
    .option('--name <name>', 'what the token is for (required)')
    .option('--company <guid>', 'the admin’s company (needed only when the e-mail exists in several)')
    .option('--scope <scope>', 'a V2 API scope (repeatable; default: every V2 API scope)', collect)
    .option('--expires-at <date>', 'YYYY-MM-DD or an ISO date-time (default: no expiry)')
    .action(act<{ email?: string; name?: string; company?: string; scope?: string[]; expiresAt?: string }>(rt, (opts, cmd) => {
      const ref = {
        email: need(opts.email, '--email', cmd),
        ...(opts.company !== undefined ? { companyGuid: guid(opts.company, '--company', 'a company GUID', cmd) } : {}),
      };
      const input = {
        name: need(opts.name, '--name', cmd),
        ...(opts.scope ? { scopes: opts.scope } : {}),
        ...(opts.expiresAt ? { expires_at: opts.expiresAt } : {}),
      };
      return async (rt) => {
        const { record, token } = await createAccessTokenFor(await rt.db(), ref, input, (await rt.settings()).tokens);
        return { json: { id: record.id, token, scopes: record.scopes }, text: `access token ${record.id}\n${token}\nIt is shown only now: store it.` };
      };
    }));
}
