// Settings: the descriptors' defaults → config/default.js → config/<NODE_ENV>.js →
// config/local.js → environment variables → programmatic overrides (tests), validated with zod.
// An invalid value stops the start with one line naming the setting and its variable.
// What each setting is (variable, doc, type, default) is written once, in src/settings/descriptors.ts.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configDir } from './shared/paths.js';
import { SettingsError } from './settings/define.js';
import { descriptors, refine, type Settings } from './settings/descriptors.js';
import { resolveSettings, type Tree } from './settings/resolve.js';
import { sqlitePath } from './db/database.js';

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

/**
 * The data directory (DATA_DIR, default: the installation's data/ whatever the current
 * directory): where the default SQLite database, the generated secret key and first-start
 * files live. Absolute.
 */
export function dataDir(settings: Settings): string {
  return settings.dataDir;
}

/**
 * Creates the data directory (mode 0700) when something the settings use lives in it: the
 * SQLite file or the generated secret key. Only the server and `grantledger migrate` call this;
 * any other folder (DATABASE_URL=sqlite:/elsewhere/x.sqlite) must exist already, so a mistyped
 * path fails instead of starting an empty database there.
 */
export function prepareDataDir(settings: Settings): void {
  const dir = dataDir(settings);
  const used = [
    ...(settings.database.url.startsWith('sqlite:') ? [dirname(sqlitePath(settings.database.url))] : []),
    ...(settings.secrets.secretKey ? [] : [dirname(settings.secrets.secretKeyFile)]),
  ];
  if (used.includes(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
}
