#!/usr/bin/env node
// The operator CLI: `grantledger <command> [options] [--json]`. A thin layer: commander parses
// the command line (program.ts), each command's action checks its options and calls one domain
// function, and this file prints the result or the failure and sets the exit code (errors.ts):
// 0 done, 1 failed, 2 wrong command line. With --json, stdout carries exactly one JSON object,
// `{"error": "..."}` on failure; stderr carries one line on failure, never a stack.
import { CommanderError } from 'commander';
import { clientCommands, gatewayCommands } from './commands/clients.js';
import { companyCommands } from './commands/companies.js';
import { connectionCommands } from './commands/connections.js';
import { keysCommands, migrateCommand } from './commands/database.js';
import { operatorKeyCommands } from './commands/operator-keys.js';
import { accessTokenCommands } from './commands/tokens.js';
import { userCommands } from './commands/users.js';
import { describeFailure, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './errors.js';
import { createProgram } from './program.js';
import { Runtime } from './runtime.js';

const GROUPS = [migrateCommand, companyCommands, userCommands, clientCommands, connectionCommands, gatewayCommands, accessTokenCommands, operatorKeyCommands, keysCommands];

async function main(argv: string[]): Promise<number> {
  // Known before parsing, so that a usage error is answered in JSON too.
  const json = argv.includes('--json');
  const rt = new Runtime();
  try {
    await createProgram(rt, GROUPS).parseAsync(argv, { from: 'user' });
    if (rt.output) process.stdout.write((json ? JSON.stringify(rt.output.json) : rt.output.text) + '\n');
    return EXIT_OK;
  } catch (err) {
    // Help and --version end the parse this way; commander has printed them already. Help asked
    // for (`--help`) exits 0; help shown for a group without its sub-command exits 2.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    const failure = describeFailure(err);
    if (json) process.stdout.write(JSON.stringify({ error: failure.message }) + '\n');
    const hint = failure.helpFor === undefined ? '' : ` (run grantledger ${failure.helpFor ? `${failure.helpFor} ` : ''}--help for usage)`;
    process.stderr.write(`grantledger: ${failure.message}${hint}\n`);
    return failure.exitCode;
  } finally {
    await rt.close();
  }
}

// A reader that stops early (`grantledger company list | head -1`) is no reason for a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') process.stderr.write(`grantledger: failed: ${err.message}\n`);
  process.exit(err.code === 'EPIPE' ? EXIT_OK : EXIT_FAILED);
});

process.exitCode = await main(process.argv.slice(2));
