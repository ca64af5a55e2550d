// Runs pending TypeORM migrations on a DataSource of its own, then closes it. Loaded on demand
// (database.ts) so that TypeORM stays out of a server whose schema is up to date.
import { DataSource } from 'typeorm';
import { migrations } from './migrations/index.js';

export type MigrationTarget =
  | { type: 'better-sqlite3'; database: string }
  | { type: 'postgres'; url: string; schema?: string };

export async function runMigrations(target: MigrationTarget): Promise<string[]> {
  const dataSource = new DataSource(target.type === 'postgres'
    ? {
      type: 'postgres', url: target.url, schema: target.schema, poolSize: 1, migrations, migrationsTableName: 'migrations',
      extra: target.schema ? { options: `-c search_path=${target.schema}` } : {},
    }
    : { type: 'better-sqlite3', database: target.database, timeout: 5000, migrations, migrationsTableName: 'migrations' });
  await dataSource.initialize();
  try {
    const done = await dataSource.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}
