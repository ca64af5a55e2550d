// grantledger client create | list | show | update | rotate-secret | rotate-webhook-secret, gateway create | list | rotate-secret
import type { Command } from 'commander';
import { getApp, listApps, listGateways } from '../../clients/client-queries.js';
import { GRANT_TYPES, type GrantType } from '../../clients/clients.js';
import { changeApp, provisionApp, provisionGateway } from '../../operators/provisioning.js';
import { presentApp, presentAppSummary, presentGateway } from '../../clients/clients.presenter.js';
import type { AppChange } from '../../clients/update-app.js';
import { rotateClientSecret, rotateWebhookSecret, SECRET_CACHE_MS } from '../../clients/rotate-secret.js';
import { parseDuration } from '../../shared/duration.js';
import { UsageError } from '../errors.js';
import { act, collect, commandPath, group, guid, need } from '../program.js';
import type { Runtime } from '../runtime.js';
import { shortTime, table } from '../table.js';

interface AppOptions {
  name?: string;
  scope?: string[];
  redirectUri?: string[];
  webhookUrl?: string;
  logoUri?: string;
  homepage?: string;
}

/**
 * Seconds a running server may keep using an app's previous metadata: src/oidc/provider.ts
 * caches it twice per process, 60 s each (createClientLookup, then the built Client objects).
 */
const CLIENT_CACHE_SECONDS = 120;

function grantTypes(values: string[] | undefined, cmd: Command): GrantType[] | undefined {
  for (const g of values ?? []) {
    if (!(GRANT_TYPES as readonly string[]).includes(g)) {
      throw new UsageError(`--grant-type must be one of ${GRANT_TYPES.join(', ')}`, commandPath(cmd));
    }
  }
  return values as GrantType[] | undefined;
}

/** The CLI in the audit trails. */
const CLI = { operator: 'cli' };

/** --keep-old DURATION: seconds (default: undefined, i.e. the command's default of 24 h). */
function keepOld(value: string | undefined, cmd: Command): number | undefined {
  if (value === undefined) return undefined;
  const seconds = parseDuration(value);
  if (seconds === undefined) throw new UsageError(`--keep-old: "${value}" is not a duration (like 24h, 90m, 7d, or 0 to stop the old secret at once)`, commandPath(cmd));
  return seconds;
}

const KEEP_OLD_HELP = 'how long the old secret keeps working: 24h (default), 90m, 7d, up to 30d; 0 = it stops at once';

function rotatedText(id: string, label: string, secret: string, until: string | null): string {
  return [
    `client_id      ${id}`,
    `${label.padEnd(14)} ${secret}`,
    until ? `The old secret keeps working until ${until}.` : `The old secret no longer works (running servers: within ${SECRET_CACHE_MS / 1000} s).`,
    'The new secret is shown only now: store it.',
  ].join('\n');
}

/** `<group> rotate-secret` for apps and gateways alike. */
function rotateSecretCommand(group: Command, rt: Runtime, kind: 'app' | 'gateway'): void {
  group.command('rotate-secret').description(`a new client secret, shown once; the old one keeps working until --keep-old ends`)
    .option('--client-id <id>', `the ${kind === 'app' ? 'app' : 'gateway'}’s client_id (required)`)
    .option('--keep-old <duration>', KEEP_OLD_HELP)
    .action(act<{ clientId?: string; keepOld?: string }>(rt, (opts, cmd) => {
      const id = clientId(opts.clientId, cmd);
      const keep = keepOld(opts.keepOld, cmd);
      return async (rt) => {
        const r = await rotateClientSecret(await rt.db(), CLI, kind, id, keep);
        return { json: r, text: rotatedText(r.client_id, 'client_secret', r.client_secret, r.previous_secret_expires_at) };
      };
    }));
}

const clientId = (value: string | undefined, cmd: Command) => guid(need(value, '--client-id', cmd), '--client-id', 'a client id', cmd);

