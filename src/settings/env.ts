// Environment variables → raw setting values, by the setting's type. An empty variable means
// "unset" (the files' value stays). Booleans take only true/false/1/0 (z.coerce.boolean would
// read "false" as true); numbers must look like numbers; structured settings (objects, records,
// arrays) are JSON. Range and format checks are the schema's job, after every layer is merged.
import type { z } from 'zod';
import { SettingsError, type Leaf } from './define.js';

export type EnvKind = 'string' | 'number' | 'boolean' | 'json';

const KINDS: Record<string, EnvKind> = {
  string: 'string', enum: 'string', literal: 'string', template_literal: 'string',
  number: 'number', int: 'number',
  boolean: 'boolean',
  object: 'json', record: 'json', array: 'json', tuple: 'json',
};
// Wrappers that do not change what the variable holds: look at the inner type.
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

/** What the environment variable of a setting with this schema holds. */
export function envKind(schema: z.ZodType): EnvKind {
  const def = schema.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
  if (WRAPPERS.has(def.type) && def.innerType) return envKind(def.innerType);
  if (def.type === 'pipe' && def.in) return envKind(def.in); // a transform: what goes in
  const kind = KINDS[def.type];
  if (!kind) throw new Error(`a ${def.type} cannot be read from the environment: give the setting a parseEnv`);
  return kind;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The value of `raw` for this setting, or undefined when the variable is unset or empty. */
export function readEnv({ setting }: Leaf, raw: string | undefined): unknown {
  if (raw === undefined || raw === '') return undefined;
  if (setting.parseEnv) {
    try {
      return setting.parseEnv(raw);
    } catch (err) {
      if (err instanceof SettingsError) throw err;
      throw new SettingsError(`invalid setting ${setting.env}=${raw}: ${(err as Error).message}`);
    }
  }
  switch (envKind(setting.schema)) {
    case 'boolean':
      if (/^(true|1)$/i.test(raw)) return true;
      if (/^(false|0)$/i.test(raw)) return false;
      throw new SettingsError(`invalid setting ${setting.env}=${raw}: use true or false`);
    case 'number':
      if (!NUMBER.test(raw.trim())) throw new SettingsError(`invalid setting ${setting.env}=${raw}: use a number`);
      return Number(raw);
    case 'json':
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        // Neither the value nor the parser's message (which quotes it) is echoed: it may be
        // long, or hold something secret.
        throw new SettingsError(`invalid setting ${setting.env}: not valid JSON`);
      }
    case 'string':
      return raw;
  }
}
