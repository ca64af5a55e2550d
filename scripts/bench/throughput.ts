// Throughput cases measured in interleaved rounds: every case runs once per round, the order
// reversed every other round (A B C … C B A …), and medians of the rounds are reported, so
// drift in machine load (other work on the machine) hits every target alike.
import { basicAuth } from '../../test/helpers/http.js';
import { log, median, round } from './common.js';
import { runLoad, type LoadResult, type LoadSettings, type RequestSpec } from './load.js';
import { cpuDelta, threadCpu, threadDelta, type CpuSnapshot, type ThreadKind } from './procs.js';

const THREAD_KINDS: ThreadKind[] = ['main', 'v8 workers (GC)', 'libuv pool', 'other'];

export interface Case {
  id: string;
  label: string;
  spec: RequestSpec;
  /** Throws unless the target answers as expected (checked before and after the rounds). */
  verify(): Promise<void>;
  /** CPU seconds used so far by the server's processes, by pid (for CPU time per request). */
  cpu?: () => Promise<CpuSnapshot>;
  /** The server process' pid (single-process servers), for CPU per request by thread kind. */
  pid?: number;
}

export interface CaseResult {
  id: string;
  label: string;
  rounds: LoadResult[];
  rps: number;
  p99Ms: number;
  p50Ms: number;
  errors: number;
  /** Median over rounds of the server's CPU µs per request (less sensitive to machine load than req/s). */
  cpuUsPerReq?: number;
  /** Median over rounds of the server process' CPU µs per request by thread kind (main, V8 workers, libuv pool, other). */
  threadsUsPerReq?: Record<string, number>;
}

const FORM = 'application/x-www-form-urlencoded';

export function introspectionSpec(baseUrl: string, gateway: { clientId: string; clientSecret: string }, tokens: string[]): RequestSpec {
  return {
    url: `${baseUrl}/token/introspection`, method: 'POST',
    headers: { authorization: basicAuth(gateway), 'content-type': FORM },
    bodies: tokens.map((token) => new URLSearchParams({ token }).toString()),
  };
}

export function clientCredentialsSpec(baseUrl: string, app: { clientId: string; clientSecret: string }, params: Record<string, string>): RequestSpec {
  return {
    url: `${baseUrl}/token`, method: 'POST',
    headers: { authorization: basicAuth(app), 'content-type': FORM },
    bodies: [new URLSearchParams({ grant_type: 'client_credentials', ...params }).toString()],
  };
}

async function send(spec: RequestSpec, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(spec.url, { method: spec.method, headers: spec.headers, body });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text.slice(0, 200) };
  }
  return { status: res.status, json };
}

/** Every body of the pool must introspect as active (with `expect` fields when given). */
export function expectActive(spec: RequestSpec, expect: Record<string, unknown> = {}): () => Promise<void> {
  return async () => {
    for (const body of spec.bodies ?? []) {
      const { status, json } = await send(spec, body);
      if (status !== 200 || json.active !== true) throw new Error(`${spec.url}: expected active, got ${status} ${JSON.stringify(json)}`);
      for (const [k, v] of Object.entries(expect)) {
        if (json[k] !== v) throw new Error(`${spec.url}: expected ${k}=${String(v)}, got ${JSON.stringify(json)}`);
      }
    }
  };
}

export function expectToken(spec: RequestSpec): () => Promise<void> {
  return async () => {
    const { status, json } = await send(spec, spec.bodies![0]!);
    if (status !== 200 || typeof json.access_token !== 'string') throw new Error(`${spec.url}: expected a token, got ${status} ${JSON.stringify(json)}`);
  };
}

export function expectOk(spec: RequestSpec): () => Promise<void> {
  return async () => {
    const { status } = await send(spec, spec.bodies?.[0] ?? '');
    if (status !== 200) throw new Error(`${spec.url}: expected 200, got ${status}`);
  };
}

export async function interleaved(
  group: string, cases: Case[], load: LoadSettings, rounds: number, warmupSeconds: number,
  afterEach?: (c: Case) => void,
): Promise<CaseResult[]> {
  for (const c of cases) await c.verify();
  if (warmupSeconds > 0) {
    log(`${group}: warming up ${cases.length} targets (${warmupSeconds}s each)`);
    for (const c of cases) await runLoad(c.spec, { ...load, duration: warmupSeconds });
  }
  const results = new Map<string, LoadResult[]>(cases.map((c) => [c.id, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      const cpu0 = await c.cpu?.();
      const threads0 = c.pid ? threadCpu(c.pid) : undefined;
      const res = await runLoad(c.spec, load);
      if (cpu0 && res.requests > 0) res.cpuUsPerReq = (cpuDelta(cpu0, await c.cpu!()) * 1e6) / res.requests;
      if (threads0 && res.requests > 0) {
        res.threadsUsPerReq = Object.fromEntries(Object.entries(threadDelta(threads0, threadCpu(c.pid!))).map(([k, v]) => [k, (v * 1e6) / res.requests]));
      }
      results.get(c.id)!.push(res);
      afterEach?.(c);
      log(`${group} round ${r + 1}/${rounds} ${c.label}: ${Math.round(res.rps)} req/s, p99 ${round(res.p99Ms, 1)} ms${res.cpuUsPerReq !== undefined ? `, ${Math.round(res.cpuUsPerReq)} µs CPU/req` : ''}${res.errors ? `, ${res.errors} errors` : ''}`);
    }
  }
  for (const c of cases) await c.verify();
  return cases.map((c) => {
    const rs = results.get(c.id)!;
    return {
      id: c.id, label: c.label, rounds: rs,
      rps: median(rs.map((x) => x.rps)), p99Ms: median(rs.map((x) => x.p99Ms)), p50Ms: median(rs.map((x) => x.p50Ms)),
      errors: rs.reduce((n, x) => n + x.errors, 0),
      cpuUsPerReq: rs.every((x) => x.cpuUsPerReq !== undefined) ? median(rs.map((x) => x.cpuUsPerReq!)) : undefined,
      threadsUsPerReq: rs.every((x) => x.threadsUsPerReq) ? Object.fromEntries(THREAD_KINDS.map((k) => [k, median(rs.map((x) => x.threadsUsPerReq![k] ?? 0))])) : undefined,
    };
  });
}

/** Median over rounds of the per-round CPU-efficiency ratio: b's CPU per request / a's (> 1: a is cheaper). */
export function pairedCpuRatio(a: CaseResult, b: CaseResult): number {
  const perRound = a.rounds.map((x, i) => (b.rounds[i]?.cpuUsPerReq ?? NaN) / (x.cpuUsPerReq ?? NaN));
  return median(perRound.filter((v) => Number.isFinite(v)));
}

/** Median over rounds of the per-round ratio a/b (rounds are paired: same round, adjacent in time). */
export function pairedRatio(a: CaseResult, b: CaseResult): { ratio: number; perRound: number[] } {
  const perRound = a.rounds.map((x, i) => x.rps / (b.rounds[i]?.rps ?? NaN));
  return { ratio: median(perRound), perRound: perRound.map((v) => round(v, 3)) };
}

/** Median over rounds of the per-round p99 ratio a/b (< 1: a's tail is shorter). */
export function pairedP99Ratio(a: CaseResult, b: CaseResult): number {
  const perRound = a.rounds.map((x, i) => x.p99Ms / (b.rounds[i]?.p99Ms ?? NaN));
  return median(perRound.filter((v) => Number.isFinite(v)));
}
