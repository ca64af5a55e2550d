// `npm run lint` step: fails when modules under src/ import each other in a cycle — type-only
// imports included (eslint's import-x/no-cycle, also in the lint, sees only value imports; a
// cycle of types still means two modules that cannot be understood, or changed, apart).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)\.js'/gm;
const graph = new Map<string, string[]>();
for (const file of files(root)) {
  const deps = [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => resolve(dirname(file), `${m[1]}.ts`));
  graph.set(file, deps.filter((d) => d !== file));
}

// Depth-first search; a back edge closes a cycle.
const state = new Map<string, 'open' | 'done'>();
const cycles: string[][] = [];
function visit(node: string, path: string[]): void {
  state.set(node, 'open');
  for (const next of graph.get(node) ?? []) {
    if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next]);
    else if (!state.has(next)) visit(next, [...path, next]);
  }
  state.set(node, 'done');
}
for (const node of graph.keys()) if (!state.has(node)) visit(node, [node]);

if (cycles.length) {
  for (const c of cycles) process.stderr.write(`import cycle: ${c.map((f) => relative(root, f)).join(' → ')}\n`);
  process.exit(1);
}
process.stdout.write(`no import cycles among ${graph.size} modules in src/\n`);
