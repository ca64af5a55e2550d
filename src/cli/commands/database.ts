// grantledger migrate, keys rotate
import type { Command } from 'commander';
import { ensureKeys, rotateKeys } from '../../oidc/keys.js';
import { act, group } from '../program.js';
import type { Runtime } from '../runtime.js';

export function migrateCommand(program: Command, rt: Runtime): void {
  group(program, 'migrate', 'apply pending database migrations')
    .action(act(rt, () => async (rt) => {
      const applied = await (await rt.db({ create: true })).migrate();
      return { json: { applied }, text: applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date' };
    }));
}

export function keysCommands(program: Command, rt: Runtime): void {
  const keys = group(program, 'keys', 'signing and cookie keys: rotate');
  keys.command('rotate').description('new signing and cookie keys first; old ones kept for verification')
    .action(act(rt, () => async (rt) => {
      const db = await rt.db();
      const kek = await rt.kek();
      await ensureKeys(db, kek);
      const { kids, retired } = await rotateKeys(db, kek);
      return {
        json: { keys: kids, retired },
        text: `new keys first: ${kids.join(', ')}${retired.length ? `\nretired: ${retired.join(', ')}` : ''}\nEvery instance signs with them within KEYS_RELOAD_INTERVAL (60 s by default).`,
      };
    }));
}
