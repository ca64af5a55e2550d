// grantledger company create | list
import type { Command } from 'commander';
import { listCompanies } from '../../companies/companies.js';
import { presentCompany } from '../../companies/companies.presenter.js';
import { createCompany } from '../../companies/users.js';
import { act, group, need } from '../program.js';
import type { Runtime } from '../runtime.js';
import { shortTime, table } from '../table.js';

export function companyCommands(program: Command, rt: Runtime): void {
  const company = group(program, 'company', 'companies: create, list');

  company.command('create').description('create a company')
    .option('--name <name>', 'the company’s name (required)')
    .action(act<{ name?: string }>(rt, (opts, cmd) => {
      const name = need(opts.name, '--name', cmd);
      return async (rt) => {
        const c = await createCompany(await rt.db(), name);
        return { json: { id: c.id, guid: c.guid, name: c.name }, text: `company ${c.name}: ${c.guid}` };
      };
    }));

  company.command('list').description('list every company with its GUID and number of users')
    .action(act(rt, () => async (rt) => {
      const data = (await listCompanies(await rt.db())).map(presentCompany);
      return {
        json: { data },
        text: table(['GUID', 'USERS', 'CREATED', 'NAME'], data.map((c) => [c.guid, String(c.users), shortTime(c.created_at), c.name]), 'no companies'),
      };
    }));
}
