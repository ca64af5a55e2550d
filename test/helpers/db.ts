// Test databases: a fresh SQLite file, or — when DATABASE_URL is postgres://… — a fresh schema
// of that server with a unique name, dropped afterwards. Migrations are applied (no synchronize).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.js';
import { randomSecret } from '../../src/shared/crypto.js';

export const usingPostgres = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '');

export interface TestDatabase {
  db: Database;
  /** What a second process needs to open the same database. */
  url: string;
  schema?: string;
  /** The SQLite file (undefined on PostgreSQL). */
  file?: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (usingPostgres) {
    const base = process.env.DATABASE_URL!;
    const schema = `gl_test_${randomSecret(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const db = await openDatabase({ url: base, schema, poolSize: 10 });
    await db.migrate();
    return {
      db, url: base, schema,
      async drop() {
        await db.close();
        const c = new pg.Client({ connectionString: base });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await c.end();
      },
    };
  }
  return createSqliteTestDatabase();
}

/** A fresh SQLite database whatever DATABASE_URL says (tests that read the database file). */
export async function createSqliteTestDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'grantledger-test-'));
  const file = join(dir, 'test.sqlite');
  const db = await openDatabase({ url: `sqlite:${file}` });
  await db.migrate();
  return {
    db, url: `sqlite:${file}`, file,
    async drop() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
