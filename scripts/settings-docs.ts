// `npm run settings:docs`: rewrites config/default.js and the README settings table from
// src/settings/descriptors.ts. With --check it writes nothing and exits 1 when either is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../src/config.js';
import { descriptors } from '../src/settings/descriptors.js';
import { renderDefaultFile, renderReadmeTable, withReadmeTable } from '../src/settings/docs.js';
import { configDir, packageRoot } from '../src/shared/paths.js';

const check = process.argv.includes('--check');
const readmeFile = join(packageRoot, 'README.md');
const defaultFile = join(configDir, 'default.js');

const readme = readFileSync(readmeFile, 'utf8');
const wanted = new Map([
  [defaultFile, renderDefaultFile(descriptors)],
  [readmeFile, withReadmeTable(readme, renderReadmeTable(descriptors, await loadConfigFile('production')))],
]);

let stale = 0;
for (const [file, text] of wanted) {
  const current = file === readmeFile ? readme : readFileSync(file, 'utf8');
  if (current === text) continue;
  stale++;
  if (check) console.error(`${file} is out of date: run npm run settings:docs`);
  else {
    writeFileSync(file, text);
    console.log(`wrote ${file}`);
  }
}
if (check && stale) process.exit(1);
if (!stale) console.log('config/default.js and the README settings table are up to date');
