// Kept only for src/cli/main.ts, which imports from here until its rewrite lands: the schemas
// live with their domain now (tokens/token.schema.ts, shared/guid.schema.ts) and `parse` with
// the guard (shared/guard.ts).
export { newTokenSchema } from '../tokens/token.schema.js';
export { parse } from '../shared/guard.js';
