// grantledger operator-key create | list | revoke — the keys of the operator API (/operator/v1)
import type { Command } from 'commander';
import { createOperatorKey, listOperatorKeys, revokeOperatorKey } from '../../operators/operator-keys.js';
import { iso } from '../../shared/presenter.js';
import { act, group, guid, need } from '../program.js';
import type { Runtime } from '../runtime.js';
import { shortTime, table } from '../table.js';

const CLI = { operator: 'cli' };

export function operatorKeyCommands(program: Command, rt: Runtime): void {
  const keys = group(program, 'operator-key', 'keys of the operator API (/operator/v1): create, list, revoke');

  keys.command('create').description('create an operator key; it is shown once (its name is the actor in the audit trail)')
    .option('--name <name>', 'who or what uses it, e.g. "provisioning" (required; unique among live keys)')
    .action(act<{ name?: string }>(rt, (opts, cmd) => {
      const name = need(opts.name, '--name', cmd);
      return async (rt) => {
        const k = await createOperatorKey(await rt.db(), CLI, name);
        return { json: { id: k.id, key: k.key }, text: `operator key ${k.id} (${k.name})\n${k.key}\nIt is shown only now: store it.` };
      };
    }));

  keys.command('list').description('list operator keys (never the keys themselves)')
    .action(act(rt, () => async (rt) => {
      const data = (await listOperatorKeys(await rt.db())).map((k) => ({
        id: k.id, name: k.name, last4: k.last4, created_at: iso(k.createdAt), last_used_at: iso(k.lastUsedAt), revoked_at: iso(k.revokedAt),
      }));
      return {
        json: { data },
        text: table(['ID', 'CREATED', 'LAST USED', 'REVOKED', 'NAME'],
          data.map((k) => [k.id, shortTime(k.created_at), k.last_used_at ? shortTime(k.last_used_at) : '-', k.revoked_at ? shortTime(k.revoked_at) : '-', k.name]), 'no operator keys'),
      };
    }));

  keys.command('revoke').description('revoke an operator key: it stops working at once')
    .option('--id <id>', 'the key’s id (required; see operator-key list)')
    .action(act<{ id?: string }>(rt, (opts, cmd) => {
      const id = guid(need(opts.id, '--id', cmd), '--id', 'an operator key id', cmd);
      return async (rt) => {
        const k = await revokeOperatorKey(await rt.db(), CLI, id);
        return { json: { id: k.id, name: k.name, revoked_at: iso(k.revokedAt) }, text: `operator key ${k.name} revoked` };
      };
    }));
}
