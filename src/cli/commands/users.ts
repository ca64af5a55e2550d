// grantledger user create | list | deactivate | activate | set-role | set-password
import type { Command } from 'commander';
import { presentUser } from '../../companies/companies.presenter.js';
import { listUsers, ROLES, type Role, type UserRef } from '../../companies/users.js';
import { provisionUser } from '../../operators/provisioning.js';
import { updateUser } from '../../companies/membership.js';
import { UsageError } from '../errors.js';
import { act, commandPath, group, guid, need } from '../program.js';
import { readNewPassword } from '../prompt.js';
import type { Runtime } from '../runtime.js';
import { shortTime, table } from '../table.js';

interface Who {
  email?: string;
  company?: string;
}

function role(value: string | undefined, cmd: Command): Role {
  if (!(ROLES as readonly string[]).includes(need(value, '--role', cmd))) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`, commandPath(cmd));
  return value as Role;
}

/** --email E [--company GUID]: the user an operator means. */
function who(opts: Who, cmd: Command): UserRef {
  const email = need(opts.email, '--email', cmd);
  return { email, ...(opts.company !== undefined ? { companyGuid: guid(opts.company, '--company', 'a company GUID', cmd) } : {}) };
}

const COMPANY_HELP = 'the user’s company (needed only when the e-mail exists in several)';

export function userCommands(program: Command, rt: Runtime): void {
  const user = group(program, 'user', 'users of a company: create, list, deactivate, activate, set-role, set-password');

  user.command('create').description('create a user in a company')
    .option('--company <guid>', 'the company, see company list (required)')
    .option('--email <email>', 'e-mail address, the sign-in name (required)')
    .option('--password <password>', 'password, at least 8 characters (required)')
    .option('--role <role>', `${ROLES.join(' | ')} (required)`)
    .option('--name <name>', 'display name (default: the e-mail’s local part)')
    .option('--external-id <id>', 'your own id of the person, unique in the company: a repeat answers the same user')
    .action(act<Who & { password?: string; role?: string; name?: string; externalId?: string }>(rt, (opts, cmd) => {
      const input = {
        companyGuid: guid(need(opts.company, '--company', cmd), '--company', 'a company GUID', cmd),
        email: need(opts.email, '--email', cmd), password: need(opts.password, '--password', cmd), role: role(opts.role, cmd),
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.externalId !== undefined ? { externalId: opts.externalId } : {}),
      };
      return async (rt) => {
        const { user: u } = await provisionUser(await rt.db(), { operator: 'cli' }, input);
        return { json: { id: u.guid, email: u.email, role: u.role, company_guid: u.companyGuid }, text: `user ${u.email} (${u.role}): ${u.guid}` };
      };
    }));

  user.command('list').description('list the users of a company')
    .option('--company <guid>', 'the company, see company list (required)')
    .action(act<{ company?: string }>(rt, (opts, cmd) => {
      const companyGuid = guid(need(opts.company, '--company', cmd), '--company', 'a company GUID', cmd);
      return async (rt) => {
        const data = (await listUsers(await rt.db(), companyGuid)).map(presentUser);
        return {
          json: { data },
          text: table(['ID', 'ROLE', 'ACTIVE', 'CREATED', 'E-MAIL', 'NAME'],
            data.map((u) => [u.id, u.role, u.active ? 'yes' : 'no', shortTime(u.created_at), u.email, u.name]), 'no users in this company'),
        };
      };
    }));

  user.command('deactivate').description('deactivate a user: their app grants and tokens are revoked, their sessions end')
    .option('--email <email>', 'the user’s e-mail (required)')
    .option('--company <guid>', COMPANY_HELP)
    .action(act<Who>(rt, (opts, cmd) => {
      const ref = who(opts, cmd);
      return async (rt) => {
        const { user: u, revokedTokens } = await updateUser(await rt.membership(), ref, { active: false });
        return {
          json: { id: u.guid, email: u.email, active: false, revoked_tokens: revokedTokens },
          text: `${u.email} deactivated; ${revokedTokens} grants and tokens revoked`,
        };
      };
    }));

  user.command('activate').description('reactivate a user')
    .option('--email <email>', 'the user’s e-mail (required)')
    .option('--company <guid>', COMPANY_HELP)
    .action(act<Who>(rt, (opts, cmd) => {
      const ref = who(opts, cmd);
      return async (rt) => {
        const { user: u } = await updateUser(await rt.membership(), ref, { active: true });
        return { json: { id: u.guid, email: u.email, active: true }, text: `${u.email} reactivated` };
      };
    }));

  user.command('set-role').description('change a user’s role (only admins reach Developer Tools)')
    .option('--email <email>', 'the user’s e-mail (required)')
    .option('--role <role>', `${ROLES.join(' | ')} (required)`)
    .option('--company <guid>', COMPANY_HELP)
    .action(act<Who & { role?: string }>(rt, (opts, cmd) => {
      const r = role(opts.role, cmd);
      const ref = who(opts, cmd);
      return async (rt) => {
        const { user: u } = await updateUser(await rt.membership(), ref, { role: r });
        return { json: { id: u.guid, email: u.email, role: r }, text: `${u.email} is now ${r}` };
      };
    }));

  user.command('set-password').description('set a new password (typed twice when interactive, else the first line of stdin); ends the user’s sessions')
    .option('--email <email>', 'the user’s e-mail (required)')
    .option('--company <guid>', COMPANY_HELP)
    .option('--password <password>', 'the new password, at least 8 characters (visible to other local users: prefer the prompt or stdin)')
    .action(act<Who & { password?: string }>(rt, async (opts, cmd) => {
      const ref = who(opts, cmd);
      const password = opts.password ?? await readNewPassword(commandPath(cmd));
      return async (rt) => {
        const { user: u, endedAdminSessions } = await updateUser(await rt.membership(), ref, { password });
        return {
          json: { id: u.guid, email: u.email, ended_admin_sessions: endedAdminSessions },
          text: `${u.email}: password changed; ${endedAdminSessions} Developer Tools sessions ended`,
        };
      };
    }));
}
