// The database: a TypeORM DataSource (connection, migrations) plus a small SQL executor with
// prepared statements, used by every query module. SQL is written once, portable across SQLite
// and PostgreSQL, with `?` placeholders.
//
// SQLite: one write connection (TypeORM's) guarded by an async mutex, so an open transaction
// never absorbs another request's statement, and one read-only connection for reads outside
// transactions (WAL: readers see only committed data and never wait for the writer).
// PostgreSQL: one pool; a transaction holds one pooled client.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { Mutex } from '../shared/mutex.js';
import { migrations } from './migrations/index.js';

export type Row = Record<string, unknown>;
export type Params = ReadonlyArray<string | number | bigint | Buffer | null>;

export interface Executor {
  /** Rows of a read (inside a transaction: sees the transaction's own writes). */
  all<T = Row>(sql: string, params?: Params): Promise<T[]>;
  get<T = Row>(sql: string, params?: Params): Promise<T | undefined>;
  /** A write; `rows` holds what a RETURNING clause gave. */
  run<T = Row>(sql: string, params?: Params): Promise<{ changes: number; rows: T[] }>;
}

export interface Database extends Executor {
  readonly dialect: 'sqlite' | 'postgres';
  readonly dataSource: DataSource;
  /** One transaction; `fn` must use `tx`, not the database, for every statement. */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  migrate(): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** Statements executed so far (tests and benchmarks count them). */
  readonly statements: number;
}

// bigint columns (epoch milliseconds, counts) come back from pg as strings by default.
pg.types.setTypeParser(20, (v: string) => Number(v));

interface PendingWrite {
  sql: string;
  params: Params;
  resolve(value: { changes: number; rows: unknown[] }): void;
  reject(err: unknown): void;
}

export interface DatabaseOptions {
  url: string;
  poolSize?: number;
  /** PostgreSQL schema to use (tests isolate themselves in a schema of their own). */
  schema?: string;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const db = options.url.startsWith('sqlite:') ? await openSqlite(options) : await openPostgres(options);
  return db;
}

export function sqlitePath(url: string): string {
  return resolve(url.replace(/^sqlite:(\/\/)?/, ''));
}

async function openSqlite(options: DatabaseOptions): Promise<Database> {
  const file = sqlitePath(options.url);
  mkdirSync(dirname(file), { recursive: true });
  const dataSource = new DataSource({
    type: 'better-sqlite3',
    database: file,
    enableWAL: true,
    timeout: 5000,
    migrations,
    migrationsTableName: 'migrations',
    prepareDatabase: (conn: BetterSqlite3.Database) => {
      conn.pragma('busy_timeout = 5000');
      conn.pragma('synchronous = NORMAL');
      // 16 MiB of page cache for the writer (a revocation touches many pages), 8 MiB for the
      // reader: enough for the hot index pages, small enough for the memory budget.
      conn.pragma('cache_size = -16384');
    },
  });
  await dataSource.initialize();
  const writer = (dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database }).databaseConnection;
  const reader = new BetterSqlite3(file, { readonly: true, timeout: 5000 });
  reader.pragma('busy_timeout = 5000');
  reader.pragma('cache_size = -8192');
  return new SqliteDatabase(dataSource, writer, reader);
}

class StatementCache {
  #cache = new Map<string, BetterSqlite3.Statement>();
  constructor(private readonly conn: BetterSqlite3.Database) {}
  get(sql: string): BetterSqlite3.Statement {
    let stmt = this.#cache.get(sql);
    if (!stmt) {
      stmt = this.conn.prepare(sql);
      this.#cache.set(sql, stmt);
    }
    return stmt;
  }
}

class SqliteDatabase implements Database {
  readonly dialect = 'sqlite' as const;
  #writes: StatementCache;
  #reads: StatementCache;
  #lock = new Mutex();
  #count = 0;

  constructor(
    readonly dataSource: DataSource,
    private readonly writer: BetterSqlite3.Database,
    private readonly reader: BetterSqlite3.Database,
  ) {
    this.#writes = new StatementCache(writer);
    this.#reads = new StatementCache(reader);
  }

  get statements() {
    return this.#count;
  }

