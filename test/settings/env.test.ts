// Environment variables are read by the type of their setting's schema: booleans only
// true/false/1/0, numbers only numbers, structured settings as JSON, text as it is; an empty
// variable is unset. Through loadSettings for the real descriptors, and through resolveSettings
// for a small tree with the kinds the real one does not have yet (JSON, parseEnv).
import { describe, expect, test } from '@jest/globals';
import { z } from 'zod';
import { loadSettings } from '../../src/config.js';
import { computed, noDefault, setting, SettingsError } from '../../src/settings/define.js';
import { envKind } from '../../src/settings/env.js';
import { resolveSettings, type Layers } from '../../src/settings/resolve.js';

const tree = {
  limits: {
    hops: setting({
      env: 'T_HOPS', doc: 'a count.', schema: z.number().int().min(0), default: 0,
    }),
    enabled: setting({ env: 'T_ENABLED', doc: 'a flag.', schema: z.boolean(), default: false }),
  },
  name: setting({ env: 'T_NAME', doc: 'a text.', schema: z.string().min(1), default: 'grantledger' }),
  roles: setting({
    env: 'T_ROLES', doc: 'role → scopes.',
    schema: z.record(z.string(), z.array(z.string().regex(/^[a-z]+:[a-z]+$/))),
    default: { admin: ['company:read', 'company:write'], member: ['company:read'] },
  }),
  // "true, false or a hop count": a union, read by its own parser.
  proxy: setting({
    env: 'T_PROXY', doc: 'a union.', schema: z.union([z.boolean(), z.number().int().min(0)]), default: false,
    parseEnv: (raw) => {
      if (/^(true|false)$/.test(raw)) return raw === 'true';
      if (!/^\d+$/.test(raw)) throw new Error('use true, false or a hop count');
      return Number(raw);
    },
  }),
  url: setting({
    env: 'T_URL', doc: 'computed.', schema: z.string().optional(),
    default: computed('`http://$NAME`', (get) => `http://${String(get('name'))}`),
  }),
  token: setting({ env: 'T_TOKEN', doc: 'no default.', schema: z.string().optional(), default: noDefault('none') }),
};

const resolve = (env: Record<string, string>, more: Partial<Layers> = {}) =>
  resolveSettings(tree, { files: [], overrides: {}, ...more, env });

function failure(env: Record<string, string>): SettingsError {
  let error: unknown;
  try {
    resolve(env);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(SettingsError);
  return error as SettingsError;
}

describe('each variable is read by the type of its setting', () => {
  test('numbers, booleans, text and JSON arrive typed', () => {
    const s = resolve({ T_HOPS: '2', T_ENABLED: 'TRUE', T_NAME: 'auth', T_ROLES: '{"owner":["company:write"]}' });
    expect(s.limits.hops).toBe(2);
    expect(s.limits.enabled).toBe(true);
    expect(s.name).toBe('auth');
    expect(s.roles).toEqual({ owner: ['company:write'] }); // the whole value, not merged into the default
  });

  test('the real descriptors: PORT is a number, TRUST_PROXY a hop count, HOST text', async () => {
    const s = await loadSettings({}, { NODE_ENV: 'development', PORT: '8080', TRUST_PROXY: '1', HOST: '127.0.0.1' });
    expect(s.server.port).toBe(8080);
    expect(s.server.trustProxy).toBe(1);
    expect(s.server.host).toBe('127.0.0.1');
  });

  test.each(['yes', 'on', '2', 'truee'])('a bad boolean (%s) stops with "use true or false"', (raw) => {
    expect(failure({ T_ENABLED: raw }).message).toBe(`invalid setting T_ENABLED=${raw}: use true or false`);
  });

  test.each(['abc', ' ', '12px', '0x10'])('a non-number (%j) stops with "use a number", never reads as 0', (raw) => {
    expect(failure({ T_HOPS: raw }).message).toBe(`invalid setting T_HOPS=${raw}: use a number`);
  });

  test('a number out of range is the schema\'s error, naming the setting and its variable', () => {
    expect(failure({ T_HOPS: '-1' }).message).toMatch(/^invalid setting limits\.hops \(T_HOPS\): /);
  });

  test('bad JSON stops with one line that does not echo the value', () => {
    const message = failure({ T_ROLES: '{"admin": secret-ish' }).message;
    expect(message).toBe('invalid setting T_ROLES: not valid JSON');
  });

  test('JSON of the wrong shape names the setting and its variable', () => {
    const message = failure({ T_ROLES: '{"admin":["not a scope"]}' }).message;
    expect(message).toMatch(/^invalid setting roles\.admin\.0 \(T_ROLES\): /);
    expect(message).not.toContain('\n');
  });

  test('an empty variable is unset, for every type: the files\' values stay', () => {
    const file = { limits: { hops: 3, enabled: true }, name: 'from-file', roles: { a: ['x:y'] }, proxy: 2 };
    const s = resolve({ T_HOPS: '', T_ENABLED: '', T_NAME: '', T_ROLES: '', T_PROXY: '', T_URL: '' }, { files: [file] });
    expect(s).toMatchObject(file);
    expect(s.url).toBe('http://from-file');
  });

  test('a file replaces a structured default as a whole, and the default tree is not mutated', () => {
    expect(resolve({}, { files: [{ roles: { viewer: ['company:read'] } }] }).roles).toEqual({ viewer: ['company:read'] });
    const s = resolve({});
    expect(s.roles).toEqual({ admin: ['company:read', 'company:write'], member: ['company:read'] });
    s.roles.admin!.push('x:y');
    expect(resolve({}).roles.admin).toEqual(['company:read', 'company:write']);
  });

  test('parseEnv reads what the type alone cannot', () => {
    expect(resolve({ T_PROXY: 'true' }).proxy).toBe(true);
    expect(resolve({ T_PROXY: '2' }).proxy).toBe(2);
    expect(failure({ T_PROXY: 'many' }).message).toBe('invalid setting T_PROXY=many: use true, false or a hop count');
  });

  test('a computed default follows the setting it comes from; a value set wins', () => {
    expect(resolve({ T_NAME: 'auth' }).url).toBe('http://auth');
    expect(resolve({ T_URL: 'https://x' }).url).toBe('https://x');
  });

  test('a setting with no default stays unset', () => {
    expect(resolve({}).token).toBeUndefined();
    expect(resolve({ T_TOKEN: 't' }).token).toBe('t');
  });

  test('what each schema type is read as; a type with no reading asks for parseEnv', () => {
    expect(envKind(z.number().int().optional())).toBe('number');
    expect(envKind(z.url().transform((u) => u).optional())).toBe('string');
    expect(envKind(z.enum(['a', 'b']))).toBe('string');
    expect(envKind(z.array(z.string()))).toBe('json');
    expect(() => envKind(z.union([z.boolean(), z.number()]))).toThrow(/parseEnv/);
  });
});
