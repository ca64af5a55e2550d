// The vocabulary of setting descriptors: `setting()` describes one setting (env name, doc, zod
// type, default), `computed()` / `noDefault()` say explicitly why a setting has no static
// default, and `Infer` turns a tree of descriptors into the settings type callers see.
// The tree itself is in descriptors.ts; what is built from it is in resolve.ts and docs.ts.
import type { z } from 'zod';

/** An invalid setting: the message is one line naming the setting and its variable. */
export class SettingsError extends Error {}

/** Reads another setting (already validated) by its path, e.g. get('server.port'). */
export type SettingGetter = (path: string) => unknown;

/** No static default: when unset, loadSettings computes the value from other settings. */
export interface Computed<T> {
  readonly kind: 'computed';
  /** What the default is, for the docs (Markdown), e.g. "`http://localhost:$PORT`". */
  readonly describe: string;
  readonly compute: (get: SettingGetter) => T;
}

/** No default at all: unset means unset (the schema says whether that is allowed). */
export interface NoDefault {
  readonly kind: 'none';
  /** What happens when unset, for the docs (Markdown). */
  readonly describe: string;
}

export interface SettingSpec<S extends z.ZodType, D> {
  /** The environment variable: UPPER_SNAKE_CASE, unique. */
  env: string;
  /** One or two sentences (Markdown) for the README table and config/default.js. */
  doc: string;
  /** Type and constraints. What the environment variable is read as follows from it (env.ts). */
  schema: S;
  /** A valid value, or computed(...) / noDefault(...). */
  default: D;
  /** 'seconds': the docs show the duration in readable units too. */
  unit?: 'seconds';
  /** Reads the raw variable when the schema's type alone cannot say how (e.g. a union). */
  parseEnv?: (raw: string) => unknown;
}

const SETTING = Symbol('setting');

export interface Setting<S extends z.ZodType = z.ZodType, D = unknown> extends SettingSpec<S, D> {
  readonly [SETTING]: true;
}

export function setting<
  S extends z.ZodType,
  D extends z.output<S> | Computed<NonNullable<z.output<S>>> | NoDefault,
>(spec: SettingSpec<S, D>): Setting<S, D> {
  return { ...spec, [SETTING]: true };
}

export const computed = <T>(describe: string, compute: (get: SettingGetter) => T): Computed<T> =>
  ({ kind: 'computed', describe, compute });

export const noDefault = (describe: string): NoDefault => ({ kind: 'none', describe });

export interface Section {
  readonly [key: string]: Setting | Section;
}

export const isSetting = (v: unknown): v is Setting =>
  typeof v === 'object' && v !== null && (v as Partial<Setting>)[SETTING] === true;

export const isComputed = (d: unknown): d is Computed<unknown> =>
  typeof d === 'object' && d !== null && (d as Partial<Computed<unknown>>).kind === 'computed';

export const isNoDefault = (d: unknown): d is NoDefault =>
  typeof d === 'object' && d !== null && (d as Partial<NoDefault>).kind === 'none';

/** A descriptor with its place in the tree. */
export interface Leaf {
  path: string;
  setting: Setting;
}

/** Every setting in the tree, depth first, in the order written. */
export function leaves(section: Section, prefix = ''): Leaf[] {
  return Object.entries(section).flatMap(([key, node]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return isSetting(node) ? [{ path, setting: node }] : leaves(node, path);
  });
}

/** The value a setting has once loaded: computed settings are never undefined. */
type Value<T> = T extends Setting<infer S, infer D>
  ? D extends Computed<unknown> ? NonNullable<z.output<S>> : z.output<S>
  : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The settings object a tree of descriptors describes (optional where the value may be unset). */
export type Infer<T> = T extends Setting
  ? Value<T>
  : Simplify<
      { -readonly [K in keyof T as undefined extends Infer<T[K]> ? never : K]: Infer<T[K]> } &
      { -readonly [K in keyof T as undefined extends Infer<T[K]> ? K : never]?: Infer<T[K]> }
    >;