  #read<T>(cache: StatementCache, sql: string, params: Params, one: boolean): T[] | T | undefined {
    this.#count++;
    const stmt = cache.get(sql);
    return (one ? stmt.get(...params) : stmt.all(...params)) as T[] | T | undefined;
  }

  #write<T>(sql: string, params: Params): { changes: number; rows: T[] } {
    this.#count++;
    const stmt = this.#writes.get(sql);
    if (stmt.reader) {
      const rows = stmt.all(...params) as T[];
      return { changes: rows.length, rows };
    }
    return { changes: stmt.run(...params).changes, rows: [] };
  }

  async all<T = Row>(sql: string, params: Params = []): Promise<T[]> {
    return this.#read<T>(this.#reads, sql, params, false) as T[];
  }

  async get<T = Row>(sql: string, params: Params = []): Promise<T | undefined> {
    return this.#read<T>(this.#reads, sql, params, true) as T | undefined;
  }

  /**
   * Group commit: writes issued outside a transaction during one turn of the event loop are
   * committed together (one BEGIN IMMEDIATE … COMMIT), each keeping its own result or error,
   * and every caller is answered after the commit. Under load this turns one WAL commit per
   * token issued into one per batch.
   */
  run<T = Row>(sql: string, params: Params = []): Promise<{ changes: number; rows: T[] }> {
    return new Promise((resolve, reject) => {
      this.#batch.push({ sql, params, resolve: resolve as PendingWrite['resolve'], reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  #batch: PendingWrite[] = [];
  #flushScheduled = false;

  async #flush(): Promise<void> {
    const release = await this.#lock.acquire();
    const batch = this.#batch;
    this.#batch = [];
    this.#flushScheduled = false;
    try {
      if (batch.length === 1) {
        const w = batch[0]!;
        try {
          w.resolve(this.#write(w.sql, w.params));
        } catch (err) {
          w.reject(err);
        }
        return;
      }
      this.#commitBatch(batch);
    } finally {
      release();
    }
  }

  #commitBatch(batch: PendingWrite[]): void {
    type Outcome = { ok: true; value: { changes: number; rows: unknown[] } } | { ok: false; error: unknown };
    const outcomes: Outcome[] = [];
    let committedUpTo = 0; // outcomes[0, committedUpTo) are final (committed or rolled back)
    const settle = (upTo: number, committed: boolean, cause?: unknown) => {
      for (let i = committedUpTo; i < upTo; i++) {
        const o = outcomes[i]!;
        if (o.ok && committed) batch[i]!.resolve(o.value);
        else batch[i]!.reject(o.ok ? cause : o.error);
      }
      committedUpTo = upTo;
    };
    try {
      this.writer.exec('BEGIN IMMEDIATE');
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) {
      try {
        outcomes.push({ ok: true, value: this.#write(w.sql, w.params) });
      } catch (error) {
        outcomes.push({ ok: false, error });
        // A constraint error undoes only its statement; a severe one ends the transaction,
        // undoing the earlier statements of the batch: fail them, start again for the rest.
        if (!this.writer.inTransaction) {
          settle(outcomes.length, false, error);
          this.writer.exec('BEGIN IMMEDIATE');
        }
      }
    }
    try {
      this.writer.exec('COMMIT');
      settle(outcomes.length, true);
    } catch (err) {
      if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
      settle(outcomes.length, false, err);
    }
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    const release = await this.#lock.acquire();
    try {
      this.writer.exec('BEGIN IMMEDIATE');
      const tx: Executor = {
        all: async (sql, params = []) => this.#read(this.#writes, sql, params, false) as never,
        get: async (sql, params = []) => this.#read(this.#writes, sql, params, true) as never,
        run: async (sql, params = []) => this.#write(sql, params),
      };
      try {
        const result = await fn(tx);
        this.writer.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        throw err;
      }
    } finally {
      release();
    }
  }

  async migrate(): Promise<string[]> {
    const release = await this.#lock.acquire();
    try {
      const done = await this.dataSource.runMigrations({ transaction: 'each' });
      return done.map((m) => m.name);
    } finally {
      release();
    }
  }

  async ping(): Promise<void> {
    this.reader.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.reader.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** `?` → `$1, $2, …` outside quoted strings. */
function toPgPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '?') {
      out += `$${++n}`;
      continue;
    }
    out += ch;
  }
  return out;
}

async function openPostgres(options: DatabaseOptions): Promise<Database> {
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    migrations,
    migrationsTableName: 'migrations',
    poolSize: options.poolSize ?? 10,
    extra: options.schema ? { options: `-c search_path=${options.schema}` } : {},
  });
  await dataSource.initialize();
  const pool = (dataSource.driver as unknown as { master: pg.Pool }).master;
  return new PostgresDatabase(dataSource, pool);
}

class PostgresDatabase implements Database {
  readonly dialect = 'postgres' as const;
  #texts = new Map<string, { name: string; text: string }>();
  #count = 0;
  readonly #pooled: Executor;

  constructor(readonly dataSource: DataSource, private readonly pool: pg.Pool) {
    this.#pooled = this.#executor(pool);
  }

  get statements() {
    return this.#count;
  }

  /** Named (server-side prepared) statements: parsed and planned once per connection. */
  #query(sql: string): { name: string; text: string } {
    let q = this.#texts.get(sql);
    if (!q) {
      q = { name: `gl_${this.#texts.size}`, text: toPgPlaceholders(sql) };
      this.#texts.set(sql, q);
    }
    return q;
  }

  async #exec<T>(client: pg.Pool | pg.PoolClient, sql: string, params: Params) {
    this.#count++;
    const q = this.#query(sql);
    const res = await client.query({ name: q.name, text: q.text, values: params as unknown[] });
    return { changes: res.rowCount ?? 0, rows: res.rows as T[] };
  }

  #executor(client: pg.Pool | pg.PoolClient): Executor {
    return {
      all: async <T>(sql: string, params: Params = []) => (await this.#exec<T>(client, sql, params)).rows,
      get: async <T>(sql: string, params: Params = []) => (await this.#exec<T>(client, sql, params)).rows[0],
      run: async <T>(sql: string, params: Params = []) => this.#exec<T>(client, sql, params),
    };
  }

  all<T = Row>(sql: string, params?: Params) {
    return this.#pooled.all<T>(sql, params);
  }
  get<T = Row>(sql: string, params?: Params) {
    return this.#pooled.get<T>(sql, params);
  }
  run<T = Row>(sql: string, params?: Params) {
    return this.#pooled.run<T>(sql, params);
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(this.#executor(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async migrate(): Promise<string[]> {
    // An advisory lock makes concurrent starts of several instances migrate one at a time.
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.query('SELECT pg_advisory_lock(72017)');
      const done = await this.dataSource.runMigrations({ transaction: 'each' });
      return done.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock(72017)').catch(() => undefined);
      await runner.release();
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
