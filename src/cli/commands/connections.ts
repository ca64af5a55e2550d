// grantledger connection list | revoke — a company's Connected Apps, as the operator sees them;
// revoke runs the same revocation command as Developer Tools (ledger/revoke-connection.ts),
// audited as the operator.
import type { Command } from 'commander';
import { findCompanyByGuid } from '../../companies/users.js';
import { presentConnection } from '../../ledger/connection.presenter.js';
import { listConnections } from '../../ledger/connections.js';
import { NO_EFFECTS } from '../../ledger/effects.js';
import { purgeRevokedGrants } from '../../ledger/grant-purge.js';
import { revokeConnection } from '../../ledger/revoke-connection.js';
import { notFound } from '../../shared/errors.js';
import { act, group, guid, need } from '../program.js';
import type { Runtime } from '../runtime.js';
import { shortTime, table } from '../table.js';

export function connectionCommands(program: Command, rt: Runtime): void {
  const connection = group(program, 'connection', 'a company’s connected apps: list, revoke');

  connection.command('list').description('list the apps connected to a company')
    .option('--company <guid>', 'the company’s GUID (required; `grantledger company list` shows them)')
    .action(act<{ company?: string }>(rt, (opts, cmd) => {
      const companyGuid = guid(need(opts.company, '--company', cmd), '--company', 'a company GUID', cmd);
      return async (rt) => {
        const db = await rt.db();
        const company = await findCompanyByGuid(db, companyGuid);
        if (!company) throw notFound(`Company ${companyGuid}`);
        const data = (await listConnections(db, company.id)).map(presentConnection);
        return {
          json: { data },
          text: table(['CLIENT_ID', 'CONNECTED', 'PEOPLE', 'COMPANY-WIDE', 'NAME'],
            data.map((c) => [c.client_id, shortTime(c.connected_at), String(c.users), c.company_access ? c.company_access.scopes.join(' ') : '-', c.name]),
            'no connected apps'),
        };
      };
    }));

  connection.command('revoke').description('revoke an app’s access to a company: every token it holds for the company dies at once (irreversible)')
    .option('--company <guid>', 'the company’s GUID (required)')
    .option('--client-id <id>', 'the app’s client_id (required)')
    .action(act<{ company?: string; clientId?: string }>(rt, (opts, cmd) => {
      const companyGuid = guid(need(opts.company, '--company', cmd), '--company', 'a company GUID', cmd);
      const clientId = guid(need(opts.clientId, '--client-id', cmd), '--client-id', 'a client_id', cmd);
      return async (rt) => {
        const db = await rt.db();
        const company = await findCompanyByGuid(db, companyGuid);
        if (!company) throw notFound(`Company ${companyGuid}`);
        const { result, appName } = await revokeConnection({ db, effects: NO_EFFECTS }, company, { operator: 'cli' }, clientId);
        await purgeRevokedGrants(db);
        const total = Object.values(result.revoked).reduce((a, b) => a + b, 0);
        return { json: result, text: `${appName} no longer has access to ${company.name}; ${total} grants, tokens and codes revoked` };
      };
    }));
}
