// Running grantledger's own processes as an operator does: the CLI (src/cli/main.ts) and the
// server (src/main.ts) as child processes through tsx, from any current directory, with an
// environment of the test's choosing; and an empty place for a database (a SQLite path in a
// folder, or a PostgreSQL schema that the child reaches through a search_path in its URL).
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { randomSecret } from '../../src/shared/crypto.js';
import { packageRoot } from '../../src/shared/paths.js';
import { usingPostgres } from './db.js';

export interface Run {
  /** Exit code; -1 when the process was killed. */
  code: number;
  stdout: string;
  stderr: string;
}

/** tsx by absolute path: a child started in another directory cannot resolve the package name. */
const TSX = ['--import', join(packageRoot, 'node_modules/tsx/dist/esm/index.mjs')];
const TIMEOUT = 240_000;

/** A minimal environment: nothing of the test runner's DATABASE_URL, DATA_DIR or NODE_ENV leaks in. */
export function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', ...extra };
}

/** `grantledger <args>` with `env`, started in `cwd` (default: the package root). */
export function runCli(env: NodeJS.ProcessEnv, args: string[], cwd = packageRoot): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...TSX, join(packageRoot, 'src/cli/main.ts'), ...args], { cwd, env, timeout: TIMEOUT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** One JSON object of a successful `--json` run. */
export function jsonOf(run: Run): Record<string, unknown> {
  if (run.code !== 0) throw new Error(`grantledger exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout.trim()) as Record<string, unknown>;
}

/**
 * `npm start`'s entry point (src/main.ts) with `env` in `cwd`. Resolves when it exits, or — with
 * `until` — as soon as its output matches (then the process is stopped).
 */
export function runServer(env: NodeJS.ProcessEnv, cwd: string, until?: RegExp): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...TSX, join(packageRoot, 'src/main.ts')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let matched = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT);
    const check = () => {
      if (until && !matched && until.test(stdout + stderr)) {
        matched = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); check(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); check(); });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: matched ? 0 : code ?? -1, stdout, stderr });
    });
  });
}

/** An empty place for a database: its DATABASE_URL, and how to remove it. */
export interface EmptyDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A PostgreSQL schema of its own (DATABASE_URL=postgres://…), else a SQLite file in `dir`. */
export async function emptyDatabase(dir: string): Promise<EmptyDatabase> {
  if (!usingPostgres) return { url: `sqlite:${join(dir, 'grantledger.sqlite')}`, drop: async () => undefined };
  const base = process.env.DATABASE_URL!;
  const schema = `gl_cli_${randomSecret(6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const sql = async (text: string) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  await sql(`CREATE SCHEMA ${schema}`);
  return {
    url: `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    drop: () => sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
  };
}
