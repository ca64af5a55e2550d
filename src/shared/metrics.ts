// Prometheus metrics on prom-client, rendered at /metrics: the process (prom-client's defaults and
// our three gauges), our counters, and the request-duration histogram by route and status.
// Each Metrics has its own Registry (tests run several servers in one process); the process
// metrics are collected once per process and registered in every instance's registry.
import type { Context, Next } from 'koa';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';

let processMetrics: Registry | undefined;

/**
 * prom-client's default metrics (CPU, memory, event-loop lag, GC, handles) and the gauges /metrics
 * had before them. Once per process: each collection starts an event-loop-delay monitor that
 * ticks every 10 ms for good, so one per server would pile up in a test process.
 */
function processRegistry(): Registry {
  if (processMetrics) return processMetrics;
  const register = new Registry();
  collectDefaultMetrics({ register });
  new Gauge({
    name: 'grantledger_process_resident_memory_bytes', help: 'Resident memory.', registers: [register],
    collect() { this.set(process.memoryUsage.rss()); },
  });
  new Gauge({
    name: 'grantledger_process_heap_used_bytes', help: 'V8 heap in use.', registers: [register],
    collect() { this.set(process.memoryUsage().heapUsed); },
  });
  new Gauge({
    name: 'grantledger_process_uptime_seconds', help: 'Seconds since start.', registers: [register],
    collect() { this.set(Math.round(process.uptime())); },
  });
  return (processMetrics = register);
}

/** Seconds; introspection and token answers take about 1–10 ms, pages and flows up to seconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type Observe = (seconds: number) => void;
type RoutedContext = Context & { _matchedRouteName?: unknown; matched?: Array<{ path: unknown; methods: string[] }> };

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'grantledger_http_requests_total', help: 'HTTP requests by status class.', labelNames: ['code'], registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'grantledger_http_request_duration_seconds',
    help: 'HTTP request duration by route (provider route name or route template, else "other") and status.',
    labelNames: ['route', 'status'], buckets: DURATION_BUCKETS, registers: [this.registry],
  });
  readonly introspections = new Counter({
    name: 'grantledger_introspections_total', help: 'Introspection answers by auth type and activity.', labelNames: ['auth_type', 'active'], registers: [this.registry],
  });
  readonly clientAuthFailures = new Counter({
    name: 'grantledger_client_auth_failures_total',
    help: 'Failed client authentications at the token, introspection and revocation endpoints, by endpoint and whether the answer was 429 (throttled).',
    labelNames: ['endpoint', 'throttled'], registers: [this.registry],
  });
  readonly revocations = new Counter({ name: 'grantledger_connections_revoked_total', help: 'Connected apps revoked.', registers: [this.registry] });
  readonly revokedTokens = new Counter({ name: 'grantledger_revoked_tokens_total', help: 'Tokens, codes and grants deleted by revocations.', registers: [this.registry] });
  readonly webhooks = new Counter({
    name: 'grantledger_webhook_deliveries_total', help: 'Webhook delivery attempts by outcome.', labelNames: ['outcome'], registers: [this.registry],
  });

  /** Bound label sets, so the hot path does not build label objects: status class → inc, route → status → observe. */
  readonly #byClass = new Map<number, () => void>();
  readonly #byAnswer = new Map<string, () => void>();
  readonly #byRoute = new Map<string, Map<number, Observe>>();

  constructor() {
    // getMetricsAsArray returns the metric objects themselves (typed as their plain shape).
    for (const m of processRegistry().getMetricsAsArray()) this.registry.registerMetric(m as unknown as Metric);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Counts and times every request (outermost middleware): one counter increment, one observation. */
  middleware() {
    return async (ctx: Context, next: Next): Promise<void> => {
      const start = performance.now();
      try {
        await next();
      } finally {
        const status = ctx.respond === false ? ctx.res.statusCode : ctx.status;
        this.observeRequest(routeLabel(ctx as RoutedContext), status, (performance.now() - start) / 1000);
      }
    };
  }

  /** One answered request: the status-class counter and the duration histogram (also src/dispatch.ts). */
  observeRequest(route: string, status: number, seconds: number): void {
    this.#countClass(status);
    this.#observer(route, status)(seconds);
  }

  /** One introspection answer (the counter's child for each label pair is bound once). */
  countIntrospection(authType: string, active: boolean): void {
    const key = active ? `${authType} 1` : `${authType} 0`;
    let inc = this.#byAnswer.get(key);
    if (!inc) {
      const child = this.introspections.labels({ auth_type: authType, active: active ? 'true' : 'false' });
      this.#byAnswer.set(key, (inc = () => child.inc()));
    }
    inc();
  }

  #countClass(status: number): void {
    const cls = Math.floor(status / 100);
    let inc = this.#byClass.get(cls);
    if (!inc) {
      const child = this.httpRequests.labels({ code: `${cls}xx` });
      this.#byClass.set(cls, (inc = () => child.inc()));
    }
    inc();
  }

  #observer(route: string, status: number): Observe {
    let byStatus = this.#byRoute.get(route);
    if (!byStatus) this.#byRoute.set(route, (byStatus = new Map()));
    let observe = byStatus.get(status);
    if (!observe) byStatus.set(status, (observe = this.httpDuration.labels({ route, status: String(status) }).observe));
    return observe;
  }
}

/**
 * A bounded label for a request, never its raw path: oidc-provider's route name (the value of
 * `ctx.oidc.route`, read without creating the provider's context), else the template of the
 * route our routers dispatched to (`/api/v1/connected-apps/:id`), else `other` — also for a
 * catch-all route (a template with a `*` wildcard, such as the API's not-found answer).
 */
function routeLabel(ctx: RoutedContext): string {
  const matched = ctx.matched;
  if (matched) {
    // Layers matching the path, in dispatch order; the first route (a layer with methods, not a
    // `router.use` middleware) for this method is the one that answered. Our routes are named
    // too (the API's by operationId): the template says more to an operator.
    for (const layer of matched) {
      if (typeof layer.path === 'string' && layer.methods.includes(ctx.method)) return layer.path.includes('*') ? 'other' : layer.path;
    }
  }
  if (typeof ctx._matchedRouteName === 'string') return ctx._matchedRouteName;
  return 'other';
}
