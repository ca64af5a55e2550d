// Builds what a tree of setting descriptors implies: the zod schema, the defaults tree, the
// environment layer; and resolves one settings object from the layers (later wins):
// descriptor defaults → config files (in the order given) → environment → programmatic
// overrides. Then: validate, fill computed defaults, apply the cross-field rules.
import { z } from 'zod';
import { readEnv } from './env.js';
import {
  isComputed, isNoDefault, isSetting, leaves, SettingsError,
  type Infer, type Leaf, type Section,
} from './define.js';

export type Tree = Record<string, unknown>;
export type Refinement<T> = (settings: T, ctx: z.RefinementCtx<T>) => void;

const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Deep merge that copies every section, so later writes never reach the imported config modules.
 * A setting's value replaces the previous one as a whole, even a structured one (a role map from
 * config/production.js is not merged key by key into the default map); zod's parse copies it.
 */
function merge(target: Tree, source: Tree, shape?: Section): Tree {
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const node = shape?.[key];
    if (isSetting(node) || !isTree(value)) target[key] = value;
    else target[key] = merge(isTree(target[key]) ? { ...target[key] } : {}, value, node);
  }
  return target;
}

export function getPath(tree: unknown, path: string): unknown {
  let node = tree;
  for (const key of path.split('.')) node = isTree(node) ? node[key] : undefined;
  return node;
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Tree;
  node[keys.at(-1)!] = value;
}

/** The zod object schema of a section (unknown keys are dropped, as z.object does). */
export function schemaOf(section: Section): z.ZodObject {
  return z.object(Object.fromEntries(
    Object.entries(section).map(([key, node]) => [key, isSetting(node) ? node.schema : schemaOf(node)]),
  ));
}

/** The static defaults; computed and no-default settings are absent (their sections are there, maybe empty). */
export function defaultsOf(section: Section): Tree {
  const tree: Tree = {};
  for (const { path, setting } of leaves(section)) {
    if (!isComputed(setting.default) && !isNoDefault(setting.default)) setPath(tree, path, setting.default);
    else if (path.includes('.')) setPath(tree, path.slice(0, path.lastIndexOf('.')), getPath(tree, path.slice(0, path.lastIndexOf('.'))) ?? {});
  }
  return tree;
}

/** The environment layer: a partial tree of the variables that are set. */
export function envLayer(all: Leaf[], env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  for (const leaf of all) {
    const value = readEnv(leaf, env[leaf.setting.env]);
    if (value !== undefined) setPath(tree, leaf.path, value);
  }
  return tree;
}

/** "server.port (PORT)": the setting an issue path falls in, with its variable. */
function label(all: Leaf[], path: string): string {
  const leaf = all.find((l) => path === l.path || path.startsWith(`${l.path}.`));
  return leaf ? `${path} (${leaf.setting.env})` : path || '(root)';
}

export interface Layers {
  files: Tree[];
  env: NodeJS.ProcessEnv;
  overrides: Tree;
}

export function resolveSettings<T extends Section>(
  descriptors: T,
  layers: Layers,
  refine: Refinement<Infer<T>> = () => {},
): Infer<T> {
  const all = leaves(descriptors);
  const tree = defaultsOf(descriptors);
  for (const file of layers.files) merge(tree, file, descriptors);
  merge(tree, envLayer(all, layers.env), descriptors);
  merge(tree, layers.overrides, descriptors);

  const schema = schemaOf(descriptors)
    .transform((parsed) => {
      for (const { path, setting } of all) {
        if (isComputed(setting.default) && getPath(parsed, path) === undefined) {
          setPath(parsed, path, setting.default.compute((p) => getPath(parsed, p)));
        }
      }
      return parsed as Infer<T>;
    })
    .superRefine(refine);

  const parsed = schema.safeParse(tree);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SettingsError(`invalid setting ${label(all, issue.path.join('.'))}: ${issue.message}`);
  }
  return parsed.data;
}
