// config/default.js and the README settings table are generated from the descriptors
// (`npm run settings:docs`); these tests fail while either is out of date.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { loadConfigFile } from '../../src/config.js';
import { leaves } from '../../src/settings/define.js';
import { descriptors } from '../../src/settings/descriptors.js';
import { README_BEGIN, README_END, renderDefaultFile, renderReadmeTable, withReadmeTable } from '../../src/settings/docs.js';
import { defaultsOf } from '../../src/settings/resolve.js';
import { configDir, packageRoot } from '../../src/shared/paths.js';

const read = (file: string) => readFileSync(file, 'utf8');
const readmeFile = join(packageRoot, 'README.md');
const defaultFile = join(configDir, 'default.js');

describe('documents generated from the descriptors', () => {
  test('the README settings table is up to date (npm run settings:docs)', async () => {
    const readme = read(readmeFile);
    const table = readme.slice(readme.indexOf(README_BEGIN) + README_BEGIN.length + 1, readme.indexOf(README_END));
    expect(table).toBe(renderReadmeTable(descriptors, await loadConfigFile('production')));
  });

  test('config/default.js is up to date (npm run settings:docs)', () => {
    expect(read(defaultFile)).toBe(renderDefaultFile(descriptors));
  });

  test('config/default.js evaluates to the descriptors\' defaults', async () => {
    const mod = (await import(pathToFileURL(defaultFile).href)) as { default: unknown };
    expect(mod.default).toEqual(defaultsOf(descriptors));
  });

  test('the table has a row per setting and notes what config/production.js changes', () => {
    const table = renderReadmeTable(descriptors, { server: { trustProxy: true }, logLevel: 'info' });
    expect(table).toContain('| `TRUST_PROXY` | `server.trustProxy` | `0` (`true` in production) |');
    expect(table).toContain('| `LOG_LEVEL` | `logLevel` | `info` |'); // same value: no note
    expect(table).toContain('| `ISSUER` | `server.issuer` | `http://localhost:$PORT` |');
    expect(table).toContain('| `REFRESH_TOKEN_TTL` | `tokens.refreshTokenTtl` | `2592000` s (30 d) |');
    expect(table.trim().split('\n')).toHaveLength(2 + leaves(descriptors).length);
  });

  test('a changed doc shows up as a stale table', async () => {
    const production = await loadConfigFile('production');
    const changed = { ...descriptors, bootstrap: { ...descriptors.bootstrap, doc: 'something else.' } };
    const readme = read(readmeFile);
    expect(withReadmeTable(readme, renderReadmeTable(changed, production))).not.toBe(readme);
    expect(withReadmeTable(readme, renderReadmeTable(descriptors, production))).toBe(readme);
  });

  test('without its markers the README is refused, not rewritten', () => {
    expect(() => withReadmeTable('# no table here\n', 'x')).toThrow(/settings:begin/);
  });

  test('npm run settings:docs -- --check passes on the committed files', () => {
    const tsx = join(packageRoot, 'node_modules', '.bin', 'tsx');
    expect(() => execFileSync(tsx, ['scripts/settings-docs.ts', '--check'], { cwd: packageRoot, stdio: 'pipe' })).not.toThrow();
  });
});
