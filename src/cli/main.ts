#!/usr/bin/env node
// The operator CLI: `grantledger <command> [options] [--json]`. With --json each command prints
// one JSON object; errors print one line on stderr and exit non-zero.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadSettings, SettingsError } from '../config.js';
import { createApp, createGateway, GRANT_TYPES, type GrantType } from '../clients/clients.js';
import { createCompany, createUser, resolveUser, ROLES, type Role } from '../companies/users.js';
import { deactivateUser, reactivateUser, setRole, type MembershipDeps } from '../companies/membership.js';
import { NO_EFFECTS } from '../ledger/effects.js';
import { openDatabase, type Database } from '../db/database.js';
import { purgeRevokedGrants } from '../ledger/grant-purge.js';
import { loadSecretKey, rotateKeys, ensureKeys, SecretKeyError } from '../oidc/keys.js';
import { AppError } from '../shared/errors.js';
import { boundNewToken, createToken } from '../tokens/tokens.js';
import { newTokenSchema, parse } from '../api/schemas.js';

class UsageError extends Error {}

const USAGE = `Usage: grantledger <command> [options] [--json]

Commands:
  migrate                                   apply pending database migrations
  company create --name N                   create a company
  user create --company GUID --email E --password P --role admin|manager|employee [--name N]
  user deactivate --email E [--company GUID]  deactivate a user (their app grants and tokens are revoked)
  user activate --email E [--company GUID]    reactivate a user
  user set-role --email E --role R [--company GUID]
  client create --name N --redirect-uri U [--redirect-uri U2] [--public]
                [--grant-type authorization_code|refresh_token|client_credentials]...
                [--webhook-url U] [--logo-uri U] [--homepage U]
  gateway create --name N                   register a V2 API gateway (introspection only)
  access-token create --email ADMIN --name N [--company GUID] [--scope S]... [--expires-at DATE]
                                            (scopes default to every V2 API scope)
  keys rotate                               new signing and cookie keys first; old ones kept for verification

Settings come from config/ and the environment (DATABASE_URL, SECRET_KEY, …): see README.md.`;

const HINT = '(run grantledger --help for usage)';

// Checked before the database is opened, so a typo neither creates nor migrates a database.
const COMMANDS = new Set([
  'migrate', 'company create', 'user create', 'user deactivate', 'user activate', 'user set-role',
  'client create', 'gateway create', 'access-token create', 'keys rotate',
]);

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  name: { type: 'string' },
  company: { type: 'string' },
  email: { type: 'string' },
  password: { type: 'string' },
  role: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  public: { type: 'boolean' },
  'grant-type': { type: 'string', multiple: true },
  'webhook-url': { type: 'string' },
  'logo-uri': { type: 'string' },
  homepage: { type: 'string' },
  scope: { type: 'string', multiple: true },
  'expires-at': { type: 'string' },
} satisfies ParseArgsConfig['options'];

type Values = Record<string, string | boolean | string[] | undefined>;

function need(values: Values, key: string): string {
  const v = values[key];
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`missing --${key}`);
  return v;
}

function role(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  return value as Role;
}

type Output = { json: Record<string, unknown>; text: string };

