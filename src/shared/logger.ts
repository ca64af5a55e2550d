// Structured logging on pino: one JSON object per line on stdout,
// `{"level":"info","time":"<ISO>",…fields,"msg":"…"}`. Output is asynchronous and batched (a
// pino.destination with `sync: false`), flushed on exit; secret-bearing fields are redacted here,
// once, whatever a caller passes in.
import pino from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Where log lines go: anything with `write(line)` (tests pass their own). */
export type LogDestination = pino.DestinationStream;

/** Field names whose values are never written, at the top level and one level down. */
const SECRET_FIELDS = [
  'password', 'client_secret', 'secret', 'key', 'token', 'access_token', 'refresh_token', 'id_token',
  'code', 'code_verifier', 'authorization', 'cookie', 'set-cookie',
];
const REDACT_PATHS = [
  ...SECRET_FIELDS.map((f) => `["${f}"]`),
  ...SECRET_FIELDS.map((f) => `*["${f}"]`),
  '*.headers.authorization', '*.headers.cookie',
  // Listed so that pino gives `err` its own redactor, which names the parent to the censor (the
  // wildcard's redactor does not): an error's `code` is kept, see censor().
  'err.code',
];
export const REDACTED = '[redacted]';

/**
 * `code` also names process exit codes and system error codes (`err.code` = ECONNREFUSED), which
 * operators need; an OAuth authorization code is a string outside a serialised error.
 */
function censor(value: unknown, path: string[]): unknown {
  if (path[path.length - 1] === 'code' && (typeof value !== 'string' || path[0] === 'err')) return value;
  return REDACTED;
}

/**
 * ISO time, formatted once per millisecond: under load many lines share a millisecond, and
 * `toISOString` is a large part of a line's cost.
 */
let lastMs = 0;
let lastTime = '';
function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/**
 * Batches of about 4 KiB of whole lines, written off the main thread. Queuing a write to the
 * thread pool costs the main thread several µs (about 15 µs measured on the loaded 2-core project
 * machine), more than formatting a line, so a write per line would cost more than the lines. No
 * write exceeds 4 KiB (PIPE_BUF: with WORKERS=N every process writes to the same pipe, and such a
 * write is never interleaved with another's). What is buffered is written at least every 100 ms,
 * so a quiet server's lines still show up at once, and synchronously at exit (pino registers it).
 */
type SonicBoom = ReturnType<typeof pino.destination>;
let stdout: SonicBoom | undefined;
export function stdoutDestination(): SonicBoom {
  stdout ??= pino.destination({ dest: 1, sync: false, minLength: 4000, maxWrite: 4096, periodicFlush: 100 });
  return stdout;
}

const SILENT_DESTINATION: LogDestination = { write: () => undefined };

/** The pino logger under each of our loggers (for the request logger's fast path). */
const pinoOf = new WeakMap<Logger, pino.Logger>();

function wrap(p: pino.Logger): Logger {
  const method = (level: Exclude<LogLevel, 'silent'>) => {
    if (!p.isLevelEnabled(level)) return () => undefined;
    return (msg: string, fields?: Record<string, unknown>) => (fields ? p[level](fields, msg) : p[level](msg));
  };
  const logger: Logger = {
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    child: (fields) => wrap(p.child(fields)),
  };
  pinoOf.set(logger, p);
  return logger;
}

export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}, destination?: LogDestination): Logger {
  const p = pino({
    level,
    base, // replaces pino's pid and hostname
    timestamp: isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor },
  }, destination ?? (level === 'silent' ? SILENT_DESTINATION : stdoutDestination()));
  return wrap(p);
}

/** One `request` line per answered request, with the fields the request logger writes. */
export type RequestLine = (fields: { method: string; path: string; status: number; ms: number }) => void;

/**
 * The request logger's writer: its fields are fixed (method, path without the query string,
 * status, milliseconds) and carry no secret, so the line is built here as one string — the same
 * JSON shape pino writes (level label, time, the logger's bindings, fields, msg) — and handed to
 * the logger's destination: no redaction pass (about 15 µs a line with the wildcard paths,
 * measured) and no generic serialisation, once per request.
 */
export function requestLine(logger: Logger): RequestLine {
  const p = pinoOf.get(logger);
  if (!p) return (fields) => logger.info('request', fields);
  if (!p.isLevelEnabled('info')) return () => undefined;
  const internals = p as unknown as Record<symbol, unknown>;
  const stream = internals[pino.symbols.streamSym] as { write(line: string): unknown };
  const bindings = (internals[pino.symbols.chindingsSym] as string | undefined) ?? '';
  return ({ method, path, status, ms }) => {
    stream.write(`{"level":"info"${isoTime()}${bindings},"method":${JSON.stringify(method)},"path":${JSON.stringify(path)},"status":${status},"ms":${ms},"msg":"request"}\n`);
  };
}
