// `npm run mutation [-- <module>…]`: StrykerJS (jest runner) over the security-critical modules,
// one module at a time with only the test files that exercise it, so that a run fits a shared
// 2-core machine (concurrency 1, coverage analysis perTest: each mutant runs only the tests
// that reach it). Prints the mutation score per module and the surviving mutants; the HTML and
// JSON reports go to reports/mutation/<module>/. Not part of `npm test` or CI's default run.
//
//   npm run mutation                 every module below, one after the other
//   npm run mutation -- tokens       one module
//   npm run mutation -- tokens --mutate src/tokens/format.ts   narrower still (one file)
import { Stryker } from '@stryker-mutator/core';
import type { MutantResult, PartialStrykerOptions } from '@stryker-mutator/api/core';

interface Module {
  /** The files whose mutants count. */
  mutate: string[];
  /** The test files that exercise them (the dry run and every mutant run use only these). */
  tests: string[];
}

export const modules: Record<string, Module> = {
  store: {
    mutate: ['src/oidc/payload-store.ts', 'src/oidc/adapter.ts'],
    tests: ['test/db/adapter.test.ts', 'test/ledger/grant-purge.test.ts', 'test/db/cleanup.test.ts'],
  },
  ledger: {
    mutate: ['src/ledger/revoke-connection.ts', 'src/ledger/effects.ts', 'src/ledger/connections.ts', 'src/ledger/authorizations.ts', 'src/ledger/grant-purge.ts', 'src/ledger/last-used.ts', 'src/ledger/company-access.ts', 'src/ledger/revoked-counts.ts'],
    tests: ['test/ledger/revoke.test.ts', 'test/ledger/race.test.ts', 'test/ledger/grant-purge.test.ts', 'test/ledger/last-used.test.ts', 'test/ledger/tenancy.test.ts', 'test/ledger/webhooks.test.ts'],
  },
  'token-format': {
    mutate: ['src/tokens/format.ts'],
    tests: ['test/tokens/format.test.ts', 'test/tokens/checksum.test.ts'],
  },
  tokens: {
    mutate: ['src/tokens/tokens.ts', 'src/tokens/create-access-token.ts', 'src/tokens/token.schema.ts'],
    tests: ['test/tokens/secrecy.test.ts', 'test/tokens/admin-api.test.ts', 'test/tokens/introspection.test.ts'],
  },
  'admin-auth': {
    mutate: ['src/admin/auth.ts'],
    tests: ['test/admin-pages/session.test.ts', 'test/authz/admin-controls.test.ts'],
  },
  policy: {
    mutate: ['src/authz/policy.ts'],
    tests: ['test/authz/policy.test.ts'],
  },
};

function score(results: MutantResult[]): { killed: number; survived: MutantResult[]; total: number; pct: number } {
  const counted = results.filter((r) => !['CompileError', 'RuntimeError', 'Ignored'].includes(r.status));
  const killed = counted.filter((r) => r.status === 'Killed' || r.status === 'Timeout').length;
  const survived = counted.filter((r) => r.status === 'Survived' || r.status === 'NoCoverage');
  return { killed, survived, total: counted.length, pct: counted.length ? (100 * killed) / counted.length : 100 };
}

async function run(name: string, module: Module, mutate: string[] | undefined): Promise<number> {
  const options: PartialStrykerOptions = {
    testRunner: 'jest',
    plugins: ['@stryker-mutator/jest-runner'],
    testRunnerNodeArgs: ['--experimental-vm-modules'],
    jest: {
      projectType: 'custom',
      configFile: 'jest.config.js',
      config: { testMatch: module.tests.map((t) => `<rootDir>/${t}`), maxWorkers: 1 },
      enableFindRelatedTests: false,
    },
    mutate: mutate ?? module.mutate,
    coverageAnalysis: 'perTest',
    concurrency: 1,
    timeoutMS: 20_000,
    timeoutFactor: 2,
    // ts-jest only transpiles (isolatedModules); Stryker adds // @ts-nocheck to mutated files.
    checkers: [],
    ignoreStatic: true,
    reporters: ['clear-text', 'html', 'json', 'progress'],
    htmlReporter: { fileName: `reports/mutation/${name}/index.html` },
    jsonReporter: { fileName: `reports/mutation/${name}/mutation.json` },
    tempDirName: `.stryker-tmp/${name}`,
    cleanTempDir: true,
  };
  const results = await new Stryker(options).runMutationTest();
  const s = score(results);
  console.log(`\n[mutation] ${name}: ${s.pct.toFixed(1)} % (${s.killed} of ${s.total} killed or timed out)`);
  for (const m of s.survived) {
    console.log(`[mutation]   ${m.status} ${m.fileName}:${m.location.start.line + 1} ${m.mutatorName}: ${m.replacement ?? ''}`.replace(/\s+/g, ' '));
  }
  return s.pct;
}

const args = process.argv.slice(2);
const mutateAt = args.indexOf('--mutate');
const mutate = mutateAt >= 0 ? args.splice(mutateAt, 2)[1]!.split(',') : undefined;
const names = args.length ? args : Object.keys(modules);
const unknown = names.filter((n) => !modules[n]);
if (unknown.length) {
  console.error(`unknown module(s) ${unknown.join(', ')}; one of ${Object.keys(modules).join(', ')}`);
  process.exit(2);
}
const scores: string[] = [];
for (const name of names) scores.push(`${name} ${(await run(name, modules[name]!, mutate)).toFixed(1)} %`);
console.log(`\n[mutation] scores: ${scores.join(', ')}`);