async function run(command: string, values: Values, db: Database, kek: () => Buffer, membership: MembershipDeps): Promise<Output> {
  switch (command) {
    case 'migrate': {
      const applied = await db.migrate();
      return { json: { applied }, text: applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date' };
    }
    case 'company create': {
      const c = await createCompany(db, need(values, 'name'));
      return { json: { id: c.id, guid: c.guid, name: c.name }, text: `company ${c.name}: ${c.guid}` };
    }
    case 'user create': {
      const password = need(values, 'password');
      if (password.length < 8) throw new UsageError('--password must be at least 8 characters');
      const u = await createUser(db, {
        companyGuid: need(values, 'company'), email: need(values, 'email'), password, role: role(need(values, 'role')),
        name: values.name as string | undefined,
      });
      return { json: { id: u.guid, email: u.email, role: u.role, company_guid: u.company.guid }, text: `user ${u.email} (${u.role}): ${u.guid}` };
    }
    case 'user deactivate': {
      const u = await resolveUser(db, need(values, 'email'), values.company as string | undefined);
      const { revokedTokens } = await deactivateUser(membership, u, { operator: 'cli' });
      await purgeRevokedGrants(db);
      return { json: { id: u.guid, email: u.email, active: false, revoked_tokens: revokedTokens }, text: `${u.email} deactivated; ${revokedTokens} grants and tokens revoked` };
    }
    case 'user activate': {
      const u = await resolveUser(db, need(values, 'email'), values.company as string | undefined);
      await reactivateUser(membership, u);
      return { json: { id: u.guid, email: u.email, active: true }, text: `${u.email} reactivated` };
    }
    case 'user set-role': {
      const r = role(need(values, 'role'));
      const u = await resolveUser(db, need(values, 'email'), values.company as string | undefined);
      await setRole(membership, u, r, { operator: 'cli' });
      return { json: { id: u.guid, email: u.email, role: r }, text: `${u.email} is now ${r}` };
    }
    case 'client create': {
      const grantTypes = values['grant-type'] as string[] | undefined;
      for (const g of grantTypes ?? []) {
        if (!(GRANT_TYPES as readonly string[]).includes(g)) throw new UsageError(`--grant-type must be one of ${GRANT_TYPES.join(', ')}`);
      }
      const created = await createApp(db, kek(), {
        name: need(values, 'name'),
        redirectUris: (values['redirect-uri'] as string[] | undefined) ?? [],
        public: values.public === true,
        ...(grantTypes ? { grantTypes: grantTypes as GrantType[] } : {}),
        webhookUrl: values['webhook-url'] as string | undefined,
        logoUri: values['logo-uri'] as string | undefined,
        homepage: values.homepage as string | undefined,
      });
      const text = [`client_id      ${created.client_id}`];
      if (created.client_secret) text.push(`client_secret  ${created.client_secret}`);
      if (created.webhook_secret) text.push(`webhook_secret ${created.webhook_secret}`);
      text.push('Secrets are shown only now: store them.');
      return { json: { ...created }, text: text.join('\n') };
    }
    case 'gateway create': {
      const g = await createGateway(db, need(values, 'name'));
      return { json: g, text: `client_id      ${g.client_id}\nclient_secret  ${g.client_secret}\nThe secret is shown only now: store it.` };
    }
    case 'access-token create': {
      const admin = await resolveUser(db, need(values, 'email'), values.company as string | undefined);
      if (!admin.active || admin.role !== 'admin') throw new UsageError(`${admin.email} is not an active admin`);
      const scopes = values.scope as string[] | undefined;
      const input = parse(newTokenSchema, {
        name: need(values, 'name'),
        ...(scopes ? { scopes } : {}),
        ...(values['expires-at'] ? { expires_at: values['expires-at'] } : {}),
      });
      const { record, token } = await createToken(db, admin, boundNewToken('access_token', input));
      return { json: { id: record.id, token, scopes: record.scopes }, text: `access token ${record.id}\n${token}\nIt is shown only now: store it.` };
    }
    case 'keys rotate': {
      await ensureKeys(db, kek());
      const { kids, retired } = await rotateKeys(db, kek());
      return { json: { keys: kids, retired }, text: `new keys first: ${kids.join(', ')}${retired.length ? `\nretired: ${retired.join(', ')}` : ''}\nEvery instance signs with them within KEYS_RELOAD_INTERVAL (60 s by default).` };
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`grantledger: ${(err as Error).message} ${HINT}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals.join(' ');
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE + '\n');
    return positionals.length === 0 && !values.help ? 2 : 0;
  }
  const json = values.json === true;
  let db: Database | undefined;
  try {
    if (!COMMANDS.has(command)) throw new UsageError(`unknown command "${command}"`);
    const settings = await loadSettings({ logLevel: 'silent' });
    db = await openDatabase({ url: settings.database.url, poolSize: 2 });
    if (command !== 'migrate') await db.migrate();
    const out = await run(command, values as Values, db, () => loadSecretKey(settings.secrets.secretKey, settings.secrets.secretKeyFile), { db, effects: NO_EFFECTS, roleBounds: settings.scopes.roles });
    process.stdout.write((json ? JSON.stringify(out.json) : out.text) + '\n');
    return 0;
  } catch (err) {
    const message = err instanceof UsageError || err instanceof AppError || err instanceof SettingsError || err instanceof SecretKeyError
      ? (err as Error).message
      : `failed: ${(err as Error).message}`;
    if (json) process.stdout.write(JSON.stringify({ error: message }) + '\n');
    // One line, so scripts can show or log it as it is.
    process.stderr.write(`grantledger: ${message}${err instanceof UsageError ? ` ${HINT}` : ''}\n`);
    return err instanceof UsageError ? 2 : 1;
  } finally {
    await db?.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
