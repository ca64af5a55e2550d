// The names of every migration, in order, without loading TypeORM: the server compares them with
// the `migrations` table at start and loads TypeORM only when one is pending. A test checks this
// list against the migration classes in index.ts.
export const MIGRATION_NAMES: readonly string[] = [
  'Core1764288000000',
  'Ledger1764288100000',
  'Admin1764288200000',
  'Tokens1764288300000',
  'Authorization1764288400000',
  'FirstStart1764900000001',
  'Operators1764910000000',
  'Usage1764920000000',
  'Upstream1764930000000',
];
