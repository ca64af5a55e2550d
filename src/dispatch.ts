// Which handler answers a request — the one place that decides it. oidc-provider's
// machine-to-machine endpoints (token, introspection, revocation, userinfo; the hot path of
// gateways and apps) go straight from node:http into `provider.callback()`, past the outer Koa
// app: no second Koa context, no middleware that has nothing to do for a JSON endpoint. Everything
// else (our pages, the API, health and metrics, and the provider's page-rendering endpoints
// /auth, /session, discovery, jwks) goes through the Koa app (src/app.ts) as before.
//
// What a direct provider route still gets from us, here rather than from Koa middleware:
// - the security headers every answer carries (x-content-type-options, referrer-policy; these
//   endpoints answer JSON, never a page, so the page-only headers do not apply);
// - metrics: the status-class counter and the request-duration histogram, labelled with the
//   provider's route name, as the Koa app's metrics middleware labels provider routes;
// - the access log line at info/debug level (the same writer as the Koa app's request logger);
// - `beforeProvider` hooks: anything a provider route needs before the engine sees the request
//   (client-authentication throttling, request rewriting) is registered there, and runs for
//   direct routes only — the Koa app keeps its own middleware for the others.
// The provider's own middleware (src/server.ts provider.use: the introspection pipeline, last
// use) runs inside the provider whichever way a request arrives.
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { requestLine, type Logger, type LogLevel } from './shared/logger.js';
import type { Metrics } from './shared/metrics.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Runs before a direct provider route reaches the engine. Return true when the hook answered the
 * request itself (e.g. 429): the provider is then not called. Throwing answers 500 (logged).
 */
export type BeforeProvider = (req: IncomingMessage, res: ServerResponse, route: DirectRoute) => boolean | Promise<boolean>;

/** The provider's route name (ctx.oidc.route) of each path answered directly. */
const DIRECT_ROUTES = {
  '/token': 'token',
  '/token/introspection': 'introspection',
  '/token/revocation': 'revocation',
  '/me': 'userinfo',
} as const;
export type DirectRoute = (typeof DIRECT_ROUTES)[keyof typeof DIRECT_ROUTES];

/** The route answered directly for a request URL (path, optional query), if any. */
export function directRoute(url: string | undefined): DirectRoute | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return Object.hasOwn(DIRECT_ROUTES, path) ? DIRECT_ROUTES[path as keyof typeof DIRECT_ROUTES] : undefined;
}

export interface DispatcherOptions {
  metrics: Metrics;
  logger: Logger;
  logLevel: LogLevel;
  beforeProvider?: BeforeProvider[];
}

export interface Dispatcher {
  /** The node:http request listener. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Installs the handlers the next requests get (at start, and when rotated keys are loaded). */
  use(app: Handler, provider: Provider): void;
}

export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const { metrics, logger } = opts;
  const hooks = opts.beforeProvider ?? [];
  const accessLog = opts.logLevel === 'debug' || opts.logLevel === 'info' ? requestLine(logger) : undefined;
  let app: Handler | undefined;
  let provider: Handler | undefined;

  const finish = (req: IncomingMessage, res: ServerResponse, route: DirectRoute, start: number) => {
    const ms = performance.now() - start;
    metrics.observeRequest(route, res.statusCode, ms / 1000);
    if (accessLog) {
      const url = req.url!;
      const q = url.indexOf('?');
      accessLog({ method: req.method!, path: q === -1 ? url : url.slice(0, q), status: res.statusCode, ms: Math.round(ms * 10) / 10 });
    }
  };

  const failed = (req: IncomingMessage, res: ServerResponse, route: DirectRoute, start: number, err: unknown) => {
    logger.error('unhandled error', { err, method: req.method, route });
    if (!res.headersSent) {
      res.statusCode = 500;
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ error: 'server_error', error_description: 'Something went wrong on our side. Try again later.' }));
    } else {
      res.destroy();
    }
    finish(req, res, route, start);
  };

  const direct = async (req: IncomingMessage, res: ServerResponse, route: DirectRoute, handler: Handler) => {
    for (const hook of hooks) if (await hook(req, res, route)) return;
    await handler(req, res);
  };

  return {
    use(nextApp, nextProvider) {
      // Koa logs an unhandled error to stderr unless the app has an `error` listener.
      const events = nextProvider as unknown as EventEmitter;
      if (events.listenerCount('error') === 0) events.on('error', (err: unknown) => logger.error('unhandled error', { err }));
      provider = nextProvider.callback();
      app = nextApp;
    },
    handle(req, res) {
      const route = directRoute(req.url);
      if (route === undefined || provider === undefined) {
        void app!(req, res);
        return;
      }
      const start = performance.now();
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
      // Koa's handler settles once the answer is written (its own errors included).
      direct(req, res, route, provider).then(
        () => finish(req, res, route, start),
        (err: unknown) => failed(req, res, route, start, err),
      );
    },
  };
}
