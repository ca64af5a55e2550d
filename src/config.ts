// Settings: the descriptors' defaults → config/default.js → config/<NODE_ENV>.js →
// config/local.js → environment variables → programmatic overrides (tests), validated with zod.
// An invalid value stops the start with one line naming the setting and its variable.
// What each setting is (variable, doc, type, default) is written once, in src/settings/descriptors.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configDir } from './shared/paths.js';
import { SettingsError } from './settings/define.js';
import { descriptors, refine, type Settings } from './settings/descriptors.js';
import { resolveSettings, type Tree } from './settings/resolve.js';

export { SettingsError, type Settings };
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type SettingsOverrides = DeepPartial<Settings>;

/** The default export of config/<name>.js, or {} when there is no such file. */
export async function loadConfigFile(name: string): Promise<Tree> {
  const file = join(configDir, `${name}.js`);
  if (!existsSync(file)) return {};
  const mod = (await import(pathToFileURL(file).href)) as { default?: Tree };
  return mod.default ?? {};
}

export async function loadSettings(
  overrides: SettingsOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Settings> {
  const files = [
    await loadConfigFile('default'),
    await loadConfigFile(env.NODE_ENV ?? 'development'),
    await loadConfigFile('local'),
  ];
  return resolveSettings(descriptors, { files, env, overrides: overrides as Tree }, refine);
}