function appLines(a: ReturnType<typeof presentApp>): string[] {
  return [
    `client_id      ${a.client_id}`,
    `name           ${a.name}`,
    `type           ${a.public ? 'public (no secret)' : 'confidential'}`,
    `grant types    ${a.grant_types.join(', ')}`,
    `scopes         ${a.scopes.join(' ')}`,
    ...a.redirect_uris.map((u, i) => `${i === 0 ? 'redirect URIs ' : '              '} ${u}`),
    ...(a.webhook_url ? [`webhook URL    ${a.webhook_url}`] : []),
    ...(a.logo_uri ? [`logo           ${a.logo_uri}`] : []),
    ...(a.homepage ? [`homepage       ${a.homepage}`] : []),
    `created        ${shortTime(a.created_at)}`,
  ];
}

export function clientCommands(program: Command, rt: Runtime): void {
  const client = group(program, 'client', 'third-party apps: create, list, show, update, rotate-secret, rotate-webhook-secret');

  client.command('create').description('register a third-party app; its secrets are shown once')
    .option('--name <name>', 'the name people see on the consent page (required)')
    .option('--redirect-uri <uri>', 'https://…, http:// on loopback, or a reverse-DNS custom scheme (repeatable)', collect)
    .option('--post-logout-redirect-uri <uri>', 'where RP-initiated logout may send people back to; same rules as --redirect-uri (repeatable)', collect)
    .option('--public', 'a public client (native or browser app): no client secret')
    .option('--grant-type <type>', `${GRANT_TYPES.join(' | ')} (repeatable; default: authorization_code and refresh_token)`, collect)
    .option('--webhook-url <url>', 'where authorization.revoked events are POSTed (http:// or https://)')
    .option('--logo-uri <url>', 'the logo shown on the consent page (https://)')
    .option('--homepage <url>', 'the app’s homepage (http:// or https://)')
    .option('--scope <scope>', 'a scope the app may ask for (repeatable; default: OIDC, every V2 API scope, and company_access with client_credentials)', collect)
    .action(act<AppOptions & { public?: boolean; grantType?: string[]; postLogoutRedirectUri?: string[] }>(rt, (opts, cmd) => {
      const types = grantTypes(opts.grantType, cmd);
      const input = {
        name: need(opts.name, '--name', cmd), redirectUris: opts.redirectUri ?? [], postLogoutRedirectUris: opts.postLogoutRedirectUri ?? [], public: opts.public === true,
        ...(types ? { grantTypes: types } : {}), webhookUrl: opts.webhookUrl, logoUri: opts.logoUri, homepage: opts.homepage,
        ...(opts.scope ? { scopes: opts.scope } : {}),
      };
      return async (rt) => {
        const created = await provisionApp({ db: await rt.db(), kek: await rt.kek() }, CLI, input);
        const text = [`client_id      ${created.client_id}`];
        if (created.client_secret) text.push(`client_secret  ${created.client_secret}`);
        if (created.webhook_secret) text.push(`webhook_secret ${created.webhook_secret}`);
        text.push('Secrets are shown only now: store them.');
        return { json: { ...created }, text: text.join('\n') };
      };
    }));

  client.command('list').description('list the registered apps')
    .action(act(rt, () => async (rt) => {
      const data = (await listApps(await rt.db())).map(presentAppSummary);
      return {
        json: { data },
        text: table(['CLIENT_ID', 'CREATED', 'GRANT TYPES', 'NAME'],
          data.map((a) => [a.client_id, shortTime(a.created_at), a.grant_types.join(','), a.name]), 'no apps'),
      };
    }));

  client.command('show').description('show an app’s registration (never its secrets)')
    .option('--client-id <id>', 'the app’s client_id (required)')
    .action(act<{ clientId?: string }>(rt, (opts, cmd) => {
      const id = clientId(opts.clientId, cmd);
      return async (rt) => {
        const app = presentApp(await getApp(await rt.db(), id));
        return { json: app, text: appLines(app).join('\n') };
      };
    }));

  client.command('update').description(`change an app’s registration; running servers use it within ${CLIENT_CACHE_SECONDS / 60} minutes`)
    .option('--client-id <id>', 'the app’s client_id (required)')
    .option('--name <name>', 'a new name')
    .option('--redirect-uri <uri>', 'the new redirect URIs, replacing all of them (repeatable)', collect)
    .option('--webhook-url <url>', 'a new webhook URL (a first one comes with a webhook secret, shown once)')
    .option('--logo-uri <url>', 'a new logo (https://)')
    .option('--homepage <url>', 'a new homepage')
    .option('--scope <scope>', 'the scopes the app may ask for, replacing the list (repeatable)', collect)
    .action(act<AppOptions & { clientId?: string }>(rt, (opts, cmd) => {
      const id = clientId(opts.clientId, cmd);
      const change: AppChange = {
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.redirectUri ? { redirectUris: opts.redirectUri } : {}),
        ...(opts.webhookUrl !== undefined ? { webhookUrl: opts.webhookUrl } : {}),
        ...(opts.logoUri !== undefined ? { logoUri: opts.logoUri } : {}),
        ...(opts.homepage !== undefined ? { homepage: opts.homepage } : {}),
        ...(opts.scope ? { scopes: opts.scope } : {}),
      };
      if (Object.keys(change).length === 0) {
        throw new UsageError('nothing to change: give --name, --redirect-uri, --webhook-url, --logo-uri, --homepage or --scope', commandPath(cmd));
      }
      return async (rt) => {
        const { app, webhookSecret } = await changeApp({ db: await rt.db(), kek: await rt.kek() }, CLI, id, change);
        const shown = presentApp(app);
        const text = [...appLines(shown)];
        if (webhookSecret) text.push(`webhook_secret ${webhookSecret}`, 'The webhook secret is shown only now: store it.');
        text.push(`Running servers use the new registration within ${CLIENT_CACHE_SECONDS / 60} minutes.`);
        return { json: { ...shown, ...(webhookSecret ? { webhook_secret: webhookSecret } : {}) }, text: text.join('\n') };
      };
    }));

  rotateSecretCommand(client, rt, 'app');

  client.command('rotate-webhook-secret').description('a new webhook signing secret, shown once; deliveries carry both signatures until --keep-old ends')
    .option('--client-id <id>', 'the app’s client_id (required)')
    .option('--keep-old <duration>', KEEP_OLD_HELP)
    .action(act<{ clientId?: string; keepOld?: string }>(rt, (opts, cmd) => {
      const id = clientId(opts.clientId, cmd);
      const keep = keepOld(opts.keepOld, cmd);
      return async (rt) => {
        const r = await rotateWebhookSecret(await rt.db(), await rt.kek(), CLI, id, keep);
        return { json: r, text: rotatedText(r.client_id, 'webhook_secret', r.webhook_secret, r.previous_secret_expires_at) };
      };
    }));
}

export function gatewayCommands(program: Command, rt: Runtime): void {
  const gateway = group(program, 'gateway', 'V2 API gateways (introspection only): create, list, rotate-secret');

  gateway.command('create').description('register a V2 API gateway; its secret is shown once')
    .option('--name <name>', 'a name for operators (required)')
    .action(act<{ name?: string }>(rt, (opts, cmd) => {
      const name = need(opts.name, '--name', cmd);
      return async (rt) => {
        const g = await provisionGateway(await rt.db(), CLI, name);
        return { json: g, text: `client_id      ${g.client_id}\nclient_secret  ${g.client_secret}\nThe secret is shown only now: store it.` };
      };
    }));

  gateway.command('list').description('list the registered gateways')
    .action(act(rt, () => async (rt) => {
      const data = (await listGateways(await rt.db())).map(presentGateway);
      return { json: { data }, text: table(['CLIENT_ID', 'CREATED', 'NAME'], data.map((g) => [g.client_id, shortTime(g.created_at), g.name]), 'no gateways') };
    }));

  rotateSecretCommand(gateway, rt, 'gateway');
}
