// Child processes of the benchmark: our server (src/main.ts, the production entry point), the
// stock oidc-provider and the bare node:http server. Each runs in its own process, so no load
// generator shares a server's event loop.
//
// Runtime: `build` compiles src/ and scripts/bench/ once with tsc (scripts/bench/tsconfig.build.json;
// `npm run build` compiles src/ only) into bench-results/.build (git-ignored; the shared dist/ is
// left alone) and runs plain `node` on the output, so resident memory is not inflated by the
// TypeScript loader (~40 MB); `tsx` runs the sources through `node --import tsx`.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../test/helpers/http.js';
import { log, sleep } from './common.js';

export const ROOT = resolve(import.meta.dirname, '..', '..', ...(import.meta.dirname.includes('/bench-results/.build/') ? ['..', '..'] : []));

export type RuntimeKind = 'build' | 'tsx';

export interface Runtime {
  kind: RuntimeKind;
  /** node arguments that run `rel` (a .ts path relative to the package root). */
  args(rel: string): string[];
}

/** Compiles the project into bench-results/.build and returns a runtime for it (tsx if that fails). */
export function prepareRuntime(kind: RuntimeKind): Runtime {
  const tsx: Runtime = { kind: 'tsx', args: (rel) => ['--import', 'tsx', join(ROOT, rel)] };
  if (kind === 'tsx') return tsx;
  const out = join(ROOT, 'bench-results', '.build');
  log('compiling src/ and scripts/bench/ with tsc into bench-results/.build …');
  try {
    execFileSync(process.execPath, [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'scripts', 'bench', 'tsconfig.build.json'),
      '--outDir', out, '--tsBuildInfoFile', join(out, '.tsbuildinfo'), '--sourceMap', 'false',
    ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // Type errors (other work in progress) still emit JavaScript; only a missing output is fatal.
    const text = String((err as { stdout?: Buffer }).stdout ?? '').split('\n').slice(0, 5).join('\n');
    log(`tsc reported errors (output still emitted):\n${text}`);
  }
  if (!existsSync(join(out, 'src', 'main.js'))) {
    log('no compiled output: falling back to tsx');
    return tsx;
  }
  return { kind: 'build', args: (rel) => [join(out, rel.replace(/\.ts$/, '.js'))] };
}

export interface Child {
  name: string;
  pid: number;
  url: string;
  /** The JSON a helper child printed on its BENCH_READY line (empty for our server). */
  info: Record<string, unknown>;
  proc: ChildProcess;
  /** Date.now() when the process was spawned (profiles skip what precedes the load). */
  spawnedAt: number;
  stop(): Promise<void>;
  /** Resident memory (kB) of the process and its descendants (cluster workers). */
  memory(): { rssKb: number; hwmKb: number; processes: number };
  /** CPU seconds (user + system) used so far, per pid, by the process and its descendants. */
  cpu(): CpuSnapshot;
}

/** CPU seconds used so far, by pid. */
export type CpuSnapshot = Map<number, number>;

/** CPU seconds used between two snapshots (processes that appeared count whole). */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): number {
  let s = 0;
  for (const [pid, v] of after) s += v - (before.get(pid) ?? 0);
  return s;
}

/**
 * CPU seconds so far of each thread of a process, by thread kind: the main thread (JavaScript,
 * the HTTP stack, better-sqlite3), V8's worker threads (concurrent and parallel GC, compilation),
 * libuv's thread pool (asynchronous file writes: the log destination; crypto, DNS) and the rest.
 * Deltas of two snapshots show where CPU per request goes beyond the main-thread profile.
 */
export type ThreadKind = 'main' | 'v8 workers (GC)' | 'libuv pool' | 'other';
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const kind: ThreadKind = tid === String(pid) ? 'main' : /^V8 /.test(comm) ? 'v8 workers (GC)' : /^libuv/.test(comm) ? 'libuv pool' : 'other';
      out.set(`${kind}|${tid}`, (Number(fields[11]) + Number(fields[12])) / ticksPerSecond());
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** CPU seconds by thread kind between two threadCpu snapshots. */
export function threadDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const by: Record<string, number> = {};
  for (const [key, v] of after) {
    const kind = key.slice(0, key.indexOf('|'));
    by[kind] = (by[kind] ?? 0) + v - (before.get(key) ?? 0);
  }
  return by;
}

/** CPU snapshot of arbitrary pids (e.g. PostgreSQL backends). */
export function cpuOf(pids: number[]): CpuSnapshot {
  return new Map(pids.map((p) => [p, cpuTicks(p) / ticksPerSecond()]));
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of one process, in clock ticks (0 when it is gone). */
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function readStatus(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids: string;
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.split(/\s+/).filter(Boolean).map(Number)) {
        out.push(k);
        walk(k);
      }
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function makeChild(name: string, proc: ChildProcess, url: string, info: Record<string, unknown>, stderr: string[], spawnedAt: number): Child {
  const pid = proc.pid!;
  let exited = false;
  proc.once('exit', () => {
    exited = true;
  });
  return {
    name, pid, url, info, proc, spawnedAt,
    async stop() {
      if (exited) return;
      const kids = descendants(pid);
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      const timeout = sleep(15_000).then(() => 'timeout' as const);
      if ((await Promise.race([done, timeout])) === 'timeout') {
        log(`${name} did not stop within 15 s: killing pid ${pid}`);
        proc.kill('SIGKILL');
        await done;
      }
      // Cluster workers leave with the primary; make sure, by pid.
      for (const k of kids) if (alive(k)) process.kill(k, 'SIGKILL');
      void stderr;
    },
    cpu() {
      return cpuOf([pid, ...descendants(pid)]);
    },
    memory() {
      const pids = [pid, ...descendants(pid)];
      let rssKb = 0;
      let hwmKb = 0;
      for (const p of pids) {
        const s = readStatus(p);
        if (s) {
          rssKb += s.rss;
          hwmKb += s.hwm;
        }
      }
      return { rssKb, hwmKb, processes: pids.length };
    },
  };
}

function collect(proc: ChildProcess, name: string): string[] {
  const tail: string[] = [];
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  });
  proc.once('exit', (code, signal) => {
    if (code !== 0 && code !== null && signal === null) log(`${name} exited with code ${code}:\n  ${tail.slice(-15).join('\n  ')}`);
  });
  return tail;
}

