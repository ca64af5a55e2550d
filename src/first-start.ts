// What a first start tells the operator about the generated admin: never on the log stream.
// The password goes to a file of mode 0600 in the data directory; it is printed only when
// stdout is an interactive terminal (not a pipe, not a log collector). The admin must choose a
// new password at the first sign-in (users.must_change_password).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Settings } from './config.js';
import type { BootstrapResult } from './server.js';
import type { Logger } from './shared/logger.js';

export const INITIAL_PASSWORD_FILE = 'initial-admin-password';

import { dataDir } from './config.js';

/** Writes the first admin's credentials to `<dir>/initial-admin-password` (mode 0600); returns the path. */
export function writeInitialPassword(dir: string, b: BootstrapResult, issuer: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, INITIAL_PASSWORD_FILE);
  const text = [
    `# grantledger: the first admin, created ${new Date().toISOString()}.`,
    '# The first sign-in asks for a new password; then delete this file.',
    `url=${issuer}/settings/developer-tools`,
    `email=${b.email}`,
    `password=${b.password}`,
    '',
  ].join('\n');
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its mode otherwise
  return file;
}

export interface NoticeTarget {
  isTTY: boolean;
  write(text: string): void;
}

/** Tells the operator: the password itself only on an interactive terminal, else where the file is. */
export function announceBootstrap(
  settings: Settings, b: BootstrapResult, logger: Logger, opts: { dir?: string; out?: NoticeTarget } = {},
): string {
  const out = opts.out ?? { isTTY: process.stdout.isTTY === true, write: (t: string) => void process.stdout.write(t) };
  const file = writeInitialPassword(opts.dir ?? dataDir(settings), b, settings.server.issuer);
  logger.info('first company and admin created', { email: b.email, password_file: file });
  if (out.isTTY) {
    out.write([
      '',
      '  grantledger is ready. A first company and admin were created:',
      '',
      `    Developer Tools   ${settings.server.issuer}/settings/developer-tools`,
      `    E-mail            ${b.email}`,
      `    Password          ${b.password}   (also in ${file}; you choose a new one at the first sign-in)`,
      '',
      '  Register an app with:',
      '    npx grantledger client create --name "My App" --redirect-uri http://localhost:8080/callback',
      '',
    ].join('\n') + '\n');
  }
  return file;
}
