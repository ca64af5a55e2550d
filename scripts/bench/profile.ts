// Summaries of V8 CPU profiles (`node --cpu-prof`): self time by function and by package.
// Also runnable on its own:  npx tsx scripts/bench/profile.ts <file.cpuprofile> [top] [skip-ms]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface FunctionTime {
  name: string;
  where: string;
  category: string;
  selfMs: number;
  /** Share of busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  top: FunctionTime[];
  categories: Array<{ category: string; selfMs: number; share: number }>;
  /** Inclusive time of synchronous hot spots worth naming (a sample counts once per entry). */
  focus: Array<{ label: string; share: number }>;
}

/** Synchronous call trees whose inclusive time is meaningful (no await inside them). */
const FOCUS: Array<{ label: string; fn: RegExp; url: RegExp }> = [
  { label: 'SQLite statements (better-sqlite3, in src/db/database.ts #read/#write)', fn: /^#(read|write)$/, url: /db\/database/ },
  { label: 'PostgreSQL client (pg: protocol parsing, serialisation)', fn: /./, url: /node_modules\/pg(-protocol)?\// },
  { label: 'adapter revive (JSON.parse of stored payloads)', fn: /^revive$/, url: /oidc\/adapter/ },
  { label: 'SHA-256 of token ids (src/shared/crypto sha256)', fn: /^sha256$/, url: /shared\/crypto/ },
  { label: 'Client#metadata() (snake_case of every property)', fn: /^metadata$/, url: /oidc-provider\/lib\/models\/client/ },
  { label: 'Client.find (JSON.stringify + SHA-256 of the client properties)', fn: /^find$/, url: /oidc-provider\/lib\/models\/client/ },
  { label: 'rejectStructuredTokens (jose decodeProtectedHeader throws on opaque tokens)', fn: /^decodeProtectedHeader$/, url: /jose/ },
  { label: 'client secret check (compareClientSecret: SHA-256 of the presented secret)', fn: /^compareClientSecret$/, url: /./ },
  { label: 'opaque token generation (nanoid, getValueAndPayload)', fn: /^(getValueAndPayload|nanoid|default)$/, url: /oidc-provider\/lib\/(models\/formats\/opaque|helpers\/nanoid)/ },
  { label: 'our token format check (parseToken: regex + CRC32 + BigInt base62)', fn: /^parseToken$/, url: /tokens\/format/ },
  { label: 'metrics (prom-client: counters, the request-duration histogram)', fn: /^/, url: /node_modules\/prom-client\// },
  { label: 'logging (pino, sonic-boom: formatting, batched writes)', fn: /^/, url: /node_modules\/(pino|sonic-boom|@pinojs)\// },
  { label: 'socket writes (writev)', fn: /^writev$/, url: /^$/ },
  { label: 'garbage collector', fn: /^\(garbage collector\)$/, url: /^$/ },
];

/** Package (node_modules/<pkg>), our code, node internals, or V8's pseudo-frames. */
export function categoryOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return '(program: native, not JS)';
    if (functionName === '(idle)') return '(idle)';
    return 'native/builtin';
  }
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (/\/(src)\//.test(url)) return 'grantledger src';
  if (/\/scripts\//.test(url)) return 'bench scripts';
  return 'other';
}

function shortWhere(url: string, line: number): string {
  if (!url) return '';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  const s = nm >= 0 ? u.slice(nm + 'node_modules/'.length) : u.replace(/^.*?\/(src|scripts|bench-results\/\.build)\//, '$1/');
  return `${s}:${line + 1}`;
}

/** `skipMs`: leave out the samples of the first milliseconds (start-up, before the load began). */
export function summarise(profile: CpuProfile, top = 20, skipMs = 0): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    // timeDeltas[i] is the gap before sample i: sample i stands for the time until the next one.
    let t = 0;
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i]!;
      if (t < skipMs * 1000) continue;
      const id = profile.samples[i]!;
      self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0));
    }
  } else {
    const total = profile.endTime - profile.startTime;
    const hits = profile.nodes.reduce((n, x) => n + (x.hitCount ?? 0), 0) || 1;
    for (const n of profile.nodes) self.set(n.id, ((n.hitCount ?? 0) / hits) * total);
  }
  // Inclusive time of the FOCUS entries: walk each sample's stack once.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const matchesOf = new Map<number, Set<number>>();
  const matching = (id: number): Set<number> => {
    let m = matchesOf.get(id);
    if (m) return m;
    const n = byId.get(id)!;
    const p = parent.get(id);
    m = new Set(p === undefined ? [] : matching(p));
    FOCUS.forEach((f, i) => {
      if (f.fn.test(n.callFrame.functionName) && f.url.test(n.callFrame.url)) m!.add(i);
    });
    matchesOf.set(id, m);
    return m;
  };
  const focusUs = FOCUS.map(() => 0);
  for (const [id, us] of self) for (const i of matching(id)) focusUs[i]! += us;

  const fns = new Map<string, FunctionTime>();
  const cats = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName || '(anonymous)';
    const category = categoryOf(url, functionName);
    totalUs += us;
    if (category === '(idle)') {
      idleUs += us;
      continue;
    }
    const key = `${name}|${url}|${lineNumber}`;
    const f = fns.get(key) ?? { name, where: shortWhere(url, lineNumber), category, selfMs: 0, share: 0 };
    f.selfMs += us / 1000;
    fns.set(key, f);
    cats.set(category, (cats.get(category) ?? 0) + us / 1000);
  }
  const busyMs = (totalUs - idleUs) / 1000;
  const list = [...fns.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const f of list) f.share = f.selfMs / busyMs;
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs,
    top: list,
    categories: [...cats].map(([category, selfMs]) => ({ category, selfMs, share: selfMs / busyMs })).sort((a, b) => b.selfMs - a.selfMs),
    focus: FOCUS.map((f, i) => ({ label: f.label, share: focusUs[i]! / 1000 / busyMs })).filter((f) => f.share >= 0.001),
  };
}

