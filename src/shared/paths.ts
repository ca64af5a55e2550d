// Locates the package root, so config/ and views/ resolve the same way from src/ (tests)
// and from dist/src/ (the built server).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'config'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the grantledger package root above ${start}`);
    dir = parent;
  }
}

export const packageRoot = findRoot(dirname(fileURLToPath(import.meta.url)));
export const viewsDir = join(packageRoot, 'views');
export const configDir = join(packageRoot, 'config');