/** A helper child (stock provider, bare server) that prints `BENCH_READY {json}` once listening. */
export async function spawnHelper(name: string, runtime: Runtime, rel: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Child> {
  const spawnedAt = Date.now();
  const proc = spawn(process.execPath, [...nodeArgs, ...runtime.args(rel)], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = collect(proc, name);
  const info = await new Promise<Record<string, unknown>>((resolveInfo, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s:\n${stderr.join('\n')}`)), 60_000);
    rl.on('line', (line) => {
      if (!line.startsWith('BENCH_READY ')) return;
      clearTimeout(timer);
      resolveInfo(JSON.parse(line.slice('BENCH_READY '.length)) as Record<string, unknown>);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${stderr.join('\n')}`));
    });
  });
  return makeChild(name, proc, String(info.url), info, stderr, spawnedAt);
}

export interface OursOptions {
  databaseUrl: string;
  secretKey: string;
  workers?: number;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** The server's stdout (its JSON log lines) goes to this file (default: /dev/null). */
  logFile?: string;
  /** Another build of the server (a baseline for A/B runs): the directory holding its src/main.js. */
  buildDir?: string;
}

/**
 * Our server through its production entry point (src/main.ts), with the default settings of
 * `npm start` — logging included (LOG_LEVEL=info: one access-log line per request) unless
 * `env` says otherwise. Its log lines are written to `logFile`, as a service's stdout would be.
 */
/** The node flags `npm start` uses (package.json scripts.start), so the benchmark runs the server as users do. */
export const START_NODE_FLAGS: string[] = (() => {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  return start.split(/\s+/).filter((word) => word.startsWith('--'));
})();

export async function spawnOurs(name: string, runtime: Runtime, opts: OursOptions): Promise<Child> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const spawnedAt = Date.now();
  const entry = opts.buildDir ? [join(opts.buildDir, 'src', 'main.js')] : runtime.args('src/main.ts');
  const out = openSync(opts.logFile ?? '/dev/null', 'a');
  const proc = spawn(process.execPath, [...START_NODE_FLAGS, ...(opts.nodeArgs ?? []), ...entry], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: url,
      DATABASE_URL: opts.databaseUrl,
      SECRET_KEY: opts.secretKey,
      LOG_LEVEL: 'info',
      BOOTSTRAP: 'false',
      WORKERS: String(opts.workers ?? 1),
      ...opts.env,
    },
    stdio: ['ignore', out, 'pipe'],
  });
  closeSync(out); // the child holds its own copy
  const stderr = collect(proc, name);
  let exitCode: number | null | undefined;
  proc.once('exit', (code) => {
    exitCode = code;
  });
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${name} exited (${exitCode}) during start:\n${stderr.join('\n')}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${name} did not answer /healthz in 90 s:\n${stderr.join('\n')}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) {
        // With several workers every one must be listening: ask until the pids settle.
        if ((opts.workers ?? 1) > 1) await sleep(1500);
        break;
      }
    } catch {
      // not yet listening
    }
    await sleep(200);
  }
  return makeChild(name, proc, url, {}, stderr, spawnedAt);
}

/**
 * Another version of the server for A/B runs (`--baseline <git ref>`): the ref's tree exported
 * with `git archive` (no worktree, nothing in the repository changes) into `dir`, compiled there
 * with tsc against this checkout's node_modules. Returns the build directory (holding src/main.js).
 */
export function prepareBaseline(ref: string, dir: string): string {
  const src = join(dir, 'src-tree');
  execFileSync('mkdir', ['-p', src]);
  execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', ROOT, ref, src], { stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync('ln', ['-s', join(ROOT, 'node_modules'), join(src, 'node_modules')]);
  const out = join(src, 'dist-bench'); // inside the tree: the server finds its package root (views) upward
  log(`compiling baseline ${ref} into ${out} …`);
  try {
    execFileSync(process.execPath, [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(src, 'tsconfig.build.json'),
      '--outDir', out, '--tsBuildInfoFile', join(out, '.tsbuildinfo'), '--sourceMap', 'false', '--declaration', 'false',
    ], { cwd: src, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const text = String((err as { stdout?: Buffer }).stdout ?? '').split('\n').slice(0, 5).join('\n');
    log(`tsc reported errors in the baseline (output still emitted):\n${text}`);
  }
  if (!existsSync(join(out, 'src', 'main.js'))) throw new Error(`baseline ${ref}: no compiled src/main.js`);
  return out;
}
