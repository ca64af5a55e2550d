// The database: better-sqlite3 (embedded default) or a pg pool, behind a small SQL executor with
// prepared statements used by every query module. SQL is written once, portable across SQLite
// and PostgreSQL, with `?` placeholders. The schema belongs to TypeORM: its migrations
// (migrations/) create and change every table, and TypeORM is loaded only when some are
// pending (migrate.ts) — a server whose database is up to date never imports it.
//
// SQLite: one write connection guarded by an async mutex, so an open transaction never absorbs
// another request's statement, and one read-only connection for reads outside transactions
// (WAL: readers see only committed data and never wait for the writer).
// PostgreSQL: one pool; a transaction holds one pooled client.
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Mutex } from '../shared/mutex.js';
import { MIGRATION_NAMES } from './migrations/names.js';

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
  /**
   * Refuse to start a new database: a SQLite file must exist, a PostgreSQL schema must hold the
   * migrations table (the CLI's commands other than `migrate`). Throws NoDatabaseError.
   */
  mustExist?: boolean;
}

/** The database could not be opened or reached: one line naming it and the reason. */
export class DatabaseOpenError extends Error {}

/** There is no grantledger database where the settings point (mustExist). */
export class NoDatabaseError extends DatabaseOpenError {}

/** A unique constraint refused the write (SQLite and PostgreSQL alike): an idempotent create lost a race. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** The database for people: the SQLite file's absolute path, or the PostgreSQL URL without its password. */
export function describeDatabase(url: string): string {
  if (url.startsWith('sqlite:')) return sqlitePath(url);
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const db = options.url.startsWith('sqlite:') ? await openSqlite(options) : await openPostgres(options);
  return db;
}

export function sqlitePath(url: string): string {
  return resolve(url.replace(/^sqlite:(\/\/)?/, ''));
}

const NO_DATABASE_HINT = 'run "grantledger migrate" to create it (or start the server once), or point DATA_DIR / DATABASE_URL at the existing one';

/** The file exists (mustExist) and its folder is one: reasons in words before better-sqlite3 gives its own. */
function checkSqliteFile(file: string, mustExist: boolean): void {
  const dir = dirname(file);
  if (mustExist && !existsSync(file)) throw new NoDatabaseError(`no database at ${file}; ${NO_DATABASE_HINT}`);
  if (!existsSync(dir)) throw new DatabaseOpenError(`cannot open the SQLite database ${file}: the folder ${dir} does not exist (create it, or set DATA_DIR / DATABASE_URL)`);
  if (!statSync(dir).isDirectory()) throw new DatabaseOpenError(`cannot open the SQLite database ${file}: ${dir} is not a folder`);
  if (existsSync(file) && statSync(file).isDirectory()) throw new DatabaseOpenError(`cannot open the SQLite database ${file}: it is a folder`);
}

async function openSqlite(options: DatabaseOptions): Promise<Database> {
  const file = sqlitePath(options.url);
  checkSqliteFile(file, options.mustExist === true);
  try {
    return openSqliteFile(file);
  } catch (err) {
    throw new DatabaseOpenError(`cannot open the SQLite database ${file}: ${oneLine(err)}`);
  }
}

const oneLine = (err: unknown) => String((err as Error)?.message ?? err).replace(/\s*\n\s*/g, ' ');

function openSqliteFile(file: string): Database {
  const writer = new BetterSqlite3(file, { timeout: 5000 });
  writer.pragma('journal_mode = WAL');
  writer.pragma('synchronous = NORMAL');
  writer.pragma('foreign_keys = ON');
  writer.pragma('busy_timeout = 5000');
  // 16 MiB of page cache for the writer (a revocation touches many pages), 8 MiB for the
  // reader: enough for the hot index pages, small enough for the memory budget.
  writer.pragma('cache_size = -16384');
  const reader = new BetterSqlite3(file, { readonly: true, timeout: 5000 });
  reader.pragma('busy_timeout = 5000');
  reader.pragma('cache_size = -8192');
  return new SqliteDatabase(file, writer, reader);
}

/** Migrations not yet recorded in the `migrations` table (all of them on a new database). */
async function pendingMigrations(appliedNames: () => Promise<Array<{ name: string }>>): Promise<string[]> {
  let applied: Set<string>;
  try {
    applied = new Set((await appliedNames()).map((r) => r.name));
  } catch {
    return [...MIGRATION_NAMES];
  }
  return MIGRATION_NAMES.filter((name) => !applied.has(name));
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
    private readonly file: string,
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
    // Reads through the writer: the reader may not see a table created a moment ago by another process.
    const pending = await pendingMigrations(async () => this.writer.prepare('SELECT name FROM migrations').all() as Array<{ name: string }>);
    if (pending.length === 0) return [];
    const release = await this.#lock.acquire();
    try {
      const { runMigrations } = await import('./migrate.js');
      return await runMigrations({ type: 'better-sqlite3', database: this.file });
    } finally {
      release();
    }
  }

  async ping(): Promise<void> {
    this.reader.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.reader.close();
    this.writer.close();
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
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  // An idle client that errors (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const where = describeDatabase(options.url);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new DatabaseOpenError(`cannot reach the database ${where}: ${oneLine(err)}; check DATABASE_URL`);
  }
  if (options.mustExist) {
    const found = await pool.query("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'migrations'");
    if (found.rowCount === 0) {
      await pool.end().catch(() => undefined);
      throw new NoDatabaseError(`no grantledger database at ${where} (no migrations table in its schema); ${NO_DATABASE_HINT}`);
    }
  }
  return new PostgresDatabase(options.url, options.schema, pool);
}

class PostgresDatabase implements Database {
  readonly dialect = 'postgres' as const;
  #texts = new Map<string, { name: string; text: string }>();
  #count = 0;
  readonly #pooled: Executor;

  constructor(private readonly url: string, private readonly schema: string | undefined, private readonly pool: pg.Pool) {
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
    if ((await pendingMigrations(() => this.all<{ name: string }>('SELECT name FROM migrations'))).length === 0) return [];
    // An advisory lock makes concurrent starts of several instances migrate one at a time.
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(72017)');
      const { runMigrations } = await import('./migrate.js');
      return await runMigrations({ type: 'postgres', url: this.url, schema: this.schema });
    } finally {
      await client.query('SELECT pg_advisory_unlock(72017)').catch(() => undefined);
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
