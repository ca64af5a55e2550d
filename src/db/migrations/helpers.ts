// Column shorthands for migrations written with TypeORM's portable Table API, so the same
// migration creates the same schema on SQLite and PostgreSQL.
import type { TableColumnOptions } from 'typeorm';

export const id = (): TableColumnOptions => ({
  name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment',
});
export const str = (name: string, length: number, nullable = false): TableColumnOptions => ({
  name, type: 'varchar', length: String(length), isNullable: nullable,
});
export const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });
/** Epoch milliseconds. */
export const time = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable });
export const int = (name: string, nullable = false, dflt?: number): TableColumnOptions => ({
  name, type: 'integer', isNullable: nullable, ...(dflt === undefined ? {} : { default: dflt }),
});
