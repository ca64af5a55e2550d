// The command tree on commander: groups (company, user, client, …) with their sub-commands,
// help for each, "did you mean" and --version. Commander's own error texts are reworded here
// into the CLI's one-line style ("missing --name", "unknown command "user craete" (did you mean
// "user create"?)") and thrown as UsageError, so main.ts decides the output and the exit code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, type ErrorOptions } from 'commander';
import { packageRoot } from '../shared/paths.js';
import { UsageError } from './errors.js';
import type { Output, Runtime } from './runtime.js';

/** The command's words below the program: "user create". */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function suggestion(message: string): string | undefined {
  return /\(Did you mean (.+?)\?\)/.exec(message)?.[1];
}

/** Commander's message (`error: required option '--name <name>' not specified`) in our words. */
function reword(cmd: Command, message: string, code: string | undefined): string {
  const path = commandPath(cmd);
  const flag = /'(-[^' ]+)/.exec(message)?.[1];
  const similar = suggestion(message);
  switch (code) {
    case 'commander.unknownCommand': {
      // The words typed as the command: up to the first option.
      const end = cmd.args.findIndex((a) => a.startsWith('-'));
      const words = [path, ...(end < 0 ? cmd.args : cmd.args.slice(0, end))].filter(Boolean).join(' ');
      return `unknown command "${words}"${similar ? ` (did you mean "${[path, similar].filter(Boolean).join(' ')}"?)` : ''}`;
    }
    case 'commander.unknownOption':
      return `unknown option ${flag}${similar ? ` (did you mean ${similar}?)` : ''}`;
    case 'commander.missingMandatoryOptionValue':
      return `missing ${flag}`;
    case 'commander.optionMissingArgument':
      return `${flag} needs a value`;
    case 'commander.excessArguments':
      return `unexpected argument "${cmd.args.join(' ')}" for "${path}"`;
    default:
      return message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
  }
}

class CliCommand extends Command {
  override createCommand(name?: string): Command {
    return new CliCommand(name);
  }

  override error(message: string, options?: ErrorOptions): never {
    throw new UsageError(reword(this, message, options?.code), commandPath(this));
  }
}

/** Repeatable options: `--redirect-uri A --redirect-uri B` → ['A', 'B']. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** A required option's value, blank counted as missing. */
export function need(value: string | undefined, flag: string, cmd: Command): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`missing ${flag}`, commandPath(cmd));
  return value;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A GUID option (company, client id), lower-cased; `what` says what it identifies. */
export function guid(value: string, flag: string, what: string, cmd: Command): string {
  if (!GUID.test(value.trim())) throw new UsageError(`${flag}: "${value}" is not ${what} (a GUID like 3f2b8c1e-…)`, commandPath(cmd));
  return value.trim().toLowerCase();
}

/** What the options of a leaf command look like to its action. */
export type Options = object;

/** What a command does once its options are checked: call one domain function, return the output. */
export type Run = (rt: Runtime) => Promise<Output>;

/**
 * A leaf command's action in two steps: check the options (throwing UsageError) and return the
 * run. Only the run gets the runtime, so a wrong command line never opens the database.
 */
export type Action<O extends Options> = (opts: O, cmd: Command) => Run | Promise<Run>;

/** Wires a leaf command to an action; the action's output is kept for main.ts to print. */
export function act<O extends Options>(rt: Runtime, action: Action<O>) {
  return async (opts: O, cmd: Command): Promise<void> => {
    const run = await action(opts, cmd);
    rt.output = await run(rt);
  };
}

export interface CommandGroup {
  (program: Command, rt: Runtime): void;
}

const FOOTER = `
Every command takes --json: it then prints one JSON object (errors too, as {"error": "..."}).
Exit codes: 0 done; 1 the command failed (not found, conflict, database, settings);
2 the command line is wrong (unknown command or option, a missing or invalid value): nothing was done.
Settings come from config/ and the environment (DATABASE_URL, SECRET_KEY, …): see README.md.`;

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

export function createProgram(rt: Runtime, groups: CommandGroup[]): Command {
  const program = new CliCommand('grantledger')
    .description('Operate a grantledger authorization server: companies, users, apps, gateways, keys.')
    .version(version(), '-V, --version', 'print the version')
    .option('--json', 'print one JSON object')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    // Usage errors go through CliCommand.error; help and --version still end the parse.
    .exitOverride()
    .addHelpText('afterAll', FOOTER);
  for (const add of groups) add(program, rt);
  return program;
}

/** A command of the program (a group, or a leaf such as migrate); no `help <command>` (--help does that). */
export function group(program: Command, name: string, description: string): Command {
  return program.command(name).description(description).helpCommand(false);
}
