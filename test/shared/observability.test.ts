// Observability of the real server: /metrics (prom-client: the request-duration histogram with
// bounded route labels, default process metrics, our counters, one registry per server) and the
// logs (pino: JSON lines, redaction, levels, the request logger, nothing lost at exit).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createLogger, requestLine, stdoutDestination, type LogDestination, type LogLevel } from '../../src/shared/logger.js';
import { createToken } from '../../src/tokens/tokens.js';
import { introspect } from '../helpers/oauth.js';
import { makeCompany, makeGateway, makeUser, startTestServer, type TestServer } from '../helpers/server.js';
import { bearerApi } from '../helpers/admin.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text exposition format, one sample per line (comments skipped). */
function parseMetrics(text: string): Sample[] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((line) => {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    return { name: m[1]!, labels, value: Number(m[3]) };
  });
}

async function scrape(server: TestServer): Promise<{ type: string; text: string; samples: Sample[] }> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { type: res.headers.get('content-type') ?? '', text, samples: parseMetrics(text) };
}

const pick = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

const HISTOGRAM = 'grantledger_http_request_duration_seconds';

describe('/metrics', () => {
  let server: TestServer;
  let gateway: { clientId: string; clientSecret: string };
  let pat: string;

  beforeAll(async () => {
    server = await startTestServer();
    const company = await makeCompany(server.db);
    const admin = await makeUser(server.db, company.guid, 'admin');
    gateway = await makeGateway(server);
    ({ token: pat } = await createToken(server.db, admin.user, { kind: 'access_token', name: 'metrics', scopes: ['company:read', 'developer_tools:read'], expiresAt: null }));
  });
  afterAll(() => server.close());

  test('the request-duration histogram has buckets per route and status, with bounded route labels', async () => {
    expect((await introspect(server, gateway, pat)).body.active).toBe(true);
    const guid = randomUUID();
    expect((await bearerApi(server, pat, 'GET', `/connected-apps/${guid}`)).status).toBe(404);
    const missing = `/no-such-page-${randomUUID()}`;
    expect((await fetch(`${server.url}${missing}`)).status).toBe(404);
    // The API's catch-all not-found route is `other` too, not its wildcard template.
    const missingApi = `/no-such-resource-${randomUUID()}`;
    expect((await bearerApi(server, pat, 'GET', missingApi)).status).toBe(404);

    const { type, text, samples } = await scrape(server);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain(`# TYPE ${HISTOGRAM} histogram`);

    for (const [route, status] of [['introspection', '200'], ['/api/v1/connected-apps/:id', '404'], ['other', '404']] as const) {
      const count = pick(samples, `${HISTOGRAM}_count`, { route, status });
      expect(count).toHaveLength(1);
      expect(count[0]!.value).toBeGreaterThanOrEqual(1);
      const buckets = pick(samples, `${HISTOGRAM}_bucket`, { route, status });
      expect(buckets.length).toBeGreaterThan(5);
      // Cumulative buckets, ending with +Inf = the count.
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
      expect(buckets.at(-1)!.labels.le).toBe('+Inf');
      expect(buckets.at(-1)!.value).toBe(count[0]!.value);
      expect(pick(samples, `${HISTOGRAM}_sum`, { route, status })[0]!.value).toBeGreaterThan(0);
    }
    // Raw paths never become labels.
    expect(text).not.toContain(guid);
    expect(text).not.toContain(missing);
    expect(text).not.toContain(missingApi);
    expect(pick(samples, `${HISTOGRAM}_count`, { route: 'other', status: '404' })[0]!.value).toBe(2);
    const routes = new Set(pick(samples, `${HISTOGRAM}_count`).map((s) => s.labels.route!));
    for (const route of routes) expect(route).toMatch(/^(?:[a-z_]+|other|(?:\/[\w.-]+|\/:\w+)+\/?)$/);
  });

  test('default process metrics are there, and the counters count', async () => {
    const before = await scrape(server);
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds',
      'grantledger_process_resident_memory_bytes', 'grantledger_process_heap_used_bytes', 'grantledger_process_uptime_seconds']) {
      expect(pick(before.samples, name).length).toBeGreaterThan(0);
    }
    expect(pick(before.samples, 'grantledger_process_resident_memory_bytes')[0]!.value).toBeGreaterThan(1e6);

    const introspections = (s: Sample[]) => pick(s, 'grantledger_introspections_total', { auth_type: 'access_token', active: 'true' })[0]?.value ?? 0;
    const ok = (s: Sample[]) => pick(s, 'grantledger_http_requests_total', { code: '2xx' })[0]?.value ?? 0;
    expect((await introspect(server, gateway, pat)).body.active).toBe(true);
    const after = await scrape(server);
    expect(introspections(after.samples)).toBe(introspections(before.samples) + 1);
    // The introspection and the first scrape, both answered 200.
    expect(ok(after.samples)).toBe(ok(before.samples) + 2);
  });

  test('each server has its own registry: a second server in this process counts only its own requests', async () => {
    const other = await startTestServer();
    try {
      const { samples } = await scrape(other);
      expect(pick(samples, 'grantledger_introspections_total')).toEqual([]);
      expect(pick(samples, `${HISTOGRAM}_count`).map((s) => s.labels.route)).toEqual([]);
      expect(pick(samples, 'grantledger_http_requests_total')).toEqual([]);
      // The process metrics are the same process's.
      expect(pick(samples, 'process_cpu_seconds_total')).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});

/** A destination that keeps the lines, parsed. */
function memoryDestination(): LogDestination & { raw: string[]; lines(): Array<Record<string, unknown>> } {
  const raw: string[] = [];
  return { raw, write: (line: string) => void raw.push(line), lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logs', () => {
  test('one JSON object per line: ISO time, level label, message, fields; no pid or hostname', () => {
    const dest = memoryDestination();
    const logger = createLogger('info', { worker: 2 }, dest);
    logger.info('grantledger listening', { url: 'http://127.0.0.1:1', workers: 1 });
    expect(dest.raw).toHaveLength(1);
    expect(dest.raw[0]).toMatch(/^\{.*\}\n$/);
    const [line] = dest.lines();
    expect(line).toEqual({ level: 'info', time: expect.any(String), msg: 'grantledger listening', worker: 2, url: 'http://127.0.0.1:1', workers: 1 });
    expect(new Date(line!.time as string).toISOString()).toBe(line!.time);
  });

  test('secret-bearing fields are redacted at the top level and one level down', () => {
    const dest = memoryDestination();
    const logger = createLogger('debug', {}, dest);
    const secrets = ['hunter2-pw', 'cs-abcdef', 'Basic Z2F0ZXdheTpzZWNyZXQ=', 'gl.session=abc123', 'oauth-code-xyz', 'rt-123', 'at-456', 'sk-789'];
    logger.warn('sign-in', {
      password: secrets[0], client_secret: secrets[1],
      headers: { authorization: secrets[2], cookie: secrets[3], accept: 'text/html' },
      body: { code: secrets[4], refresh_token: secrets[5], grant_type: 'refresh_token' },
      req: { headers: { authorization: secrets[2] } },
      access_token: secrets[6], secret: secrets[7], email: 'a@example.com',
    });
    const raw = dest.raw.join('');
    for (const s of secrets) expect(raw).not.toContain(s);
    const [line] = dest.lines();
    expect(line).toMatchObject({
      password: '[redacted]', client_secret: '[redacted]', access_token: '[redacted]', secret: '[redacted]', email: 'a@example.com',
      headers: { authorization: '[redacted]', cookie: '[redacted]', accept: 'text/html' },
      body: { code: '[redacted]', refresh_token: '[redacted]', grant_type: 'refresh_token' },
      req: { headers: { authorization: '[redacted]' } },
    });
  });

  test('errors are serialised with their type, message, stack and code; exit codes are kept', () => {
    const dest = memoryDestination();
    const logger = createLogger('info', {}, dest);
    const err = Object.assign(new TypeError('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    logger.error('cleanup failed', { err });
    logger.info('worker stopped', { worker: 3, code: 0, signal: 'SIGTERM' });
    const [failed, stopped] = dest.lines();
    expect(failed).toMatchObject({ level: 'error', msg: 'cleanup failed', err: { type: 'TypeError', message: err.message, code: 'ECONNREFUSED' } });
    expect((failed!.err as { stack: string }).stack).toContain('observability.test.ts');
    expect(stopped).toMatchObject({ worker: 3, code: 0, signal: 'SIGTERM' });
  });

  test('levels: lower ones are dropped, `silent` writes nothing, child() adds its fields', () => {
    const lines = (level: LogLevel) => {
      const dest = memoryDestination();
      const logger = createLogger(level, {}, dest);
      for (const l of [logger, logger.child({ connection: 'c1' })]) {
        l.debug('d');
        l.info('i');
        l.warn('w');
        l.error('e', { n: 1 });
      }
      return dest.lines().map((l) => `${l.level as string}:${l.msg as string}${l.connection ? `:${l.connection as string}` : ''}`);
    };
    expect(lines('debug')).toEqual(['debug:d', 'info:i', 'warn:w', 'error:e', 'debug:d:c1', 'info:i:c1', 'warn:w:c1', 'error:e:c1']);
    expect(lines('warn')).toEqual(['warn:w', 'error:e', 'warn:w:c1', 'error:e:c1']);
    expect(lines('silent')).toEqual([]);
  });

  test('lines buffered at exit are written: process.exit and an uncaught exception', async () => {
    // Fewer bytes than the batch size: nothing reaches stdout before the exit.
    const script = (end: string) => `
      import { createLogger } from './src/shared/logger.ts';
      const logger = createLogger('info');
      for (let i = 1; i <= 3; i++) logger.info('line', { i });
      ${end}`;
    for (const end of ['process.exit(0);', "throw new Error('crash');"]) {
      const out = await new Promise<string>((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(end)], { cwd: process.cwd(), timeout: 60_000 }, (_err, stdout) => resolve(stdout));
      });
      expect(out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([1, 2, 3]);
    }
  });
});

test('a request line is pino\'s JSON shape with the logger\'s bindings, whatever the path holds', () => {
  const dest = memoryDestination();
  const line = requestLine(createLogger('info', { worker: 2 }, dest).child({ role: 'w' }));
  const path = '/x"\\\u2028\n</script>\ud800';
  line({ method: 'POST', path, status: 404, ms: 1.5 });
  expect(dest.raw).toHaveLength(1);
  expect(dest.raw[0]).toMatch(/^\{[^\n]*\}\n$/);
  expect(dest.lines()).toEqual([{ level: 'info', time: expect.any(String), worker: 2, role: 'w', msg: 'request', method: 'POST', path, status: 404, ms: 1.5 }]);
  // Above info level nothing is written.
  const quiet = memoryDestination();
  requestLine(createLogger('warn', {}, quiet))({ method: 'GET', path: '/', status: 200, ms: 0 });
  expect(quiet.raw).toEqual([]);
});

describe('the request logger', () => {
  /** Lines written through the stdout destination (where the test server's logger writes). */
  const captured: string[] = [];
  const stdout = stdoutDestination();
  const realWrite = stdout.write;
  beforeAll(() => {
    stdout.write = ((line: string) => captured.push(line) > 0) as typeof stdout.write;
  });
  afterAll(() => {
    stdout.write = realWrite;
  });

  const requestLines = (from: number) =>
    captured.slice(from).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');

  test('one line per request, {method, path, status, ms}, never the query string', async () => {
    const server = await startTestServer({ logLevel: 'info' });
    try {
      const from = captured.length;
      expect((await fetch(`${server.url}/healthz?code=secret-code-value&state=s`)).status).toBe(200);
      const introspection = await fetch(`${server.url}/token/introspection?token=query-token-value`, { method: 'POST' });
      expect(introspection.status).toBe(400);
      const lines = requestLines(from);
      expect(lines).toEqual([
        { level: 'info', time: expect.any(String), msg: 'request', method: 'GET', path: '/healthz', status: 200, ms: expect.any(Number) },
        { level: 'info', time: expect.any(String), msg: 'request', method: 'POST', path: '/token/introspection', status: 400, ms: expect.any(Number) },
      ]);
      const raw = captured.slice(from).join('');
      expect(raw).not.toContain('secret-code-value');
      expect(raw).not.toContain('query-token-value');
    } finally {
      await server.close();
    }
  });

  test('above info level there is no request line', async () => {
    const server = await startTestServer({ logLevel: 'warn' });
    try {
      const from = captured.length;
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
      expect((await fetch(`${server.url}/token/introspection`, { method: 'POST' })).status).toBe(400);
      expect(requestLines(from)).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
