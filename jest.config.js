// Jest runs the TypeScript sources as native ES modules (oidc-provider is ESM-only).
// `npm test` sets NODE_OPTIONS=--experimental-vm-modules, which this needs.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 60_000,
  // Integration tests start real servers and databases: two at a time fits a 2-core machine.
  maxWorkers: 2,
};