export function summariseFile(file: string, top = 20, skipMs = 0): ProfileSummary {
  return summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top, skipMs);
}

/** `requests`: requests served while profiled, to show µs of CPU per request. */
export function formatSummary(title: string, s: ProfileSummary, topN = 15, requests?: number): string {
  const pct = (v: number) => `${(v * 100).toFixed(1).padStart(5)}%`;
  const per = (ms: number) => (requests ? `  ${((ms * 1000) / requests).toFixed(0).padStart(5)} µs/req` : '');
  const lines = [
    `${title}: ${(s.busyMs / 1000).toFixed(1)} s busy of ${(s.totalMs / 1000).toFixed(1)} s sampled (${pct(s.idleMs / Math.max(1, s.totalMs)).trim()} idle)`
      + (requests ? `, ${requests} requests, ${((s.busyMs * 1000) / requests).toFixed(0)} µs of main-thread CPU per request` : ''),
    '  self time by package:',
    ...s.categories.slice(0, 12).map((c) => `    ${pct(c.share)}${per(c.selfMs)}  ${c.category}`),
    '  top functions by self time:',
    ...s.top.slice(0, topN).map((f) => `    ${pct(f.share)}  ${f.name}  ${f.where ? `(${f.where})` : `[${f.category}]`}`),
    '  hot spots, inclusive time:',
    ...s.focus.map((f) => `    ${pct(f.share)}${per(f.share * s.busyMs)}  ${f.label}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top, skip] = process.argv.slice(2);
  if (!file) {
    console.error('usage: tsx scripts/bench/profile.ts <file.cpuprofile> [top] [skip-ms]');
    process.exit(2);
  }
  console.log(formatSummary(file, summariseFile(file, Number(top ?? 25), Number(skip ?? 0)), Number(top ?? 25)));
}
