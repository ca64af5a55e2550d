// Every setting is complete: a path, a documented variable of its own, a default that its own
// schema accepts (or an explicit "computed" / "no default" with a description), and a type the
// environment can be read as.
import { describe, expect, test } from '@jest/globals';
import { isComputed, isNoDefault, leaves } from '../../src/settings/define.js';
import { descriptors } from '../../src/settings/descriptors.js';
import { envKind } from '../../src/settings/env.js';

const all = leaves(descriptors);

describe('the setting descriptors', () => {
  test('there is one per setting of the settings object', () => {
    expect(all.map((l) => l.path)).toEqual(expect.arrayContaining(['server.port', 'database.url', 'tokens.grantTtl', 'bootstrap']));
    expect(all.length).toBeGreaterThanOrEqual(31);
  });

  test.each(all.map((l) => [l.path, l] as const))('%s has a variable, a doc and a default', (_path, { setting }) => {
    expect(setting.env).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
    // One or two sentences, one line, as the README table and config/default.js print them.
    expect(setting.doc).toMatch(/^\S.*\.(\*\*)?$/);
    expect(setting.doc).not.toMatch(/\n/);
    expect(setting.doc.length).toBeLessThan(300);

    const d = setting.default;
    if (isComputed(d) || isNoDefault(d)) expect(d.describe.trim()).not.toBe('');
    else expect(setting.schema.safeParse(d).error?.issues ?? []).toEqual([]);
    if (!setting.parseEnv) expect(() => envKind(setting.schema)).not.toThrow();
  });

  test('variables are unique', () => {
    const names = all.map((l) => l.setting.env);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });
});
