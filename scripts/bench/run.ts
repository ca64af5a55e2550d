// npm run bench — the grantledger benchmark suite.
//
// In ONE run, each reference measured in interleaved rounds with ours (A B … B A …, medians of
// the rounds, ratios as the median of per-round ratios):
//   1. introspection req/s, p50 and p99 — OAuth access token, access token (PAT, glpat_…) and
//      legacy API key (glak_…) on our server (SQLite, and PostgreSQL), against stock
//      oidc-provider 9 with its in-memory adapter (scripts/bench/stock-provider.ts, the engine's
//      ceiling), the same stock provider on a production-style Redis adapter
//      (scripts/bench/redis-adapter.ts, the persisted peer; skipped with a note when Redis is
//      unreachable) and a bare node:http server answering a fixed JSON (scripts/bench/bare-server.ts);
//      plus ours at LOG_LEVEL=warn (what the access log costs) and, with --baseline, another
//      version of ours (A/B);
//   2. client-credentials token issuance req/s, ours (with the `company` parameter of a
//      connected company) vs stock in memory and on Redis (and the --baseline);
//   3. the authorization-code + PKCE flow (login page, sign-in, remembered consent, token),
//      sequential, median and p99 — and the same with a signed-in browser;
//   4. revoking an app holding 1,000 / 10,000 / 100,000 live tokens (revokeConnection, rows
//      bulk-inserted in the adapter's shape), SQLite and PostgreSQL, with isolation checks;
//   5. resident memory of a server process with 1,000,000 stored tokens, under load;
//   6. database statements per introspection of each kind of token (db.statements, in-process);
//   7. 1 vs 2 workers (WORKERS=2, node:cluster) on SQLite.
// Optionally (--profile) CPU profiles of our server and of stock under load, summarised.
//
// Every server runs in its own process (our server through its production entry point
// src/main.ts with the default settings — access log on, written to a file); the load generator is wrk (one thread) when installed, else
// autocannon in this process — the same generator, connections and duration for every target.
// On a 2-core machine the generator takes CPU from the server: compare ratios from one run,
// not absolute numbers across runs. Each throughput figure also gets the server's CPU time per
// request (utime+stime from /proc, on PostgreSQL plus the backends serving it), a measure that
// other work on the machine disturbs much less than req/s.
//
// Usage: npm run bench -- [options]
//   --quick               smoke run: 1 s per measurement, 2 rounds, no warm-up, 8 tokens per
//                         kind, 3 flows, revoke 1k, memory 10k tokens, tsx runtime (no compile);
//                         ~60 s on the 2-core project machine with PostgreSQL, ~45 s with
//                         --sqlite-only (figures are only a smoke test)
//   --rounds N            interleaved rounds per throughput group (default 3)
//   --duration S          seconds per measurement (default 10)
//   --warmup S            warm-up seconds per target before the rounds (default 3; 0 = none)
//   --connections N       concurrent connections of the load generator (default 32)
//   --loadgen wrk|autocannon   force a load generator (default: wrk if on PATH)
//   --runtime build|tsx   how child servers run: `build` compiles with tsc into
//                         bench-results/.build and runs plain node (default); `tsx` runs sources
//   --pool N              distinct tokens per kind cycled through by the load (default 64)
//   --sqlite-only         skip PostgreSQL (also skipped, with a note, when unreachable)
//   --redis-url URL       Redis for the persisted peer (default redis://127.0.0.1:6379; keys under
//                         gl-bench:<timestamp>:, deleted afterwards); --no-redis skips it
//   --baseline REF[,REF…] A/B: also run ours at each git REF (exported with git archive, compiled
//                         in a temporary directory) on the same SQLite database, in the same rounds
//                         (case ids ours-sqlite-oauth-baseline<i> / ours-sqlite-baseline<i>, i = 1, 2, …)
//   --cases a,b           only these throughput cases, by id (stock, stock-redis, bare,
//                         ours-sqlite-oauth, ours-sqlite-pat, ours-sqlite-apikey, ours-sqlite-oauth-quiet,
//                         ours-sqlite-oauth-baseline1; in cc: stock, stock-redis, ours-sqlite,
//                         ours-sqlite-quiet, ours-sqlite-baseline1) — for A/B runs with many short rounds
//   --pg-url URL          PostgreSQL server for the benchmark databases (default: DATABASE_URL if
//                         postgres://…, else postgres://postgres@127.0.0.1/test); databases named
//                         gl_bench_* are created on it and dropped afterwards
//   --only a,b            run only these sections: introspection, cc, flow, revoke, memory,
//                         statements, workers, profile
//   --skip-<section>      skip a section (e.g. --skip-memory, --skip-revoke, --skip-workers)
//   --profile             add CPU profiles (node --cpu-prof) of our server (OAuth, PAT
//                         introspection, client credentials) and stock (introspection)
//   --profile-duration S  seconds of load per profile (default 10)
//   --flows N             flows per variant in section 3 (default 50)
//   --revoke-sizes a,b,c  token counts for section 4 (default 1000,10000,100000)
//   --revoke-reps N       repetitions per size (default 3)
//   --memory-tokens N     stored tokens for section 5 (default 1000000)
//   --statements-n N      introspections counted per kind in section 6 (default 200)
// Output: a table on stdout (progress on stderr) and bench-results/<timestamp>.json (with every
// round); CPU profiles in bench-results/<timestamp>-profiles/ (summarise one with
// `npx tsx scripts/bench/profile.ts <file> [top] [skip-ms]`). A full run takes ~17 min with
// --profile --rounds 5 (1M-row insert ~50 s), a few minutes more with the Redis peer and the LOG_LEVEL=warn twin.
// Related experiment (not part of `npm run bench`): experiment-memory.ts (peak memory under V8 flags).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomSecret } from '../../src/shared/crypto.js';
import { freePort } from '../../test/helpers/http.js';
import { log, median, round } from './common.js';
import {
  CC_SCOPE, createBenchDatabase, oauthTokenPool, openMigrated, pgBackendPids, pgReachable, seedOurs, type BenchDatabase, type Dialect, type OursFixture,
} from './fixtures.js';
import { flowBench, type FlowStats } from './flow-bench.js';
import { runLoad, wrkVersion, type LoadGenerator, type LoadSettings } from './load.js';
import { memoryBench, type MemoryResult } from './memory-bench.js';
import {
  ROOT, cpuOf, prepareBaseline, prepareRuntime, spawnHelper, spawnOurs, type Child, type CpuSnapshot, type OursOptions, type Runtime, type RuntimeKind,
} from './procs.js';
import { formatSummary, summariseFile, type ProfileSummary } from './profile.js';
import { fmt, table, type Cell } from './report.js';
import { revokeBench, type RevokeCase } from './revoke-bench.js';
import { statementsBench, type StatementCount } from './statements-bench.js';
import {
  clientCredentialsSpec, expectActive, expectToken, interleaved, introspectionSpec, pairedCpuRatio, pairedP99Ratio, pairedRatio, type Case, type CaseResult,
} from './throughput.js';

