// The load generator: wrk (when installed; one thread, so the other core stays with the server)
// or autocannon's programmatic API as the fallback. Every target of a run is driven by the same
// generator with the same settings. Both report requests/s and latency percentiles; wrk's run
// in its own process, autocannon's in this one (never in a server's process).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export type LoadGenerator = 'wrk' | 'autocannon';

export interface RequestSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** Request bodies, used in turn (a pool of distinct tokens, like a real gateway's traffic). */
  bodies?: string[];
}

export interface LoadResult {
  rps: number;
  requests: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers plus socket errors and timeouts. */
  errors: number;
  /** Server CPU time (user + system, all its processes) per request, when measured. */
  cpuUsPerReq?: number;
  /** The server process' CPU per request by thread kind, when measured. */
  threadsUsPerReq?: Record<string, number>;
}

export interface LoadSettings {
  generator: LoadGenerator;
  connections: number;
  /** Seconds. */
  duration: number;
}

export function wrkVersion(): string | undefined {
  try {
    execFileSync('which', ['wrk'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  let banner: string;
  try {
    // `wrk --version` prints its banner and exits non-zero.
    banner = execFileSync('wrk', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    banner = String((err as { stdout?: string }).stdout ?? '');
  }
  const v = /wrk\s+(?:debian\/)?([\d.]+)/.exec(banner)?.[1];
  return v ? `wrk ${v}` : 'wrk';
}

const lua = (s: string) => JSON.stringify(s); // ASCII only: JSON string escapes are valid Lua

function wrkScript(spec: RequestSpec): string {
  const lines = [`wrk.method = ${lua(spec.method)}`];
  for (const [k, v] of Object.entries(spec.headers)) lines.push(`wrk.headers[${lua(k)}] = ${lua(v)}`);
  if (spec.bodies?.length) {
    lines.push(
      `local bodies = { ${spec.bodies.map(lua).join(', ')} }`,
      'local n = 0',
      'request = function()',
      '  n = n + 1',
      '  return wrk.format(nil, nil, nil, bodies[(n % #bodies) + 1])',
      'end',
    );
  }
  lines.push(
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format("BENCH_JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"p50\\":%d,\\"p99\\":%d}\\n",',
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))',
    'end',
  );
  return lines.join('\n') + '\n';
}

async function runWrk(spec: RequestSpec, settings: LoadSettings): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gl-bench-wrk-'));
  try {
    const script = join(dir, 'request.lua');
    writeFileSync(script, wrkScript(spec));
    const seconds = Math.max(1, Math.round(settings.duration));
    const { stdout } = await execFileP('wrk', [
      '-t1', `-c${settings.connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, spec.url,
    ], { maxBuffer: 1 << 20 });
    const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
    if (!line) throw new Error(`wrk gave no summary:\n${stdout}`);
    const r = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>;
    const secs = r.duration_us! / 1e6;
    return {
      rps: r.requests! / secs,
      requests: r.requests!,
      seconds: secs,
      p50Ms: r.p50! / 1000,
      p99Ms: r.p99! / 1000,
      errors: r.connect! + r.read! + r.write! + r.status! + r.timeout!,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannon(spec: RequestSpec, settings: LoadSettings): Promise<LoadResult> {
  const { default: autocannon } = await import('autocannon');
  const r = await autocannon({
    url: spec.url, method: spec.method, headers: spec.headers,
    ...(spec.bodies?.length ? { requests: spec.bodies.map((body) => ({ method: spec.method, body })) } : {}),
    connections: settings.connections, duration: settings.duration, timeout: 10,
  });
  return {
    rps: r.requests.total / r.duration,
    requests: r.requests.total,
    seconds: r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.non2xx + r.errors + r.timeouts,
  };
}

export function runLoad(spec: RequestSpec, settings: LoadSettings): Promise<LoadResult> {
  return settings.generator === 'wrk' ? runWrk(spec, settings) : runAutocannon(spec, settings);
}
