// grantledger company create | list
import type { Command } from 'commander';
import { listCompanies } from '../../companies/companies.js';
import { presentCompany } from '../../companies/companies.presenter.js';
import { provisionCompany } from '../../operators/provisioning.js';
import { act, group, need } from '../program.js';
import type { Runtime } from '../runtime.js';
import { shortTime, table } from '../table.js';

export function companyCommands(program: Command, rt: Runtime): void {
  const company = group(program, 'company', 'companies: create, list');

  company.command('create').description('create a company')
    .option('--name <name>', 'the company’s name (required)')
    .option('--external-id <id>', 'your own id of the company: a repeat answers the same company')
    .action(act<{ name?: string; externalId?: string }>(rt, (opts, cmd) => {
      const name = need(opts.name, '--name', cmd);
      return async (rt) => {
        const { company: c, created } = await provisionCompany(await rt.db(), { operator: 'cli' }, { name, ...(opts.externalId !== undefined ? { externalId: opts.externalId } : {}) });
        return {
          json: { id: c.id, guid: c.guid, name: c.name, ...(c.externalId !== null ? { external_id: c.externalId } : {}) },
          text: `company ${c.name}: ${c.guid}${created ? '' : ' (it existed with this external id)'}`,
        };
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