const SECTIONS = ['introspection', 'cc', 'workers', 'flow', 'statements', 'revoke', 'memory', 'profile'] as const;
type Section = (typeof SECTIONS)[number];

interface Options {
  quick: boolean;
  rounds: number;
  duration: number;
  warmup: number;
  connections: number;
  loadgen: LoadGenerator;
  runtime: RuntimeKind;
  pool: number;
  sqliteOnly: boolean;
  pgUrl: string;
  sections: Set<Section>;
  profileDuration: number;
  flows: number;
  revokeSizes: number[];
  revokeReps: number;
  memoryTokens: number;
  statementsN: number;
  redisUrl: string | undefined;
  baseline: string[];
  /** Only the throughput cases whose id is listed (ids: stock, stock-redis, bare, ours-sqlite-oauth, ours-sqlite-oauth-baseline, …). */
  cases: string[] | undefined;
}

function parseArgs(argv: string[]): Options {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, v] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (v !== undefined) flags.set(k, v);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.set(k, argv[++i]!);
    else flags.set(k, true);
  }
  const quick = flags.has('quick');
  const num = (k: string, full: number, q: number) => {
    const v = flags.get(k);
    if (v === undefined) return quick ? q : full;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} needs a number`);
    return n;
  };
  const list = (k: string, full: number[], q: number[]) => {
    const v = flags.get(k);
    if (v === undefined || v === true) return quick ? q : full;
    return String(v).split(',').map(Number).filter((n) => n > 0);
  };
  let sections = new Set<Section>(SECTIONS.filter((s) => s !== 'profile'));
  const only = flags.get('only');
  if (typeof only === 'string') {
    sections = new Set(only.split(',').map((s) => s.trim()) as Section[]);
    for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s} (${SECTIONS.join(', ')})`);
  }
  for (const s of SECTIONS) if (flags.has(`skip-${s}`)) sections.delete(s);
  if (flags.has('profile')) sections.add('profile');
  const envPg = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '') ? process.env.DATABASE_URL! : undefined;
  const loadgen = flags.get('loadgen');
  if (loadgen !== undefined && loadgen !== 'wrk' && loadgen !== 'autocannon') throw new Error('--loadgen wrk|autocannon');
  const runtime = flags.get('runtime');
  if (runtime !== undefined && runtime !== 'build' && runtime !== 'tsx') throw new Error('--runtime build|tsx');
  const known = new Set(['quick', 'rounds', 'duration', 'warmup', 'connections', 'loadgen', 'runtime', 'pool', 'sqlite-only', 'pg-url', 'only',
    'profile', 'profile-duration', 'flows', 'revoke-sizes', 'revoke-reps', 'memory-tokens', 'statements-n', 'redis-url', 'no-redis', 'baseline', 'cases', ...SECTIONS.map((s) => `skip-${s}`)]);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown option --${k} (see the header of scripts/bench/run.ts)`);
  return {
    quick,
    rounds: Math.max(1, num('rounds', 3, 2)),
    duration: Math.max(1, num('duration', 10, 1)),
    warmup: num('warmup', 3, 0),
    connections: Math.max(1, num('connections', 32, 32)),
    loadgen: (loadgen as LoadGenerator | undefined) ?? (wrkVersion() ? 'wrk' : 'autocannon'),
    runtime: (runtime as RuntimeKind | undefined) ?? (quick ? 'tsx' : 'build'),
    pool: Math.max(1, num('pool', 64, 8)),
    sqliteOnly: flags.has('sqlite-only'),
    pgUrl: typeof flags.get('pg-url') === 'string' ? String(flags.get('pg-url')) : envPg ?? 'postgres://postgres@127.0.0.1/test',
    sections,
    profileDuration: Math.max(1, num('profile-duration', 10, 3)),
    flows: Math.max(1, num('flows', 50, 3)),
    revokeSizes: list('revoke-sizes', [1000, 10_000, 100_000], [1000]),
    revokeReps: Math.max(1, num('revoke-reps', 3, 1)),
    memoryTokens: Math.max(1000, num('memory-tokens', 1_000_000, 10_000)),
    statementsN: Math.max(1, num('statements-n', 200, 10)),
    redisUrl: flags.has('no-redis') ? undefined : typeof flags.get('redis-url') === 'string' ? String(flags.get('redis-url')) : 'redis://127.0.0.1:6379',
    baseline: typeof flags.get('baseline') === 'string' ? String(flags.get('baseline')).split(',').filter(Boolean) : [],
    cases: typeof flags.get('cases') === 'string' ? String(flags.get('cases')).split(',').map((c) => c.trim()).filter(Boolean) : undefined,
  };
}

function machineInfo(opts: Options) {
  let git: string | undefined;
  try {
    git = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (dirty) git += ' (src/ has uncommitted changes)';
  } catch {
    git = undefined;
  }
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGb: Math.round(totalmem() / 1e8) / 10,
    node: process.version,
    kernel: release(),
    loadgen: opts.loadgen === 'wrk' ? `${wrkVersion() ?? 'wrk'} (-t1 -c${opts.connections})` : `autocannon (in the orchestrator process, -c${opts.connections})`,
    loadAverageAtStart: loadavg().map((v) => round(v, 2)),
    git,
  };
}

interface OursTarget {
  dialect: Dialect;
  bench: BenchDatabase;
  secretKey: string;
  fx: OursFixture;
  child: Child;
  oauth: string[];
  /** SQLite only: the same server at LOG_LEVEL=warn (no access log), and the --baseline build. */
  quiet?: Child;
  baselines: Array<{ ref: string; child: Child }>;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const machine = machineInfo(opts);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = join(ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'gl-bench-'));
  const load: LoadSettings = { generator: opts.loadgen, connections: opts.connections, duration: opts.duration };
  const has = (s: Section) => opts.sections.has(s);

  console.log(`grantledger benchmark — ${new Date().toISOString()}${opts.quick ? ' (quick)' : ''}`);
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, node ${machine.node}, Linux ${machine.kernel}`);
  console.log(`load: ${machine.loadgen}, ${opts.duration} s × ${opts.rounds} interleaved rounds, warm-up ${opts.warmup} s, ${opts.pool} distinct tokens per kind`);
  console.log(`load average at start: ${machine.loadAverageAtStart.join(' ')}${machine.git ? ` · commit ${machine.git}` : ''}`);
  if (machine.cores <= 2) console.log('note: on 2 cores the load generator competes with the server for CPU: absolute figures are low; read the ratios.');

  const cleanups: Array<() => Promise<void>> = [];
  let cleaning = false;
  const cleanup = async () => {
    if (cleaning) return;
    cleaning = true;
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
    rmSync(tmp, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping servers and dropping benchmark databases`);
      void cleanup().then(() => process.exit(130));
    });
  }

  let dialects: Dialect[] = ['sqlite'];
  let pgNote: string | undefined;
  let redisNote: string | undefined;
  if (!opts.sqliteOnly) {
    const err = await pgReachable(opts.pgUrl);
    if (err) pgNote = `PostgreSQL skipped: ${opts.pgUrl} unreachable (${err})`;
    else dialects = ['sqlite', 'postgres'];
  } else {
    pgNote = 'PostgreSQL skipped (--sqlite-only)';
  }
  if (pgNote) console.log(`note: ${pgNote}`);
  if (opts.baseline.length) console.log(`A/B: ours at ${opts.baseline.join(', ')} beside this checkout (same database, same rounds)`);

  const results: Record<string, unknown> = {
    startedAt: new Date().toISOString(), machine, pgNote,
    options: { ...opts, sections: [...opts.sections] },
  };
  let intro: CaseResult[] | undefined;
  let cc: CaseResult[] | undefined;
  let workers: CaseResult[] | undefined;
  let workersMemory: Record<string, unknown> | undefined;
  const flows: Array<FlowStats & { dialect: Dialect }> = [];
  const serverMemory: Record<string, { rssMb: number; peakMb: number }> = {};
  let statements: StatementCount[] | undefined;
  let revoke: RevokeCase[] | undefined;
  let memory: MemoryResult | undefined;
  const profiles: Array<{ title: string; file: string; summary: ProfileSummary; requests: number }> = [];

  const needServers = ['introspection', 'cc', 'workers', 'flow', 'profile'].some((s) => has(s as Section));
  const needChildren = needServers || has('memory');
  const runtime: Runtime | undefined = needChildren ? prepareRuntime(opts.runtime) : undefined;
  if (runtime) results.runtime = runtime.kind;
  const baselineBuilds = needServers ? opts.baseline.map((ref, i) => ({ ref, dir: prepareBaseline(ref, join(tmp, `baseline${i + 1}`)) })) : [];
  const variants = (t: OursTarget): Array<[string, Child | undefined, string]> => [
    ['quiet', t.quiet, 'LOG_LEVEL=warn'], ...t.baselines.map((b, i): [string, Child, string] => [`baseline${i + 1}`, b.child, b.ref]),
  ];
  const pickCases = (cases: Case[]) => (opts.cases ? cases.filter((c) => opts.cases!.includes(c.id)) : cases);
  const logFile = (name: string) => join(tmp, `${name.replace(/[^a-z0-9]+/gi, '-')}.log`);

  try {
    const ours = new Map<Dialect, OursTarget>();
    let twoWorkers: Child | undefined;
    let stock: Child | undefined;
    let stockRedis: Child | undefined;
    let bare: Child | undefined;
    if (needServers) {
      log(`starting servers: ours on ${dialects.join(' and ')}, stock oidc-provider, bare node:http`);
      const starting = dialects.map(async (dialect) => {
        const bench = await createBenchDatabase(dialect, 'ours', tmp, opts.pgUrl);
        cleanups.push(() => bench.drop());
        const secretKey = randomSecret(32);
        const db = await openMigrated(bench.url);
        const fx = await seedOurs(db, Buffer.from(secretKey, 'base64url'), opts.pool);
        await db.close();
        const child = await spawnOurs(`ours (${dialect})`, runtime!, { databaseUrl: bench.url, secretKey, logFile: logFile(`ours-${dialect}`) });
        cleanups.push(() => child.stop());
        // Beside it on the same SQLite database: the access log off (what logging costs) and the
        // --baseline build (A/B), each its own process.
        const extra = async (name: string, o: Partial<OursOptions>) => {
          if (dialect !== 'sqlite' || !(has('introspection') || has('cc'))) return undefined;
          const c = await spawnOurs(name, runtime!, { databaseUrl: bench.url, secretKey, logFile: logFile(name), ...o });
          cleanups.push(() => c.stop());
          return c;
        };
        const quiet = await extra('ours (sqlite, LOG_LEVEL=warn)', { env: { LOG_LEVEL: 'warn' } });
        const baselines: OursTarget['baselines'] = [];
        for (const b of baselineBuilds) {
          const c = await extra(`ours (sqlite, ${b.ref})`, { buildDir: b.dir });
          if (c) baselines.push({ ref: b.ref, child: c });
        }
        // The 2-worker server (section 7) shares the SQLite database (and the keys the first server
        // generated); started now, it idles until then.
        const second = dialect === 'sqlite' && has('workers')
          ? spawnOurs('ours (sqlite, 2 workers)', runtime!, { databaseUrl: bench.url, secretKey, workers: 2 })
          : undefined;
        const oauth = await oauthTokenPool(child.url, fx, opts.pool);
        if (second) {
          twoWorkers = await second;
          cleanups.push(() => twoWorkers!.stop());
        }
        ours.set(dialect, { dialect, bench, secretKey, fx, child, oauth, quiet, baselines });
      });
      const helpers = (async () => {
        stock = await spawnHelper('stock oidc-provider', runtime!, 'scripts/bench/stock-provider.ts', { PORT: String(await freePort()), POOL: String(opts.pool) });
        cleanups.push(() => stock!.stop());
        if (opts.redisUrl) {
          try {
            stockRedis = await spawnHelper('stock oidc-provider (redis)', runtime!, 'scripts/bench/stock-provider.ts', {
              PORT: String(await freePort()), POOL: String(opts.pool), STOCK_ADAPTER: 'redis', REDIS_URL: opts.redisUrl, REDIS_PREFIX: `gl-bench:${stamp}:`,
            });
            cleanups.push(() => stockRedis!.stop());
          } catch (err) {
            redisNote = `stock on Redis skipped: ${opts.redisUrl} (${(err as Error).message.split('\n')[0]})`;
            log(redisNote);
          }
        } else {
          redisNote = 'stock on Redis skipped (--no-redis)';
        }
        bare = await spawnHelper('bare node:http', runtime!, 'scripts/bench/bare-server.ts', { PORT: String(await freePort()) });
        cleanups.push(() => bare!.stop());
      })();
      await Promise.all([...starting, helpers]);
      log('servers ready');
      if (redisNote) console.log(`note: ${redisNote}`);
      results.redisNote = redisNote;
    }
    // CPU of a target: its processes, plus — on PostgreSQL — the database backends serving it.
    const cpuOfChild = (child: Child) => async (): Promise<CpuSnapshot> => child.cpu();
    const cpuOfOurs = (t: OursTarget, child: Child = t.child) => async (): Promise<CpuSnapshot> => {
      const own = child.cpu();
      if (t.dialect !== 'postgres' || !t.bench.name) return own;
      return new Map([...own, ...cpuOf(await pgBackendPids(opts.pgUrl, t.bench.name))]);
    };
    const stockInfo = stock?.info as { url: string; app: { clientId: string; clientSecret: string }; gateway: { clientId: string; clientSecret: string }; accessTokens: string[]; ccScope: string } | undefined;

    // 1. Introspection.
    if (has('introspection') && stock && bare && stockInfo) {
      const cases: Case[] = [];
      const stockSpec = introspectionSpec(stock.url, stockInfo.gateway, stockInfo.accessTokens);
      cases.push({ id: 'stock', label: 'stock oidc-provider (memory) · OAuth', spec: stockSpec, verify: expectActive(stockSpec), cpu: cpuOfChild(stock), pid: stock.pid });
      if (stockRedis) {
        const ri = stockRedis.info as NonNullable<typeof stockInfo>;
        const spec = introspectionSpec(stockRedis.url, ri.gateway, ri.accessTokens);
        cases.push({ id: 'stock-redis', label: 'stock oidc-provider (redis) · OAuth', spec, verify: expectActive(spec), cpu: cpuOfChild(stockRedis), pid: stockRedis.pid });
      }
      const bareSpec = introspectionSpec(bare.url, stockInfo.gateway, stockInfo.accessTokens);
      cases.push({ id: 'bare', label: 'bare node:http · fixed JSON', spec: bareSpec, verify: expectActive(bareSpec), cpu: cpuOfChild(bare) });
      for (const t of ours.values()) {
        const kinds = [
          ['oauth', 'OAuth', t.oauth, 'oauth'], ['pat', 'PAT', t.fx.pats, 'access_token'], ['apikey', 'API key', t.fx.apiKeys, 'api_key'],
        ] as const;
        for (const [id, label, tokens, authType] of kinds) {
          const spec = introspectionSpec(t.child.url, t.fx.gateway, [...tokens]);
          cases.push({
            id: `ours-${t.dialect}-${id}`, label: `ours (${t.dialect}) · ${label}`, spec,
            verify: expectActive(spec, { auth_type: authType, company_guid: t.fx.company.guid }), cpu: cpuOfOurs(t), pid: t.child.pid,
          });
        }
        for (const [id, child, label] of variants(t)) {
          if (!child) continue;
          const spec = introspectionSpec(child.url, t.fx.gateway, t.oauth);
          cases.push({
            id: `ours-${t.dialect}-oauth-${id}`, label: `ours (${t.dialect}, ${label}) · OAuth`, spec,
            verify: expectActive(spec, { auth_type: 'oauth', company_guid: t.fx.company.guid }), cpu: cpuOfOurs(t, child), pid: child.pid,
          });
        }
      }
      intro = await interleaved('introspection', pickCases(cases), load, opts.rounds, opts.warmup);
      for (const t of ours.values()) {
        const m = t.child.memory();
        serverMemory[`ours (${t.dialect}), empty database, after introspection load`] = { rssMb: round((m.rssKb * 1024) / 1e6, 1), peakMb: round((m.hwmKb * 1024) / 1e6, 1) };
      }
      const sm = stock.memory();
      serverMemory['stock oidc-provider (memory adapter), after introspection load'] = { rssMb: round((sm.rssKb * 1024) / 1e6, 1), peakMb: round((sm.hwmKb * 1024) / 1e6, 1) };
      results.introspection = intro;
    }

    // 2. Client credentials.
    if (has('cc') && stock && stockInfo) {
      const cases: Case[] = [];
      const stockSpec = clientCredentialsSpec(stock.url, stockInfo.app, { scope: stockInfo.ccScope });
      cases.push({ id: 'stock', label: 'stock oidc-provider (memory)', spec: stockSpec, verify: expectToken(stockSpec), cpu: cpuOfChild(stock), pid: stock.pid });
      if (stockRedis) {
        const ri = stockRedis.info as NonNullable<typeof stockInfo>;
        const spec = clientCredentialsSpec(stockRedis.url, ri.app, { scope: ri.ccScope });
        cases.push({ id: 'stock-redis', label: 'stock oidc-provider (redis)', spec, verify: expectToken(spec), cpu: cpuOfChild(stockRedis), pid: stockRedis.pid });
      }
      for (const t of ours.values()) {
        const spec = clientCredentialsSpec(t.child.url, t.fx.app, { scope: CC_SCOPE, company: t.fx.company.guid });
        cases.push({ id: `ours-${t.dialect}`, label: `ours (${t.dialect})`, spec, verify: expectToken(spec), cpu: cpuOfOurs(t), pid: t.child.pid });
        for (const [id, child, label] of variants(t)) {
          if (!child) continue;
          const cspec = clientCredentialsSpec(child.url, t.fx.app, { scope: CC_SCOPE, company: t.fx.company.guid });
          cases.push({ id: `ours-${t.dialect}-${id}`, label: `ours (${t.dialect}, ${label})`, spec: cspec, verify: expectToken(cspec), cpu: cpuOfOurs(t, child), pid: child.pid });
        }
      }
      cc = await interleaved('client credentials', pickCases(cases), load, opts.rounds, opts.warmup);
      results.clientCredentials = cc;
    }

    // 7. One vs two workers (SQLite).
    const sqlite = ours.get('sqlite');
    if (has('workers') && sqlite && twoWorkers) {
      const w2 = twoWorkers;
      const cases: Case[] = [];
      for (const [n, child] of [[1, sqlite.child], [2, w2]] as const) {
        const ispec = introspectionSpec(child.url, sqlite.fx.gateway, sqlite.oauth);
        cases.push({ id: `w${n}-oauth`, label: `${n} worker${n > 1 ? 's' : ''} · OAuth introspection`, spec: ispec, verify: expectActive(ispec), cpu: cpuOfChild(child) });
        const cspec = clientCredentialsSpec(child.url, sqlite.fx.app, { scope: CC_SCOPE, company: sqlite.fx.company.guid });
        cases.push({ id: `w${n}-cc`, label: `${n} worker${n > 1 ? 's' : ''} · client credentials`, spec: cspec, verify: expectToken(cspec), cpu: cpuOfChild(child) });
      }
      workers = await interleaved('workers', cases, load, opts.rounds, opts.warmup);
      const m = w2.memory();
      workersMemory = { processes: m.processes, rssMb: round((m.rssKb * 1024) / 1e6, 1) };
      await w2.stop();
      results.workers = { cases: workers, memory: workersMemory };
    }

    // 3. Authorization-code flow.
    if (has('flow')) {
      for (const t of ours.values()) {
        for (const s of await flowBench(t.child.url, t.fx, opts.flows, t.dialect)) flows.push({ ...s, dialect: t.dialect });
      }
      results.flow = flows;
    }

    await stock?.stop();
    await stockRedis?.stop();
    await bare?.stop();
    for (const t of ours.values()) {
      await t.quiet?.stop();
      for (const b of t.baselines) await b.child.stop();
    }

    // Profiles (optional).
    if (has('profile') && sqlite && runtime) {
      const dir = join(outDir, `${stamp}-profiles`);
      mkdirSync(dir, { recursive: true });
      const scenarios = [
        { name: 'ours-oauth-introspection', title: 'ours (sqlite) · OAuth introspection', spec: introspectionSpec('URL', sqlite.fx.gateway, sqlite.oauth) },
        { name: 'ours-pat-introspection', title: 'ours (sqlite) · PAT introspection', spec: introspectionSpec('URL', sqlite.fx.gateway, sqlite.fx.pats) },
        { name: 'ours-client-credentials', title: 'ours (sqlite) · client credentials', spec: clientCredentialsSpec('URL', sqlite.fx.app, { scope: CC_SCOPE, company: sqlite.fx.company.guid }) },
      ];
      for (const sc of scenarios) {
        const prof = ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${sc.name}.cpuprofile`];
        const child = await spawnOurs(`ours (profile ${sc.name})`, runtime, { databaseUrl: sqlite.bench.url, secretKey: sqlite.secretKey, nodeArgs: prof, logFile: logFile(sc.name) });
        const spec = { ...sc.spec, url: sc.spec.url.replace('URL', child.url) };
        const skipMs = Date.now() - child.spawnedAt;
        const r = await runLoad(spec, { ...load, duration: opts.profileDuration });
        await child.stop();
        const file = join(dir, `${sc.name}.cpuprofile`);
        profiles.push({ title: sc.title, file, summary: summariseFile(file, 25, skipMs), requests: r.requests });
        log(`profile written: ${file}`);
      }
      const prof = ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-name=stock-introspection.cpuprofile'];
      const st = await spawnHelper('stock (profile)', runtime, 'scripts/bench/stock-provider.ts', { PORT: String(await freePort()), POOL: String(opts.pool) }, prof);
      const si = st.info as NonNullable<typeof stockInfo>;
      const skipMs = Date.now() - st.spawnedAt;
      const r = await runLoad(introspectionSpec(st.url, si.gateway, si.accessTokens), { ...load, duration: opts.profileDuration });
      await st.stop();
      const file = join(dir, 'stock-introspection.cpuprofile');
      profiles.push({ title: 'stock oidc-provider · OAuth introspection', file, summary: summariseFile(file, 25, skipMs), requests: r.requests });
      results.profiles = profiles;
    }

    for (const t of ours.values()) await t.child.stop();

    // 6. Statements per introspection.
    if (has('statements')) {
      statements = await statementsBench({ dialects, n: opts.statementsN, dir: tmp, pgBase: opts.pgUrl });
      results.statements = statements;
    }

    // 4. Revoke.
    if (has('revoke')) {
      revoke = await revokeBench({ dialects, sizes: opts.revokeSizes, reps: opts.revokeReps, dir: tmp, pgBase: opts.pgUrl });
      results.revoke = revoke;
    }

    // 5. Memory.
    if (has('memory') && runtime) {
      memory = await memoryBench({ tokens: opts.memoryTokens, dir: tmp, runtime, load: { ...load, duration: Math.max(1, Math.min(opts.duration, 5)) }, pool: opts.pool });
      results.memory = { ...memory, comparison: serverMemory };
    }
  } finally {
    await cleanup();
  }

  results.loadAverageAtEnd = loadavg().map((v) => round(v, 2));
  results.finishedAt = new Date().toISOString();

  // ---------------------------------------------------------------------------------------------
  // Report.
  const out: string[] = [];
  const find = (list: CaseResult[] | undefined, id: string) => list?.find((c) => c.id === id);
  const goals: Array<{ goal: string; measured: string; met: boolean | undefined }> = [];

  const ratioCell = (c: CaseResult, ref: CaseResult | undefined) => (ref ? `${fmt(pairedRatio(c, ref).ratio, 2)}×` : '–');
  const p99Cell = (c: CaseResult, ref: CaseResult | undefined) => (ref ? `${fmt(pairedP99Ratio(c, ref), 2)}×` : '–');
  // The three goals of a throughput section against the two references (stock in memory, stock on Redis).
  const referenceGoals = (what: string, c: CaseResult, mem: CaseResult, redis: CaseResult | undefined) => {
    const r = pairedRatio(c, mem).ratio;
    goals.push({ goal: `${what} ≥ 0.9× stock in memory`, measured: `${fmt(r, 2)}× (CPU-efficiency ${fmt(pairedCpuRatio(c, mem), 2)}×)`, met: r >= 0.9 });
    const rr = redis ? pairedRatio(c, redis).ratio : NaN;
    goals.push({ goal: `${what} ≥ 1.3× stock on Redis`, measured: redis ? `${fmt(rr, 2)}× (CPU-efficiency ${fmt(pairedCpuRatio(c, redis), 2)}×)` : 'not measured', met: redis ? rr >= 1.3 : undefined });
    const p = pairedP99Ratio(c, mem);
    goals.push({ goal: `${what}: p99 ≤ 1.5× stock in memory's p99`, measured: `${fmt(p, 2)}× (${fmt(c.p99Ms, 1)} vs ${fmt(mem.p99Ms, 1)} ms)`, met: p <= 1.5 });
  };
  // Access log on (the default) against LOG_LEVEL=warn, same database, same rounds.
  const loggingGoal = (what: string, on: CaseResult | undefined, off: CaseResult | undefined) => {
    if (!on || !off) return;
    const cost = 1 - pairedRatio(on, off).ratio;
    goals.push({ goal: `${what}: the default access log costs < 5 % of throughput`, measured: `${fmt(cost * 100, 1)} % (CPU ${fmt(on.cpuUsPerReq, 0)} vs ${fmt(off.cpuUsPerReq, 0)} µs/req)`, met: cost < 0.05 });
  };

  if (intro) {
    const stockCase = find(intro, 'stock');
    const redisCase = find(intro, 'stock-redis');
    const bareCase = find(intro, 'bare');
    const rows: Cell[][] = intro.map((c) => [
      c.label, Math.round(c.rps), fmt(c.p50Ms, 1), fmt(c.p99Ms, 1),
      ratioCell(c, stockCase), ratioCell(c, redisCase), p99Cell(c, stockCase), ratioCell(c, bareCase),
      c.cpuUsPerReq === undefined ? '–' : Math.round(c.cpuUsPerReq), stockCase ? `${fmt(pairedCpuRatio(c, stockCase), 2)}×` : '–', c.errors,
    ]);
    out.push(table('1. Introspection (RFC 7662, gateway with client_secret_basic; median of rounds)',
      ['target · token', 'req/s', 'p50 ms', 'p99 ms', '× stock mem', '× stock redis', 'p99 × mem', '× bare', 'CPU µs/req', 'CPU-efficiency × mem', 'errors'], rows,
      '× = median of per-round ratios (each round measures every target back to back); p99 × mem = median of per-round p99 ratios.\n'
      + 'stock mem = stock oidc-provider, in-memory adapter (the engine\'s ceiling); stock redis = the same on a production-style Redis adapter.\n'
      + 'ours runs with the default settings (access log on, to a file); "LOG_LEVEL=warn" is the same server without the access log.\n'
      + 'CPU µs/req = server CPU (user+system) per request — on PostgreSQL including the database backends serving it, on Redis not the redis-server;\n'
      + 'CPU-efficiency × mem = stock\'s CPU per request / this target\'s (> 1: cheaper than stock). Less sensitive to machine load than req/s.'));
    for (const d of dialects) {
      const oauth = find(intro, `ours-${d}-oauth`);
      if (!oauth || !stockCase) continue;
      if (d === 'sqlite') {
        referenceGoals('OAuth introspection (sqlite)', oauth, stockCase, redisCase);
        loggingGoal('OAuth introspection (sqlite)', oauth, find(intro, 'ours-sqlite-oauth-quiet'));
      } else {
        const rr = redisCase ? pairedRatio(oauth, redisCase).ratio : NaN;
        goals.push({ goal: `OAuth introspection (${d}) ≥ 1.0× stock on Redis`, measured: redisCase ? `${fmt(rr, 2)}× (${fmt(pairedRatio(oauth, stockCase).ratio, 2)}× stock in memory)` : 'not measured', met: redisCase ? rr >= 1.0 : undefined });
      }
      for (const k of ['pat', 'apikey']) {
        const c = find(intro, `ours-${d}-${k}`);
        if (!c) continue;
        const rr = pairedRatio(c, oauth).ratio;
        goals.push({ goal: `${k === 'pat' ? 'PAT' : 'API-key'} introspection ≥ OAuth introspection (${d})`, measured: `${fmt(rr, 2)}×`, met: rr >= 1 });
      }
    }
  }
  if (cc) {
    const stockCase = find(cc, 'stock');
    const redisCase = find(cc, 'stock-redis');
    out.push(table('2. Client-credentials token issuance (median of rounds)',
      ['target', 'req/s', 'p50 ms', 'p99 ms', '× stock mem', '× stock redis', 'p99 × mem', 'CPU µs/req', 'CPU-efficiency × mem', 'errors'],
      cc.map((c) => [c.label, Math.round(c.rps), fmt(c.p50Ms, 1), fmt(c.p99Ms, 1), ratioCell(c, stockCase), ratioCell(c, redisCase), p99Cell(c, stockCase),
        c.cpuUsPerReq === undefined ? '–' : Math.round(c.cpuUsPerReq), stockCase ? `${fmt(pairedCpuRatio(c, stockCase), 2)}×` : '–', c.errors]),
      'ours: the app names a connected company (`company` body parameter), checked on every issuance; every token is written to the database\n'
      + '(stock in memory keeps it in a JS map, stock on Redis writes it with SET … EX).'));
    for (const d of dialects) {
      const c = find(cc, `ours-${d}`);
      if (!c || !stockCase) continue;
      if (d === 'sqlite') {
        referenceGoals('client credentials (sqlite)', c, stockCase, redisCase);
        loggingGoal('client credentials (sqlite)', c, find(cc, 'ours-sqlite-quiet'));
      } else {
        const r = pairedRatio(c, stockCase).ratio;
        goals.push({ goal: `client credentials (${d}) ≥ 0.8× stock in memory`, measured: `${fmt(r, 2)}× (CPU-efficiency ${fmt(pairedCpuRatio(c, stockCase), 2)}×)`, met: r >= 0.8 });
      }
    }
  }
  if (flows.length) {
    out.push(table('3. Authorization code + PKCE, sequential (openid-client + real login and consent pages)',
      ['database', 'variant', 'flows', 'median ms', 'p99 ms', 'sign-in POST median ms'],
      flows.map((f) => [f.dialect, f.variant, f.n, fmt(f.medianMs, 1), fmt(f.p99Ms, 1), f.loginMedianMs === undefined ? '–' : fmt(f.loginMedianMs, 1)]),
      'The sign-in POST includes the scrypt password check (N=2^15, by design ~50+ ms of CPU).'));
  }
  if (revoke) {
    out.push(table('4. Revoke a connected app (revokeConnection: one transaction; then the purge of the revoked grants\' tokens)',
      ['database', 'tokens', 'revoke median ms', 'runs ms', 'purge median ms', 'rows deleted', 'reported', 'checks'],
      revoke.map((r) => [r.dialect, r.tokens, fmt(r.medianMs, 1), r.runs.map((x) => fmt(x.ms, 0)).join(' / '), fmt(median(r.runs.map((x) => x.purgeMs)), 0), r.runs[0]?.rowsDeleted, r.runs[0]?.revokedTotal,
        r.ok ? 'ok' : `FAILED ${JSON.stringify(r.runs.map((x) => ({ usableAfterCommit: x.usableAfterCommit, allGone: x.nothingLeft, otherCompany: x.otherCompanyIntact, otherApp: x.otherAppIntact, second404: x.secondRevoke404 })))}`]),
      'Rows: a grant per user (200 users), access 50% / refresh 45% / redeemed codes 5%, plus 5% client-credentials tokens bound to the company;\n'
      + 'around them, max(1000, N/10) rows of the same app for another company and as many of another app for the same company.\n'
      + 'checks: no token of the company × app usable right after the commit; after the purge every row gone; the other company\'s and the other app\'s rows intact; a second revoke answers 404.\n'
      + '"reported" = the counts revokeConnection returns (live tokens; redeemed codes are not counted).'));
    const big = revoke.find((r) => r.dialect === 'sqlite' && r.tokens === 100_000);
    if (big) goals.push({ goal: 'revoke with 100,000 tokens < 1 s (SQLite)', measured: `${fmt(big.medianMs, 0)} ms`, met: big.medianMs < 1000 && big.ok });
  }
  if (memory) {
    const rows: Cell[][] = [[
      `ours (sqlite), ${memory.storedTokens.toLocaleString('en-US')} stored tokens (db ${fmt(memory.dbFileMb, 0)} MB)`,
      fmt(memory.idleRssMb, 1), fmt(memory.afterLoadRssMb, 1), fmt(memory.peakRssMb, 1), memory.metricsRssMb === undefined ? '–' : fmt(memory.metricsRssMb, 1),
    ]];
    for (const [k, v] of Object.entries(serverMemory)) rows.push([k, '–', fmt(v.rssMb, 1), fmt(v.peakMb, 1), '–']);
    out.push(table(`5. Resident memory (MB = 10^6 bytes; runtime: ${memory.runtime})`,
      ['process', 'idle RSS', 'RSS after load', 'peak RSS (VmHWM)', '/metrics RSS'], rows,
      `load during the measurement: ${Object.entries(memory.rpsDuringLoad).map(([k, v]) => `${k} ${v} req/s`).join(', ')}`));
    if (memory.storedTokens >= 1_000_000) {
      const worst = Math.max(memory.afterLoadRssMb, memory.peakRssMb);
      goals.push({ goal: 'memory with 1,000,000 stored tokens < 200 MB', measured: `${fmt(worst, 1)} MB peak`, met: worst < 200 });
    }
  }
  if (statements) {
    out.push(table('6. Database statements per introspection (db.statements, warm; cold = first call)',
      ['database', 'request', 'per request', 'cold', 'answers as expected'],
      statements.map((s) => [s.dialect, s.kind, fmt(s.perRequest, 2), Number.isFinite(s.cold) ? s.cold : '–', s.answersOk ? 'yes' : 'NO']),
      ['which statements (sqlite, per request):', ...statements.filter((s) => s.dialect === 'sqlite').flatMap((s) => [
        `  ${s.kind}:`, ...Object.entries(s.bySql).map(([q, n]) => `    ${fmt(n, 2)} × ${q}`),
      ])].join('\n')));
    const intros = statements.filter((s) => s.kind.startsWith('introspection'));
    const worst = Math.max(...intros.map((s) => s.perRequest));
    goals.push({ goal: '≤ 3 database statements per introspection', measured: `max ${fmt(worst, 2)}`, met: worst <= 3 && intros.every((s) => s.answersOk) });
  }
  if (workers) {
    const w1o = find(workers, 'w1-oauth')!;
    const w1c = find(workers, 'w1-cc')!;
    out.push(table('7. One vs two worker processes (SQLite, node:cluster)',
      ['case', 'req/s', 'p99 ms', '× 1 worker', 'CPU µs/req', 'errors'],
      workers.map((c) => [c.label, Math.round(c.rps), fmt(c.p99Ms, 1), `${fmt(pairedRatio(c, c.id.endsWith('oauth') ? w1o : w1c).ratio, 2)}×`,
        c.cpuUsPerReq === undefined ? '–' : Math.round(c.cpuUsPerReq), c.errors]),
      `${machine.cores} cores shared by the load generator, the workers and the cluster primary${machine.cores <= 2 ? ': the gain is bounded by the CPU left over by wrk' : ''}.`
      + (workersMemory ? `\n2-worker RSS (primary + workers, ${String(workersMemory.processes)} processes): ${String(workersMemory.rssMb)} MB.` : '')));
  }
  // CPU per request by thread of the server process (the main-thread profile does not show the rest).
  const threadRows: Cell[][] = [];
  for (const [section, list] of [['introspection', intro], ['client credentials', cc]] as const) {
    for (const c of list ?? []) {
      const t = c.threadsUsPerReq;
      if (!t) continue;
      threadRows.push([section, c.label, Math.round(t.main ?? 0), Math.round(t['v8 workers (GC)'] ?? 0), Math.round(t['libuv pool'] ?? 0), Math.round(t.other ?? 0)]);
    }
  }
  if (threadRows.length) {
    out.push(table('CPU µs per request by thread of the server process (median of rounds; PostgreSQL\'s backends not included)',
      ['section', 'target', 'main thread', 'V8 workers (GC)', 'libuv pool (log writes)', 'other'], threadRows,
      'Threads are told apart by name: Node 20 names every helper thread "node", so V8\'s GC helpers and libuv\'s pool show under "other" there.'));
  }

  const ab: Cell[][] = [];
  const pairs: Array<[string, CaseResult[] | undefined, string, string]> = [
    ...opts.baseline.flatMap((_, i): Array<[string, CaseResult[] | undefined, string, string]> => [
      ['introspection', intro, 'ours-sqlite-oauth', `ours-sqlite-oauth-baseline${i + 1}`], ['client credentials', cc, 'ours-sqlite', `ours-sqlite-baseline${i + 1}`]]),
    ['introspection, access log', intro, 'ours-sqlite-oauth', 'ours-sqlite-oauth-quiet'], ['client credentials, access log', cc, 'ours-sqlite', 'ours-sqlite-quiet'],
  ];
  for (const [section, list, a, b] of pairs) {
    const x = find(list, a);
    const y = find(list, b);
    if (!x || !y) continue;
    const pr = pairedRatio(x, y);
    ab.push([section, `${y.label}`, `${fmt(pr.ratio, 3)}×`, pr.perRound.map((v) => fmt(v, 2)).join(' '), `${fmt(x.cpuUsPerReq, 0)} vs ${fmt(y.cpuUsPerReq, 0)}`, `${fmt(pairedCpuRatio(x, y), 3)}×`]);
  }
  if (ab.length) {
    out.push(table('A/B — this checkout ("ours (sqlite)") against each variant, paired by round',
      ['section', 'B', 'A ÷ B req/s', 'per round', 'CPU µs/req A vs B', 'CPU-efficiency A ÷ B'], ab,
      'CPU-efficiency > 1: this checkout spends less CPU per request than B.'));
    results.ab = ab;
  }
  if (goals.length) {
    out.push(table('Goals', ['goal', 'measured', 'met'], goals.map((g) => [g.goal, g.measured, g.met === undefined ? '–' : g.met ? 'yes' : 'NO'])));
    results.goals = goals;
  }
  for (const p of profiles) out.push(`\n${formatSummary(`Profile — ${p.title}`, p.summary, 15, p.requests)}\n  file: ${p.file}`);
  const oursProfile = profiles.find((p) => p.title.includes('OAuth') && p.title.startsWith('ours'));
  const stockProfile = profiles.find((p) => p.title.startsWith('stock'));
  if (oursProfile && stockProfile) {
    const per = (p: typeof oursProfile, cat: string) => ((p.summary.categories.find((c) => c.category === cat)?.selfMs ?? 0) * 1000) / p.requests;
    const cats = [...new Set([...oursProfile.summary.categories, ...stockProfile.summary.categories].map((c) => c.category))];
    const rows: Cell[][] = cats.map((c) => [c, Math.round(per(oursProfile, c)), Math.round(per(stockProfile, c)), Math.round(per(oursProfile, c) - per(stockProfile, c))])
      .sort((a, b) => Number(b[3]) - Number(a[3]));
    const total = (p: typeof oursProfile) => (p.summary.busyMs * 1000) / p.requests;
    rows.push(['total (main thread)', Math.round(total(oursProfile)), Math.round(total(stockProfile)), Math.round(total(oursProfile) - total(stockProfile))]);
    out.push(table('Profile comparison — OAuth introspection, main-thread CPU µs per request by package (self time)',
      ['package', 'ours (sqlite)', 'stock', 'ours − stock'], rows));
  }
  out.push(`\nload average at end: ${(results.loadAverageAtEnd as number[]).join(' ')}`);

  const file = join(outDir, `${stamp}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(out.join('\n'));
  console.log(`\nresults: ${file}`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
