// Every migration, in order. New migrations are appended here.
import { Core1764288000000 } from './1764288000000-core.js';
import { Ledger1764288100000 } from './1764288100000-ledger.js';
import { Admin1764288200000 } from './1764288200000-admin.js';
import { Tokens1764288300000 } from './1764288300000-tokens.js';
import { Authorization1764288400000 } from './1764288400000-authorization.js';
import { FirstStart1764900000001 } from './1764900000001-first-start.js';
import { Operators1764910000000 } from './1764910000000-operators.js';
import { Usage1764920000000 } from './1764920000000-usage.js';
import { Upstream1764930000000 } from './1764930000000-upstream.js';

export const migrations = [
  Core1764288000000, Ledger1764288100000, Admin1764288200000, Tokens1764288300000, Authorization1764288400000,
  FirstStart1764900000001, Operators1764910000000, Usage1764920000000, Upstream1764930000000,
];
